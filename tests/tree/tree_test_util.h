// Copyright the gem authors. Helpers for the tree tests: fixture paths and temp dirs.
#ifndef GEM_TESTS_TREE_TREE_TEST_UTIL_H_
#define GEM_TESTS_TREE_TREE_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace gem::testing {

inline std::string TreeFixture(const std::string& rel = "") {
  return std::string(GEM_SOURCE_DIR) + "/tests/fixtures/tree" + (rel.empty() ? "" : "/" + rel);
}

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gem-tree-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_TREE_TREE_TEST_UTIL_H_
