// Copyright the gem authors. The walk: which folders are models, and the hub cache layout
// (models--ORG--NAME/refs/<branch> -> snapshots/<commit>/, files linked to blobs/).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "scan/scan_internal.h"

namespace gem::scan_internal {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 8;

bool IsCacheEntryName(const std::string& name) { return name.rfind("models--", 0) == 0; }

// "models--ORG--NAME" -> "ORG/NAME"; "models--gpt2" -> "gpt2".
std::string RepoIdOfEntry(const std::string& name) {
  std::string rest = name.substr(std::string("models--").size());
  const size_t sep = rest.find("--");
  if (sep != std::string::npos) rest.replace(sep, 2, "/");
  return rest;
}

std::string ReadFirstLine(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// A hub cache entry: the snapshot refs/main points at, else the only snapshot.
FoundModel CacheEntry(const fs::path& entry) {
  FoundModel f;
  f.id = RepoIdOfEntry(entry.filename().string());
  f.entry = entry.string();
  std::error_code ec;
  const fs::path snapshots = entry / "snapshots";
  const fs::path main_ref = entry / "refs" / "main";
  if (fs::is_regular_file(main_ref, ec)) {
    f.revision = ReadFirstLine(main_ref);
    if (!fs::is_directory(snapshots / f.revision, ec)) {
      f.dir = entry.string();
      f.problem = "refs/main names commit '" + f.revision + "', which has no snapshot";
      return f;
    }
  } else {
    std::vector<std::string> commits;
    for (const auto& d : fs::directory_iterator(snapshots, ec)) {
      if (d.is_directory()) commits.push_back(d.path().filename().string());
    }
    std::sort(commits.begin(), commits.end());
    if (commits.size() != 1) {
      f.dir = entry.string();
      f.problem = commits.empty() ? "a hub cache entry with no snapshot"
                                  : "no refs/main and " + std::to_string(commits.size()) +
                                        " snapshots: which one is meant is not written anywhere";
      return f;
    }
    f.revision = commits[0];
  }
  f.dir = (snapshots / f.revision).string();
  return f;
}

void Walk(const fs::path& dir, const fs::path& root, int depth, std::set<std::string>* seen,
          std::vector<FoundModel>* out) {
  std::error_code ec;
  const std::string canonical = fs::canonical(dir, ec).string();
  if (ec || !seen->insert(canonical).second) return;  // a link loop, or reached twice
  if (IsCacheEntryName(dir.filename().string()) && fs::is_directory(dir / "snapshots", ec)) {
    out->push_back(CacheEntry(dir));
    return;
  }
  if (LooksLikeModelFolder(dir.string())) {
    FoundModel f;
    const fs::path rel = dir.lexically_relative(root);
    f.id = rel.empty() || rel == "." ? dir.filename().string() : rel.generic_string();
    f.dir = f.entry = dir.string();
    out->push_back(std::move(f));
    return;
  }
  // A card that names a base model in a folder without model files is someone's mistake.
  if (fs::is_regular_file(dir / "README.md", ec)) {
    ModelCard card = ReadModelCard((dir / "README.md").string());
    if (!card.base_models.empty()) {
      FoundModel f;
      const fs::path rel = dir.lexically_relative(root);
      f.id = rel.empty() || rel == "." ? dir.filename().string() : rel.generic_string();
      f.dir = f.entry = dir.string();
      f.problem =
          "README.md names a base model but the folder holds no model files (config.json, "
          "adapter_config.json, weights)";
      out->push_back(std::move(f));
    }
  }
  if (depth >= kMaxDepth) return;
  std::vector<fs::path> children;
  for (const auto& d : fs::directory_iterator(dir, ec)) {
    const std::string name = d.path().filename().string();
    if (name.empty() || name[0] == '.' || !d.is_directory(ec)) continue;
    // Hub caches: datasets and spaces are not models; blobs are reached through snapshots.
    if (name.rfind("datasets--", 0) == 0 || name.rfind("spaces--", 0) == 0 || name == "blobs") {
      continue;
    }
    children.push_back(d.path());
  }
  std::sort(children.begin(), children.end());
  for (const auto& c : children) Walk(c, root, depth + 1, seen, out);
}

}  // namespace

bool LooksLikeModelFolder(const std::string& dir) {
  std::error_code ec;
  for (const char* f : {"config.json", "adapter_config.json", "model.gemdelta"}) {
    if (fs::is_regular_file(fs::path(dir) / f, ec)) return true;
  }
  for (const auto& d : fs::directory_iterator(dir, ec)) {
    if (!d.is_regular_file(ec)) continue;
    const std::string name = d.path().filename().string();
    const std::string ext = d.path().extension().string();
    if (ext == ".safetensors" || ext == ".gguf" ||
        (name.rfind("pytorch_model", 0) == 0 && ext == ".bin")) {
      return true;
    }
  }
  return false;
}

Status WalkRoot(const std::string& root, std::vector<FoundModel>* out) {
  std::error_code ec;
  fs::path p = fs::absolute(root, ec).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();  // "dir/" -> "dir"
  if (!fs::is_directory(p, ec)) return Status::NotFound(root, "no such directory");
  std::set<std::string> seen;
  Walk(p, p, 0, &seen, out);
  return Status::OK();
}

}  // namespace gem::scan_internal
