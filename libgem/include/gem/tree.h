// Copyright the gem authors. Model trees on a resident base: registration and activation.
//
// RegisterTree() reads a manifest (gem/manifest.h, docs/MANIFEST.md), checks every candidate
// against the base and stores what is needed to turn the base into it:
//   * a full fine-tune becomes delta files against the base (gem/delta.h), one per requested
//     form, at <data_dir>/deltas/<model digest>.<form>.gemdelta, where the model digest is the
//     SHA-256 of the fine-tune's weights (WeightsDigest);
//   * a LoRA adapter is copied to <data_dir>/adapters/<adapter digest>/;
// and returns the tree record (RegisteredTree); unless options.record_file is off it also writes
// it to <data_dir>/trees/<tree name>.json (docs/MANIFEST.md). A candidate
// whose architecture, tensor names or shapes do not fit the base, or whose files are missing or
// corrupt, is refused with a message naming it and the mismatch; the rest registers.
//
// WorkingSet turns a loaded base Model into a descendant without touching the base: it
// materialises the touched tensors into buffers it owns and installs them as the model's tensor
// overrides. For unmerged and batched LoRA use LoraSlots (gem/adapter.h) as the model's
// LinearHook instead.
//
// Thread-safety: RegisterTree is reentrant for distinct data dirs. A WorkingSet is used by the
// thread that owns the model.
#ifndef GEM_TREE_H_
#define GEM_TREE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gem/adapter.h"
#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/manifest.h"
#include "gem/model.h"
#include "gem/status.h"

