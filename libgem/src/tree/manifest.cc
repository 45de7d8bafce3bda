// Copyright the gem authors. Reading tree manifests (docs/MANIFEST.md).
#include "gem/manifest.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "gem/digest.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string ExpandHome(const std::string& p) {
  if (!p.empty() && p[0] == '~') {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::string(home) + p.substr(1);
  }
  return p;
}

std::string DefaultHfCache() {
  if (const char* v = std::getenv("HF_HUB_CACHE")) return v;
  if (const char* v = std::getenv("HF_HOME")) return std::string(v) + "/hub";
  return ExpandHome("~/.cache/huggingface/hub");
}

Status ParseEntry(const std::string& file, const std::string& where, const json& j,
                  const fs::path& dir, const std::string& hf_cache, ManifestEntry* e) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(file, where + ": " + what);
  };
  if (!j.is_object()) return bad("must be an object");
  for (const char* key :
       {"path", "repo", "revision", "kind", "name", "parent", "relation", "digest"}) {
    if (j.contains(key) && !j[key].is_string())
      return bad(std::string("'") + key + "' must be a string");
  }
  if (j.contains("downloads") && !j["downloads"].is_number_integer()) {
    return bad("'downloads' must be an integer");
  }
  if (j.contains("tags") &&
      !(j["tags"].is_array() && std::all_of(j["tags"].begin(), j["tags"].end(),
                                            [](const json& t) { return t.is_string(); }))) {
    return bad("'tags' must be an array of strings");
  }
  const std::string kind = j.value("kind", "auto");
  if (kind == "auto")
    e->kind = CandidateKind::kAuto;
  else if (kind == "finetune")
    e->kind = CandidateKind::kFinetune;
  else if (kind == "adapter")
    e->kind = CandidateKind::kAdapter;
  else
    return bad("'kind' must be \"finetune\", \"adapter\" or \"auto\", not \"" + kind + "\"");
  e->meta.relation = j.value("relation", "");
  if (!e->meta.relation.empty() && e->meta.relation != "finetune" &&
      e->meta.relation != "adapter" && e->meta.relation != "quantization" &&
      e->meta.relation != "merge") {
    return bad(
        "'relation' must be \"finetune\", \"adapter\", \"quantization\" or \"merge\", not \"" +
        e->meta.relation + "\"");
  }
  e->digest = j.value("digest", "");
  if (!e->digest.empty() && !Digest::FromHex(e->digest).ok()) {
    return bad("'digest' must be 64 hex digits, not \"" + e->digest + "\"");
  }
  e->meta.name = j.value("name", "");
  e->meta.parent = j.value("parent", "");
  e->meta.downloads = j.value("downloads", int64_t{-1});
  if (j.contains("tags")) e->meta.tags = j["tags"].get<std::vector<std::string>>();

  const std::string revision = j.value("revision", "main");
  std::string entry_dir;
  if (j.contains("path")) {
    e->spec = j["path"].get<std::string>();
    fs::path p = ExpandHome(e->spec);
    entry_dir = (p.is_absolute() ? p : dir / p).lexically_normal().string();
    if (e->meta.name.empty()) e->meta.name = fs::path(entry_dir).filename().string();
  } else if (j.contains("repo")) {
    const std::string repo = j["repo"].get<std::string>();
    e->spec = repo + "@" + revision;
    std::string flat = repo;
    const size_t slash = flat.find('/');
    if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos) {
      return bad("'repo' must be ORG/NAME, not \"" + repo + "\"");
    }
    flat.replace(slash, 1, "--");
    entry_dir = hf_cache + "/models--" + flat;
    if (e->meta.name.empty()) e->meta.name = repo;
  } else {
    return bad(
        "needs \"path\" (a model or adapter directory) or \"repo\" (ORG/NAME in the "
        "Hugging Face cache)");
  }
  auto resolved = ResolveHfCacheEntry(entry_dir, revision);
  if (resolved.ok()) {
    e->path = *resolved;
  } else {
    e->resolve_status = resolved.status();
  }
  return Status::OK();
}

}  // namespace

