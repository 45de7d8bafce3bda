// Copyright the gem authors. Resident base models (gem/searchable_tree.h).
#include <chrono>
#include <cstdio>

#include "gem/searchable_tree.h"
#if GEM_HAVE_CUDA
#include "engine/cuda/backend_cuda.h"
#endif

namespace gem {
namespace {

// The backend a device's copy runs on: nullptr (the CPU backend) for "" and "cpu:<i>"; the CUDA
// backend of GPU g for "cuda:<g>" and "cuda:<g>.<worker>".
Result<const Backend*> BackendOf(const std::string& device) {
  if (device.rfind("cuda:", 0) != 0) return static_cast<const Backend*>(nullptr);
  const std::string ordinal = device.substr(5, device.find('.') - 5);
  const bool digits = !ordinal.empty() && ordinal.size() <= 3 &&
                      ordinal.find_first_not_of("0123456789") == std::string::npos;
#if GEM_HAVE_CUDA
  const Backend* b = digits ? cuda::CudaBackend(std::stoi(ordinal)) : nullptr;
  if (b != nullptr) return b;
  return Status::InvalidArgument(device, "not a CUDA device the backend can address");
#else
  (void)digits;
  return Status::NotSupported(device, "this build of gem has no CUDA backend (GEM_CUDA=OFF)");
#endif
}

}  // namespace

Result<std::shared_ptr<ResidentBase>> ResidentBases::Get(const std::string& path,
                                                         const Digest& digest,
                                                         const std::string& device) {
  // Loading holds the pool's lock: two trees on one new base must not load it twice, and loads
  // are rare (start-up, registration, a device's first search on the base).
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = digest.Hex() + "@" + device;
  auto it = bases_.find(key);
  if (it != bases_.end()) return it->second;
  const auto t0 = std::chrono::steady_clock::now();
  LoadOptions lo;
  lo.threads = threads_;
  lo.weights = weights_;
  auto backend = BackendOf(device);
  if (!backend.ok()) return backend.status();
  lo.backend = *backend;
  auto model = Model::Load(path, lo);
  if (!model.ok()) return model.status().WithContext("base model");
  if ((*model)->tokenizer() == nullptr) {
    return Status::InvalidArgument(path, "the base model has no tokenizer (tokenizer.json)");
  }
  auto base = std::make_shared<ResidentBase>();
  base->path = path;
  base->digest = digest;
  base->device = device;
  base->model = std::move(*model);
  bases_[key] = base;
  if (log_) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    log_("base model " + path + " resident" + (device.empty() ? "" : " on " + device) + " (" +
         secs + " s; weights " + base->model->WeightSummary() + ")");
  }
  return base;
}

size_t ResidentBases::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bases_.size();
}

}  // namespace gem
