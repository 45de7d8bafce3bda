// Copyright the gem authors. Helpers for the tree tests: fixture paths and temp dirs.
#ifndef GEM_TESTS_TREE_TREE_TEST_UTIL_H_
#define GEM_TESTS_TREE_TREE_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gem/digest.h"

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

// A delta file's bytes opened up for damage tests (docs/DELTA_FORMAT.md, "Layout"): its header
// and where its data section starts. After the data is changed, Reseal() rewrites the header's
// data_sha256 so that only the checks behind the digest can catch the damage.
struct DeltaBytes {
  explicit DeltaBytes(std::string file_bytes) : bytes(std::move(file_bytes)) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = hlen << 8 | static_cast<uint8_t>(bytes[16 + i]);
    header = nlohmann::json::parse(bytes.substr(24, hlen));
    data = (24 + hlen + 63) / 64 * 64;
  }
  // Offset of stored tensor i's blob (in header order) in `bytes`.
  size_t Blob(size_t i) const { return data + header["tensors"][i]["offset"].get<size_t>(); }
  void Reseal() {
    Hasher hasher;
    hasher.Update(std::string_view(bytes).substr(data));
    const std::string old_hex = header["data_sha256"].get<std::string>();
    bytes.replace(bytes.find(old_hex), old_hex.size(), hasher.Finish().Hex());
  }
  std::string bytes;
  nlohmann::json header;
  size_t data = 0;
};

}  // namespace gem::testing

#endif  // GEM_TESTS_TREE_TREE_TEST_UTIL_H_
