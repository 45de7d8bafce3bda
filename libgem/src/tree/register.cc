// Copyright the gem authors. Tree registration: manifest -> checked candidates -> delta files,
// adapter copies and the tree record (docs/MANIFEST.md).
//
// One bad candidate never stops the tree: every per-candidate failure (including an exception
// from a library) becomes that candidate's refusal, and registration goes on.
#include <stdlib.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "gem/delta_checkpoint.h"
#include "gem/tree.h"
#include "tree/tree_internal.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string SafeFileName(const std::string& name) {
  std::string s = name;
  for (char& c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  }
  return s.empty() ? "_" : s;
}

std::string FileDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Sha256(data).Hex();
}

json MetaToJson(const ModelMeta& m) {
  json j = {{"name", m.name}, {"downloads", m.downloads}, {"parent", m.parent}, {"tags", m.tags}};
  if (!m.relation.empty()) j["relation"] = m.relation;
  return j;
}

ModelMeta MetaFromJson(const json& j) {
  ModelMeta m;
  m.name = j.value("name", "");
  m.downloads = j.value("downloads", int64_t{-1});
  m.parent = j.value("parent", "");
  if (j.contains("tags")) m.tags = j["tags"].get<std::vector<std::string>>();
  m.relation = j.value("relation", "");
  return m;
}

// The lossless check: base (+) delta == fine-tune, byte for byte, for every tensor.
Status VerifyLossless(const DeltaFile& delta, const SafetensorsSet& base,
                      const SafetensorsSet& ft) {
  std::vector<uint8_t> rebuilt;
  for (const DeltaTensor& t : delta.tensors()) {
    const auto b = base.Find(t.name);
    const auto f = ft.Find(t.name);
    GEM_RETURN_IF_ERROR(delta.ReconstructRaw(t, b.file->Bytes(*b.info), &rebuilt));
    const auto want = f.file->Bytes(*f.info);
    if (rebuilt.size() != want.size() || std::memcmp(rebuilt.data(), want.data(), want.size())) {
      return Status::Internal(
          delta.path(), "tensor '" + t.name + "' does not reproduce the fine-tune bit for bit");
    }
  }
  for (const std::string& name : ft.Names()) {
    if (delta.Find(name) != nullptr) continue;
    const auto b = base.Find(name);
    const auto f = ft.Find(name);
    bool same;
    if (f.info->dtype == b.info->dtype) {
      same = std::memcmp(f.file->Bytes(*f.info).data(), b.file->Bytes(*b.info).data(),
                         f.info->nbytes) == 0;
    } else {  // another dtype, same values (the writer compares f32 values in that case)
      auto fv = f.file->ReadF32(name);
      auto bv = b.file->ReadF32(name);
      if (!fv.ok()) return fv.status();
      if (!bv.ok()) return bv.status();
      same = std::memcmp(fv->data(), bv->data(), fv->size() * sizeof(float)) == 0;
    }
    if (!same) {
      return Status::Internal(delta.path(), "tensor '" + name + "' changed but is not stored");
    }
  }
  return Status::OK();
}

struct Context {
  const TreeManifest* manifest;
  const SafetensorsSet* base;
  json base_config;
  TensorShapes base_shapes;
  Digest base_digest;
  std::string base_tokenizer_digest;
  std::string data_dir;
  const RegisterOptions* options;
  void Progress(const std::string& line) const {
    if (options->progress) options->progress(line);
  }
};

// A full fine-tune whose weights are in `weights_dir` (its own directory, or the rebuild of a
// delta checkpoint).
Status RegisterFinetuneFrom(const Context& ctx, const std::string& weights_dir,
                            CandidateOutcome* out) {
  std::unique_ptr<SafetensorsSet> ft;
  GEM_RETURN_IF_ERROR(tree_internal::CheckFits(ctx.base_config, *ctx.base, weights_dir, &ft));
  ctx.Progress(out->name + ": hashing weights");
  out->digest = WeightsDigest(*ft);
  for (DeltaForm form : ctx.options->forms) {
    const std::string path =
        ctx.data_dir + "/deltas/" + out->digest.Hex() + "." + DeltaFormName(form) + ".gemdelta";
    std::unique_ptr<DeltaFile> existing;
    if (fs::exists(path)) {  // content-addressed: the same fine-tune was registered before
      auto d = DeltaFile::Open(path);
      if (d.ok() && (*d)->base_digest() == ctx.base_digest) existing = std::move(d).value();
    }
    if (existing == nullptr) {
      ctx.Progress(out->name + ": writing " + DeltaFormName(form) + " delta");
      DeltaWriteOptions wo;
      wo.zstd_level = ctx.options->zstd_level;
      wo.model_digest = out->digest;
      wo.base_digest = ctx.base_digest;
      auto stats = WriteDelta(*ctx.base, *ft, form, path, wo);
      if (!stats.ok()) return stats.status();
      auto d = DeltaFile::Open(path);
      if (!d.ok()) return d.status();
      existing = std::move(d).value();
    }
    if (form == DeltaForm::kXor && ctx.options->verify_lossless) {
      ctx.Progress(out->name + ": verifying the lossless delta");
      GEM_RETURN_IF_ERROR(VerifyLossless(*existing, *ctx.base, *ft));
    }
    out->deltas.push_back(existing->Stats());
  }
  return Status::OK();
}

