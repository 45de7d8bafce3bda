// Copyright the gem authors. SpreadEvaluator (gem/spread_evaluator.h).
#include "gem/spread_evaluator.h"

#include <algorithm>
#include <thread>

namespace gem {

SpreadEvaluator::SpreadEvaluator(std::vector<Evaluator*> devices)
    : devices_(std::move(devices)), per_device_(devices_.size(), 0) {}

uint32_t SpreadEvaluator::num_models() const { return devices_[0]->num_models(); }
uint32_t SpreadEvaluator::num_queries() const { return devices_[0]->num_queries(); }

Status SpreadEvaluator::Evaluate(std::span<const EvalRequest> requests,
                                 std::span<EvalOutcome> outcomes,
                                 std::vector<EvalDetail>* details) {
  const size_t n = devices_.size();
  if (details != nullptr) details->assign(requests.size(), EvalDetail{});
  // Deal the batch's distinct models to the devices in model order.
  std::vector<uint32_t> models;
  for (const EvalRequest& r : requests) models.push_back(r.model);
  std::sort(models.begin(), models.end());
  models.erase(std::unique(models.begin(), models.end()), models.end());
  std::vector<std::vector<size_t>> share(n);  // request positions per device
  for (size_t i = 0; i < requests.size(); ++i) {
    const size_t rank =
        std::lower_bound(models.begin(), models.end(), requests[i].model) - models.begin();
    share[rank % n].push_back(i);
  }
  std::vector<Status> status(n);
  std::vector<std::vector<EvalOutcome>> out(n);
  std::vector<std::vector<EvalDetail>> det(n);
  auto run = [&](size_t d) {
    std::vector<EvalRequest> req;
    for (size_t i : share[d]) req.push_back(requests[i]);
    out[d].resize(req.size());
    status[d] = devices_[d]->Evaluate(req, out[d], details != nullptr ? &det[d] : nullptr);
  };
  std::vector<std::thread> threads;
  for (size_t d = 1; d < n; ++d) {
    if (!share[d].empty()) threads.emplace_back(run, d);
  }
  if (!share[0].empty()) run(0);  // the calling thread takes device 0's share
  for (std::thread& t : threads) t.join();
  for (size_t d = 0; d < n; ++d) {
    if (!status[d].ok()) return status[d];
  }
  for (size_t d = 0; d < n; ++d) {
    per_device_[d] += share[d].size();
    for (size_t j = 0; j < share[d].size(); ++j) {
      outcomes[share[d][j]] = out[d][j];
      if (details != nullptr && j < det[d].size()) (*details)[share[d][j]] = std::move(det[d][j]);
    }
  }
  return Status::OK();
}

Status SpreadEvaluator::Known(std::span<const EvalRequest> requests, std::span<uint8_t> known) {
  std::fill(known.begin(), known.end(), 0);
  std::vector<uint8_t> k(requests.size());
  for (Evaluator* d : devices_) {
    GEM_RETURN_IF_ERROR(d->Known(requests, k));
    for (size_t i = 0; i < k.size(); ++i) known[i] |= k[i];
  }
  return Status::OK();
}

}  // namespace gem
