// Copyright the gem authors. Helpers shared by the engine tests: fixture paths and references.
#ifndef GEM_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
#define GEM_TESTS_ENGINE_ENGINE_TEST_UTIL_H_

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace gem::testing {

inline std::string FixtureDir(const std::string& name) {
  return std::string(GEM_SOURCE_DIR) + "/tests/fixtures/engine/" + name;
}

struct Reference {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> greedy;
  std::vector<std::vector<std::vector<float>>> logits;  // prompt, position, vocab
};

inline Reference LoadReference(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str());
  Reference r;
  r.prompts = j.at("prompts").get<std::vector<std::vector<int32_t>>>();
  r.greedy = j.at("greedy").get<std::vector<std::vector<int32_t>>>();
  if (j.contains("logits")) {
    r.logits = j.at("logits").get<std::vector<std::vector<std::vector<float>>>>();
  }
  return r;
}

// max |a - b| / max |b| over one logits row: the "relative error" the engine's done-when uses.
inline double RelError(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_ENGINE_ENGINE_TEST_UTIL_H_