// A delta checkpoint (gem/delta_checkpoint.h): rebuilt into a scratch directory under the data
// dir, registered from there like any fine-tune (so it gets every requested form and the same
// lossless check), and the scratch removed. Costs one fine-tune's size of disk while it runs.
Status RegisterDeltaCheckpoint(const Context& ctx, CandidateOutcome* out) {
  std::unique_ptr<DeltaFile> delta;
  GEM_RETURN_IF_ERROR(tree_internal::OpenDeltaCheckpoint(ctx.base_config, *ctx.base,
                                                         ctx.base_digest, out->path, &delta));
  std::string tmpl = ctx.data_dir + "/tmp/rebuild-XXXXXX";
  std::error_code ec;
  fs::create_directories(ctx.data_dir + "/tmp", ec);
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Status::IOError(ctx.data_dir + "/tmp", std::string("cannot create a scratch "
                                                              "directory: ") +
                                                      std::strerror(errno));
  }
  struct Scratch {
    std::string dir;
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } scratch{tmpl};
  ctx.Progress(out->name + ": rebuilding the fine-tune from its delta checkpoint");
  GEM_RETURN_IF_ERROR(
      tree_internal::RebuildWeights(*ctx.base, *delta, scratch.dir + "/model.safetensors"));
  fs::copy_file(out->path + "/config.json", scratch.dir + "/config.json", ec);
  if (ec) return Status::IOError(out->path + "/config.json", "cannot copy: " + ec.message());
  GEM_RETURN_IF_ERROR(RegisterFinetuneFrom(ctx, scratch.dir, out));
  if (out->digest != delta->model_digest()) {  // RebuildWeights checked it; a last guard
    return Status::Internal(out->path, "the rebuilt fine-tune's digest differs from its delta's");
  }
  return Status::OK();
}

Status RegisterFinetune(const Context& ctx, CandidateOutcome* out) {
  if (IsDeltaCheckpoint(out->path)) return RegisterDeltaCheckpoint(ctx, out);
  return RegisterFinetuneFrom(ctx, out->path, out);
}

Status RegisterAdapter(const Context& ctx, CandidateOutcome* out) {
  auto ad = LoraAdapter::Load(out->path);
  if (!ad.ok()) return ad.status();
  GEM_RETURN_IF_ERROR((*ad)->CheckAgainstBase(ctx.base_shapes));
  out->digest = (*ad)->digest();
  out->lora_rank = (*ad)->max_rank();
  out->adapter_dir = ctx.data_dir + "/adapters/" + out->digest.Hex();
  std::error_code ec;
  fs::create_directories(out->adapter_dir, ec);
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors"}) {
    fs::copy_file(out->path + "/" + f, out->adapter_dir + "/" + f,
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      return Status::IOError(out->adapter_dir,
                             "cannot copy " + std::string(f) + ": " + ec.message());
  }
  return Status::OK();
}

json OutcomeToJson(const CandidateOutcome& c) {
  json deltas = json::array();
  for (const DeltaStats& d : c.deltas) {
    deltas.push_back({{"form", DeltaFormName(d.form)},
                      {"path", d.path},
                      {"file_bytes", d.file_bytes},
                      {"finetune_bytes", d.finetune_bytes},
                      {"tensors_total", d.tensors_total},
                      {"tensors_stored", d.tensors_stored},
                      {"error",
                       {{"max_abs", d.error.max_abs},
                        {"rel_frobenius", d.error.rel_frobenius},
                        {"rel_frobenius_of_delta", d.error.rel_frobenius_of_delta}}}});
  }
  return {{"name", c.name},
          {"kind", CandidateKindName(c.kind)},
          {"path", c.path},
          {"meta", MetaToJson(c.meta)},
          {"registered", c.registered},
          {"error", c.status.ok() ? "" : c.status.ToString()},
          {"digest", c.registered ? c.digest.Hex() : ""},
          {"deltas", deltas},
          {"adapter_dir", c.adapter_dir},
          {"lora_rank", c.lora_rank},
          {"warnings", c.warnings}};
}

}  // namespace

