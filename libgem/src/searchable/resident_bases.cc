// Copyright the gem authors. Resident base models (gem/searchable_tree.h).
#include <chrono>
#include <cstdio>

#include "gem/searchable_tree.h"

namespace gem {

Result<std::shared_ptr<ResidentBase>> ResidentBases::Get(const std::string& path,
                                                         const Digest& digest) {
  // Loading holds the pool's lock: two trees on one new base must not load it twice, and loads
  // are rare (start-up and registration).
  std::lock_guard<std::mutex> lock(mu_);
  auto it = bases_.find(digest.Hex());
  if (it != bases_.end()) return it->second;
  const auto t0 = std::chrono::steady_clock::now();
  LoadOptions lo;
  lo.threads = threads_;
  lo.weights = weights_;
  auto model = Model::Load(path, lo);
  if (!model.ok()) return model.status().WithContext("base model");
  if ((*model)->tokenizer() == nullptr) {
    return Status::InvalidArgument(path, "the base model has no tokenizer (tokenizer.json)");
  }
  auto base = std::make_shared<ResidentBase>();
  base->path = path;
  base->digest = digest;
  base->model = std::move(*model);
  bases_[digest.Hex()] = base;
  if (log_) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    log_("base model " + path + " resident (" + secs + " s; weights " +
         base->model->WeightSummary() + ")");
  }
  return base;
}

size_t ResidentBases::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bases_.size();
}

}  // namespace gem
