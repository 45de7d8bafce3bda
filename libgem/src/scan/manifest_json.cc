// Copyright the gem authors. The manifest a scan writes (docs/MANIFEST.md, version 1).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gem/tree_scan.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

ordered_json Entry(const ScannedModel& m, bool is_base) {
  ordered_json e;
  std::error_code ec;
  e["path"] = fs::absolute(m.entry, ec).lexically_normal().string();
  if (!m.revision.empty()) e["revision"] = m.revision;
  if (!is_base) e["kind"] = CandidateKindName(m.kind);
  e["name"] = m.id;
  if (!is_base) {
    e["relation"] = m.relation;
    e["parent"] = m.parent;
  }
  if (!m.merged_from.empty()) e["merged_from"] = m.merged_from;
  if (m.downloads >= 0) e["downloads"] = m.downloads;
  if (!m.tags.empty()) e["tags"] = m.tags;
  if (m.digest != Digest{}) e["digest"] = m.digest.Hex();
  return e;
}

}  // namespace

std::string ScanManifestJson(const TreeScan& scan) {
  ordered_json j;
  j["gem_manifest"] = 1;
  j["name"] = scan.name;
  j["base"] = Entry(scan.base, true);
  j["candidates"] = ordered_json::array();
  for (const ScannedModel& c : scan.candidates) j["candidates"].push_back(Entry(c, false));
  // Informational (registration ignores it): what the scan found and could not place.
  j["left_out"] = ordered_json::array();
  for (const ScanProblem& p : scan.left_out) {
    j["left_out"].push_back({{"name", p.id}, {"path", p.path}, {"reason", p.reason}});
  }
  return j.dump(1) + "\n";
}

Status WriteScanManifest(const TreeScan& scan, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << ScanManifestJson(scan);
    out.close();
    if (!out) return Status::IOError(tmp, "cannot write the manifest");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError(path, "cannot write the manifest: " + ec.message());
  return Status::OK();
}

}  // namespace gem