size_t RegisteredTree::num_registered() const {
  size_t n = 0;
  for (const auto& c : candidates) n += c.registered;
  return n;
}

Result<RegisteredTree> RegisterTree(const std::string& manifest_path, const std::string& data_dir,
                                    const RegisterOptions& options) {
  auto manifest = ReadManifest(manifest_path);
  if (!manifest.ok()) return manifest.status();
  return RegisterTree(*manifest, data_dir, options);
}

Result<RegisteredTree> RegisterTree(const TreeManifest& m, const std::string& data_dir,
                                    const RegisterOptions& options) {
  const std::string& manifest_path = m.source;
  auto base_config = tree_internal::ReadConfig(m.base.path);
  if (!base_config.ok()) return base_config.status().WithContext("base");
  auto base = SafetensorsSet::Open(m.base.path);
  if (!base.ok()) return base.status().WithContext("base");
  std::error_code ec;
  for (const char* sub : {"deltas", "adapters", "trees"}) {
    if (!options.record_file && std::string_view(sub) == "trees") continue;
    fs::create_directories(fs::path(data_dir) / sub, ec);
    if (ec)
      return Status::IOError(data_dir, "cannot create " + std::string(sub) + "/: " + ec.message());
  }

  Context ctx;
  ctx.manifest = &m;
  ctx.base = base->get();
  ctx.base_config = std::move(base_config).value();
  for (const std::string& name : (*base)->Names())
    ctx.base_shapes[name] = (*base)->Find(name).info->shape;
  ctx.data_dir = data_dir;
  ctx.options = &options;
  ctx.Progress("base " + m.base.meta.name + ": hashing weights");
  ctx.base_digest = WeightsDigest(**base);
  if (!m.base.digest.empty() && ctx.base_digest.Hex() != m.base.digest) {
    return Status::FailedPrecondition(
        m.base.path, "the base's digest is " + ctx.base_digest.Hex() + ", not the manifest's " +
                         m.base.digest + " (the files changed since the manifest was written)");
  }
  ctx.base_tokenizer_digest = FileDigest(m.base.path + "/tokenizer.json");

  RegisteredTree tree;
  tree.name = m.name;
  tree.manifest = manifest_path;
  tree.base_path = m.base.path;
  tree.base_digest = ctx.base_digest;
  tree.base_meta = m.base.meta;
  for (const ManifestEntry& e : m.candidates) {
    CandidateOutcome out;
    out.name = e.meta.name;
    out.meta = e.meta;
    out.path = e.path;
    out.kind = e.kind;
    if (!e.resolve_status.ok()) {
      out.status = e.resolve_status;
    } else {
      if (out.kind == CandidateKind::kAuto) {
        out.kind = fs::exists(e.path + "/adapter_config.json") ? CandidateKind::kAdapter
                                                               : CandidateKind::kFinetune;
      }
      try {
        out.status = out.kind == CandidateKind::kAdapter ? RegisterAdapter(ctx, &out)
                                                         : RegisterFinetune(ctx, &out);
      } catch (const std::exception& ex) {
        out.status = Status::Internal(e.path, ex.what());
      }
      if (out.status.ok() && !e.digest.empty() && out.digest.Hex() != e.digest) {
        // A scanned manifest pins what was scanned (gem/tree_scan.h).
        out.status = Status::FailedPrecondition(
            e.path, "its digest is " + out.digest.Hex() + ", not the manifest's " + e.digest +
                        " (the files changed since the manifest was written: scan again)");
      }
      if (out.kind == CandidateKind::kFinetune && out.status.ok()) {
        // A fine-tune without a tokenizer of its own (a delta checkpoint keeps one only when it
        // differs) is tokenised with the base's, as it expects.
        const std::string tok = FileDigest(e.path + "/tokenizer.json");
        if (!tok.empty() && tok != ctx.base_tokenizer_digest) {
          out.warnings.push_back(
              "tokenizer.json differs from the base's: prompts are tokenised "
              "with the base's tokenizer");
        }
      }
    }
    out.registered = out.status.ok();
    if (!out.registered) {
      out.status = out.status.WithContext("candidate '" + out.name + "'");
      ctx.Progress("refused " + out.status.message());
    } else {
      ctx.Progress("registered " + out.name);
    }
    tree.candidates.push_back(std::move(out));
  }

  if (!options.record_file) return tree;
  tree.record_path = data_dir + "/trees/" + SafeFileName(tree.name) + ".json";
  const std::string tmp = tree.record_path + ".tmp";
  {
    std::ofstream out(tmp);
    out << TreeRecordJson(tree) << "\n";
    if (!out) return Status::IOError(tmp, "cannot write the tree record");
  }
  fs::rename(tmp, tree.record_path, ec);
  if (ec) return Status::IOError(tree.record_path, ec.message());
  return tree;
}

