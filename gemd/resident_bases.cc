// Copyright the gem authors. The resident base models (resident_bases.h).
#include "resident_bases.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace gemd {

gem::Result<std::shared_ptr<ResidentBase>> ResidentBases::Get(const std::string& path,
                                                              const gem::Digest& digest) {
  // Loading holds the registry lock: two trees on one new base must not load it twice, and
  // loads are rare (start-up and registration).
  std::lock_guard<std::mutex> lock(mu_);
  auto it = bases_.find(digest.Hex());
  if (it != bases_.end()) return it->second;
  const auto t0 = std::chrono::steady_clock::now();
  gem::LoadOptions lo;
  lo.threads = threads_;
  lo.weights = weights_;
  auto model = gem::Model::Load(path, lo);
  if (!model.ok()) return model.status().WithContext("base model");
  if ((*model)->tokenizer() == nullptr) {
    return gem::Status::InvalidArgument(path, "the base model has no tokenizer (tokenizer.json)");
  }
  auto base = std::make_shared<ResidentBase>();
  base->path = path;
  base->digest = digest;
  base->model = std::move(*model);
  spdlog::info("base model {} resident ({:.1f} s; weights {})", path,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
               base->model->WeightSummary());
  bases_[digest.Hex()] = base;
  return base;
}

size_t ResidentBases::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bases_.size();
}

}  // namespace gemd
