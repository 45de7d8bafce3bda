// Copyright the gem authors. The GPU check's small harness: named checks, one verdict line
// each, and the helpers they share (device buffers, comparisons).
//
// The program runs where GoogleTest and our Debian packages may be missing (scripts/gpu-check.sh
// --bundle), hence no test framework: a check is a function that returns an Outcome or throws
// CheckError (any CUDA error becomes one, with the call that failed).
#ifndef GEM_TESTS_GPU_CHECK_H_
#define GEM_TESTS_GPU_CHECK_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace gem::gpucheck {

// What the checks read: fixture files and options (main.cc fills it from the flags).
struct Env {
  std::string fixtures;       // tests/fixtures/engine (or the bundle's copy)
  std::string tree_fixtures;  // tests/fixtures/tree (or the bundle's copy)
  std::string smollm2_slice;  // the SmolLM2 slice GGUF and its reference (bundle), or ""
  std::string smollm2_full;   // the full SmolLM2-135M-Instruct Q4_1 GGUF, or ""
  uint32_t seed = 20261206;   // every random shape and value derives from it
  int cpu_threads = 1;        // CPU backend threads for the reference computations
};

enum class Verdict { kPass, kFail, kNotRun };

struct Outcome {
  Verdict verdict;
  std::string detail;
};
inline Outcome Pass(std::string d) { return {Verdict::kPass, std::move(d)}; }
inline Outcome Fail(std::string d) { return {Verdict::kFail, std::move(d)}; }
inline Outcome NotRun(std::string d) { return {Verdict::kNotRun, std::move(d)}; }

struct Check {
  std::string name;  // "ops.matmul.bf16": group.op.variant
  std::function<Outcome(const Env&)> run;
};

// Each file of checks appends its own, in the order they should run.
void AddOpChecks(std::vector<Check>* out);
void AddInvarianceChecks(std::vector<Check>* out);
void AddLayerChecks(std::vector<Check>* out);
void AddTreeKernelChecks(std::vector<Check>* out);
void AddNcclChecks(std::vector<Check>* out);
void AddModelChecks(std::vector<Check>* out);
void AddTreeDeviceChecks(std::vector<Check>* out);
void AddBackendChecks(std::vector<Check>* out);
void AddResidentChecks(std::vector<Check>* out);

class CheckError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws CheckError("<what>: <CUDA's message>") unless e is cudaSuccess.
void CudaOk(cudaError_t e, const char* what);

// A device allocation of n elements of T, freed on destruction.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    if (n > 0) CudaOk(cudaMalloc(&p_, n * sizeof(T)), "cudaMalloc");
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { Upload(host); }
  ~DeviceArray() {
    if (p_ != nullptr) cudaFree(p_);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  void Upload(const std::vector<T>& host) {
    if (host.size() != n_) throw CheckError("DeviceArray::Upload: size mismatch");
    if (n_ > 0) CudaOk(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "H2D");
  }
  std::vector<T> Download() const {
    std::vector<T> host(n_);
    if (n_ > 0) {
      CudaOk(cudaDeviceSynchronize(), "kernel");
      CudaOk(cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "D2H");
    }
    return host;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Element-wise comparison of two f32 arrays.
struct Diff {
  size_t n = 0;
  size_t differing = 0;     // elements not bit-identical (NaN == NaN counts as identical)
  int64_t max_ulp = 0;      // largest distance in units in the last place
  double max_rel = 0;       // largest |a - b| / (1 + |b|)
  size_t first = SIZE_MAX;  // first differing index
  void Add(const float* got, const float* want, size_t count);
  std::string Summary() const;  // "0 of 1234 differ" / "12 of 1234 differ, max 1 ulp, ..."
};

int64_t UlpDiff(float a, float b);

std::vector<float> RandomFloats(size_t n, std::mt19937& rng, float sd = 1.0f);

}  // namespace gem::gpucheck

#endif  // GEM_TESTS_GPU_CHECK_H_
