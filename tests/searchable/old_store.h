// Copyright the gem authors. The store written before the searchable part
// (tests/fixtures/old_store, its README says how): copied into a temp dir and made usable here.
// Shared by tests/searchable/old_store_test.cc (libgem) and tests/service/old_store_test.cc (gemd).
#ifndef GEM_TESTS_SEARCHABLE_OLD_STORE_H_
#define GEM_TESTS_SEARCHABLE_OLD_STORE_H_

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "gem/status.h"
#include "gem/tree.h"

namespace gem::testing {

inline std::string OldStoreDir() {
  return std::string(GEM_SOURCE_DIR) + "/tests/fixtures/old_store";
}

// What the old gemctl printed for each search ("tree/task" -> `search start --json --wait`).
inline nlohmann::json OldStoreExpected() {
  std::ifstream in(OldStoreDir() + "/expected.json");
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

inline void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t p = s->find(from); p != std::string::npos; p = s->find(from, p + to.size())) {
    s->replace(p, from.size(), to);
  }
}

// Copies the fixture's data dir to `data_dir` (which must not exist) and makes it whole again:
// the manifest tree's record file gets this checkout's and this data dir's paths in place of the
// ones it was written with (paths.json), and its deltas and adapters, which the fixture leaves out
// since they are content-addressed, are written again from the shipped demo tree at the same
// names. The store itself (db/) is copied byte for byte.
inline Status CopyOldStore(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::copy(OldStoreDir() + "/data", data_dir, fs::copy_options::recursive, ec);
  if (ec) return Status::IOError(data_dir, "cannot copy the fixture: " + ec.message());
  std::ifstream paths_in(OldStoreDir() + "/paths.json");
  const nlohmann::json paths = nlohmann::json::parse(paths_in, nullptr, false);
  if (!paths.is_object()) return Status::Corruption(OldStoreDir() + "/paths.json", "not JSON");
  const std::string record = data_dir + "/trees/demo-tree.json";
  std::string text;
  {
    std::ifstream in(record, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  ReplaceAll(&text, paths.value("data_dir", "?"), data_dir);
  ReplaceAll(&text, paths.value("source_dir", "?"), GEM_SOURCE_DIR);
  std::ofstream(record, std::ios::binary | std::ios::trunc) << text;
  RegisterOptions ro;
  ro.forms = {DeltaForm::kXor};
  ro.record_file = false;  // keep the old record as it was written
  auto tree = RegisterTree(std::string(GEM_SOURCE_DIR) + "/data/demo_tree/tree.json", data_dir, ro);
  if (!tree.ok()) return tree.status();
  return Status::OK();
}

}  // namespace gem::testing

#endif  // GEM_TESTS_SEARCHABLE_OLD_STORE_H_