std::string TreeRecordJson(const RegisteredTree& tree) {
  json cands = json::array();
  for (const CandidateOutcome& c : tree.candidates) cands.push_back(OutcomeToJson(c));
  json record = {{"gem_tree", 1},
                 {"name", tree.name},
                 {"manifest", tree.manifest},
                 {"base",
                  {{"path", tree.base_path},
                   {"digest", tree.base_digest.Hex()},
                   {"meta", MetaToJson(tree.base_meta)}}},
                 {"candidates", cands}};
  return record.dump(2);
}

Result<RegisteredTree> LoadTreeRecord(const std::string& data_dir, const std::string& tree_name) {
  const std::string path = data_dir + "/trees/" + SafeFileName(tree_name) + ".json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path, "no tree record (was the tree registered?)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto tree = ParseTreeRecord(text, path);
  if (tree.ok()) tree->record_path = path;
  return tree;
}

Result<RegisteredTree> ParseTreeRecord(std::string_view text, const std::string& source) {
  const std::string& path = source;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(path, "not a JSON object");
  try {
    if (j.at("gem_tree").get<int>() != 1) return Status::NotSupported(path, "tree record version");
    RegisteredTree t;
    t.name = j.at("name").get<std::string>();
    t.manifest = j.value("manifest", "");
    t.base_path = j.at("base").at("path").get<std::string>();
    auto bd = Digest::FromHex(j.at("base").at("digest").get<std::string>());
    if (!bd.ok()) return bd.status().WithContext(path);
    t.base_digest = *bd;
    t.base_meta = MetaFromJson(j.at("base").value("meta", json::object()));
    for (const json& c : j.at("candidates")) {
      CandidateOutcome o;
      o.name = c.at("name").get<std::string>();
      const std::string kind = c.value("kind", "auto");
      o.kind = kind == "adapter"    ? CandidateKind::kAdapter
               : kind == "finetune" ? CandidateKind::kFinetune
                                    : CandidateKind::kAuto;
      o.path = c.value("path", "");
      o.meta = MetaFromJson(c.value("meta", json::object()));
      o.registered = c.value("registered", false);
      if (!o.registered)
        o.status = Status::FromCode(Status::Code::kInvalidArgument, c.value("error", ""));
      if (o.registered) {
        auto d = Digest::FromHex(c.at("digest").get<std::string>());
        if (!d.ok()) return d.status().WithContext(path);
        o.digest = *d;
      }
      for (const json& d : c.value("deltas", json::array())) {
        DeltaStats s;
        auto form = ParseDeltaForm(d.at("form").get<std::string>());
        if (!form.ok()) return form.status().WithContext(path);
        s.form = *form;
        s.path = d.at("path").get<std::string>();
        s.file_bytes = d.value("file_bytes", uint64_t{0});
        s.finetune_bytes = d.value("finetune_bytes", uint64_t{0});
        s.tensors_total = d.value("tensors_total", size_t{0});
        s.tensors_stored = d.value("tensors_stored", size_t{0});
        const json& e = d.value("error", json::object());
        s.error.max_abs = e.value("max_abs", 0.0);
        s.error.rel_frobenius = e.value("rel_frobenius", 0.0);
        s.error.rel_frobenius_of_delta = e.value("rel_frobenius_of_delta", 0.0);
        o.deltas.push_back(s);
      }
      o.adapter_dir = c.value("adapter_dir", "");
      o.lora_rank = c.value("lora_rank", 0);
      o.warnings = c.value("warnings", std::vector<std::string>{});
      t.candidates.push_back(std::move(o));
    }
    return t;
  } catch (const json::exception& e) {
    return Status::Corruption(path, std::string("malformed tree record: ") + e.what());
  }
}

}  // namespace gem