const char* CandidateKindName(CandidateKind kind) {
  switch (kind) {
    case CandidateKind::kAuto:
      return "auto";
    case CandidateKind::kFinetune:
      return "finetune";
    case CandidateKind::kAdapter:
      return "adapter";
  }
  return "?";
}

Result<std::string> ResolveHfCacheEntry(const std::string& entry, const std::string& revision) {
  std::error_code ec;
  if (!fs::is_directory(entry, ec)) return Status::NotFound(entry, "no such directory");
  const fs::path snapshots = fs::path(entry) / "snapshots";
  if (!fs::is_directory(snapshots, ec)) return entry;  // a plain model directory
  std::string commit = revision;
  const fs::path ref = fs::path(entry) / "refs" / revision;
  if (fs::is_regular_file(ref, ec)) {
    std::ifstream in(ref);
    std::getline(in, commit);
  }
  const fs::path snap = snapshots / commit;
  if (!fs::is_directory(snap, ec)) {
    return Status::NotFound(
        entry, "revision '" + revision + "' has no snapshot (looked for " + snap.string() + ")");
  }
  return snap.string();
}

Result<TreeManifest> ReadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path, "cannot open the manifest");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseManifest(text, path);
}

Result<TreeManifest> ParseManifest(std::string_view text, const std::string& path) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(path, "not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(path, "the manifest must be a JSON object");
  if (!j.contains("gem_manifest") || !j["gem_manifest"].is_number_integer()) {
    return Status::InvalidArgument(path, "missing \"gem_manifest\": 1 (the format version)");
  }
  TreeManifest m;
  m.source = path;
  m.version = j["gem_manifest"].get<int>();
  if (m.version != 1) {
    return Status::NotSupported(
        path, "manifest version " + std::to_string(m.version) + " (this build reads version 1)");
  }
  if (j.contains("name") && !j["name"].is_string()) {
    return Status::InvalidArgument(path, "'name' must be a string");
  }
  m.name = j.value("name", fs::path(path).stem().string());
  const fs::path dir = fs::absolute(fs::path(path)).parent_path();
  std::string hf_cache = DefaultHfCache();
  if (j.contains("hf_cache")) {
    if (!j["hf_cache"].is_string())
      return Status::InvalidArgument(path, "'hf_cache' must be a string");
    fs::path p = ExpandHome(j["hf_cache"].get<std::string>());
    hf_cache = (p.is_absolute() ? p : dir / p).lexically_normal().string();
  }
  if (!j.contains("base")) return Status::InvalidArgument(path, "missing \"base\"");
  GEM_RETURN_IF_ERROR(ParseEntry(path, "base", j["base"], dir, hf_cache, &m.base));
  if (!m.base.resolve_status.ok()) return m.base.resolve_status.WithContext(path + ": base");
  if (m.base.kind == CandidateKind::kAdapter) {
    return Status::InvalidArgument(path, "base: the base must be a model, not an adapter");
  }
  if (!j.contains("candidates") || !j["candidates"].is_array()) {
    return Status::InvalidArgument(path, "missing \"candidates\" (an array)");
  }
  std::set<std::string> names = {m.base.meta.name};
  for (size_t i = 0; i < j["candidates"].size(); ++i) {
    ManifestEntry e;
    GEM_RETURN_IF_ERROR(ParseEntry(path, "candidates[" + std::to_string(i) + "]",
                                   j["candidates"][i], dir, hf_cache, &e));
    if (!names.insert(e.meta.name).second) {
      return Status::InvalidArgument(path, "candidates[" + std::to_string(i) + "]: the name '" +
                                               e.meta.name + "' is used twice");
    }
    m.candidates.push_back(std::move(e));
  }
  return m;
}

}  // namespace gem