namespace gem {

struct RegisterOptions {
  // Delta forms written for each fine-tune. Default: all three.
  std::vector<DeltaForm> forms = {DeltaForm::kXor, DeltaForm::kInt8, DeltaForm::kSign};
  int zstd_level = 3;
  // After writing a lossless delta, read it back and check base (+) delta == fine-tune bit for
  // bit (costs one more pass over the weights). Default: true.
  bool verify_lossless = true;
  // Optional progress lines ("ft-math: writing xor delta", ...).
  std::function<void(const std::string&)> progress;
  // Write the tree record to <data_dir>/trees/<name>.json (LoadTreeRecord reads it back).
  // Default: true. Off, nothing is written but deltas and adapters, and the caller keeps the
  // returned record where it likes (TreeRecordJson); gem/searchable_tree.h keeps it in its store.
  bool record_file = true;
};

// What registration did with one candidate of the manifest. A value (as is RegisteredTree).
struct CandidateOutcome {
  std::string name;                           // ModelMeta::name
  CandidateKind kind = CandidateKind::kAuto;  // as decided (finetune or adapter)
  std::string path;  // the resolved directory ("" if it could not be resolved)
  ModelMeta meta;
  bool registered = false;
  Status status;                      // why it was refused (OK when registered)
  Digest digest;                      // model digest (fine-tune weights) or adapter digest
  std::vector<DeltaStats> deltas;     // fine-tunes: one per form written
  std::string adapter_dir;            // adapters: the stored copy
  int lora_rank = 0;                  // adapters: max rank
  std::vector<std::string> warnings;  // e.g. "tokenizer.json differs from the base's"
};

// The outcome of registering a tree: the tree record (docs/MANIFEST.md), a value. It names
// the files registration wrote (deltas, adapter copies) by absolute path; the caller owns those
// files through the data dir.
struct RegisteredTree {
  std::string name;
  std::string manifest;  // manifest path
  std::string base_path;
  Digest base_digest;
  ModelMeta base_meta;
  std::string record_path;                   // <data_dir>/trees/<name>.json ("" when none)
  std::vector<CandidateOutcome> candidates;  // manifest order
  size_t num_registered() const;
};

// Registers the tree of `manifest_path` into `data_dir` (created if needed). Returns an error
// only when nothing can be registered: unreadable manifest, a base that cannot be opened, an
// unwritable data dir. Per-candidate refusals are in RegisteredTree::candidates.
Result<RegisteredTree> RegisterTree(const std::string& manifest_path, const std::string& data_dir,
                                    const RegisterOptions& options = {});
// The same for a manifest already read (ReadManifest / ParseManifest); manifest.source is its path.
Result<RegisteredTree> RegisterTree(const TreeManifest& manifest, const std::string& data_dir,
                                    const RegisterOptions& options = {});

// Reads back a tree record written by RegisterTree. NotFound when there is none.
Result<RegisteredTree> LoadTreeRecord(const std::string& data_dir, const std::string& tree_name);

// The tree record as JSON text (docs/MANIFEST.md, "The tree record"), and back. ParseTreeRecord
// fails with Corruption (naming `source` and the problem) for malformed JSON or fields, and
// NotSupported for another record version. record_path is left empty.
std::string TreeRecordJson(const RegisteredTree& tree);
Result<RegisteredTree> ParseTreeRecord(std::string_view json, const std::string& source);

// Why `candidate` (an HF model directory) cannot be a descendant of `base` as a full fine-tune,
// or OK: compares config.json (architecture, model type, sizes, rope, norms), then tensor names
// and shapes. Messages name the mismatch and end with "(maybe the wrong base model?)".
Status CheckFinetuneFitsBase(const std::string& base_dir, const std::string& candidate_dir);

// Base tensor shapes of a checkpoint or of a loaded model.
Result<TensorShapes> ShapesOfCheckpoint(const std::string& model_dir);
TensorShapes ShapesOfModel(const Model& model);

// Working buffers for the tensors a descendant changes, in the type the resident base holds:
//   * base held in f32 (an f32 checkpoint, or LoadOptions::weights "f32"): f32 buffers, as the
//     fine-tune computes in f32;
//   * base held in bf16 or f16: a lossless (xor) delta gives the fine-tune's own stored words
//     (its dtype: bf16, f16 or f32), bit for bit; a lossy delta or a merged LoRA gives f32
//     buffers, exactly what the f32 path computes (so results, and cached answers, do not depend
//     on how the base is held);
//   * base held in a ggml quantisation (a GGUF base, or LoadOptions::weights = a type): the
//     fine-tune's f32 values (exact for xor, approximate for the lossy forms; the base values
//     come from the checkpoint the delta was made against when the model still maps it) are
//     re-quantised to the base's type with QuantizeRow - what quantising the fine-tune itself
//     with the same quantiser gives (docs/ENGINE.md).
// Unmerged LoRA (LoraSlots, a LinearHook) works on every base type: it adds to the f32 outputs.
class WorkingSet {
 public:
  // Makes `model` run the fine-tune of `delta`: for each stored tensor, buffer = base (+) delta,
  // then installs the buffers as overrides (after clearing the model's overrides). The buffers
  // of tensors used before are reused. InvalidArgument when the delta names a tensor the model
  // lacks or with another size; Corruption from the delta file.
  Status ActivateDelta(Model* model, const DeltaFile& delta);
  // Makes `model` run base + adapter merged: buffer = W + scale B A for each adapted weight.
  Status ActivateMergedLora(Model* model, const LoraAdapter& adapter);
  // The model is its base again (overrides cleared); buffers are kept for reuse.
  void Deactivate(Model* model);
  // The materialised tensor `name` when it is held in f32, nullptr otherwise.
  const std::vector<float>* Buffer(std::string_view name) const;
  // The type the tensor `name` was materialised in (false when this set holds none).
  bool BufferType(std::string_view name, WeightType* type) const;
  // Bytes held by buffers.
  size_t bytes() const;

 private:
  std::vector<float>* Take(const std::string& name, size_t n);
  // Installs f32 values of `name` in the model, in the type `held` (f32: kept as they are).
  Status Install(Model* model, const std::string& name, WeightType held, std::vector<float>* f32);
  std::map<std::string, std::vector<float>, std::less<>> buffers_;  // f32 materialisations
  std::map<std::string, std::pair<WeightType, std::vector<uint8_t>>, std::less<>> typed_;
  std::vector<std::string> active_;
};

}  // namespace gem

#endif  // GEM_TREE_H_
