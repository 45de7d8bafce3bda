// Copyright the gem authors. The engine candidates of a registered tree.
#include "gem/engine_evaluator.h"

#include <unistd.h>

namespace gem {

Result<std::vector<EngineCandidate>> CandidatesFromTree(const RegisteredTree& tree,
                                                        const std::string& data_dir,
                                                        DeltaForm form, bool include_base) {
  std::vector<EngineCandidate> out;
  if (include_base) {
    out.push_back({tree.base_meta.name.empty() ? "base" : tree.base_meta.name,
                   EngineCandidate::Kind::kBase, tree.base_path, tree.base_digest});
  }
  for (const auto& c : tree.candidates) {
    if (!c.registered) continue;
    EngineCandidate e;
    e.name = c.name;
    if (c.kind == CandidateKind::kAdapter) {
      e.kind = EngineCandidate::Kind::kMergedLora;
      e.path = c.adapter_dir;
      e.digest = Hasher().Field("gem.lora.v1").Field(tree.base_digest.Bytes())
                     .Field(c.digest.Bytes()).Finish();
    } else {
      e.kind = EngineCandidate::Kind::kDelta;
      e.path = data_dir + "/deltas/" + c.digest.Hex() + "." + DeltaFormName(form) + ".gemdelta";
      if (access(e.path.c_str(), R_OK) != 0) {
        return Status::NotFound(e.path, "no " + std::string(DeltaFormName(form)) +
                                            " delta for candidate '" + c.name +
                                            "' (register the tree with that form)");
      }
      e.digest = form == DeltaForm::kXor
                     ? c.digest
                     : Hasher().Field("gem.lossy.v1").Field(c.digest.Bytes())
                           .Field(DeltaFormName(form)).Finish();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace gem
