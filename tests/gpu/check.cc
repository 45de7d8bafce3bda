// Copyright the gem authors. Helpers of the GPU check's harness.
#include "gpu/check.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace gem::gpucheck {

void CudaOk(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw CheckError(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                     ")");
  }
}

int64_t UlpDiff(float a, float b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  if (std::isnan(a) || std::isnan(b)) return INT64_MAX;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

void Diff::Add(const float* got, const float* want, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const int64_t u = UlpDiff(got[i], want[i]);
    if (u != 0) {
      if (first == SIZE_MAX) first = n + i;
      ++differing;
      max_ulp = std::max(max_ulp, u);
      const double rel =
          std::fabs(static_cast<double>(got[i]) - want[i]) / (1 + std::fabs(want[i]));
      max_rel = std::isnan(rel) ? INFINITY : std::max(max_rel, rel);
    }
  }
  n += count;
}

std::string Diff::Summary() const {
  char buf[160];
  if (differing == 0) {
    std::snprintf(buf, sizeof(buf), "all %zu identical", n);
  } else {
    std::snprintf(buf, sizeof(buf), "%zu of %zu differ (max %lld ulp, max rel %.2e, first at %zu)",
                  differing, n, static_cast<long long>(max_ulp), max_rel, first);
  }
  return buf;
}

std::vector<float> RandomFloats(size_t n, std::mt19937& rng, float sd) {
  std::normal_distribution<float> g(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

}  // namespace gem::gpucheck
