// Copyright the gem authors. Unmerged and batched LoRA as the model's LinearHook: each call
// gathers, for one (layer, projection), the A/B of every slot into a BGMV slot table and runs the
// shrink and expand twins (ops/lora_ops.cc) over the whole batch, each row with its own adapter.
#include <algorithm>

#include "gem/adapter.h"
#include "tree/ops/lora_ops.h"

namespace gem {

LoraSlots::LoraSlots(int num_slots) : slots_(std::max(num_slots, 0), nullptr) {}

Status LoraSlots::Set(int slot, const LoraAdapter* adapter) {
  if (slot < 0 || slot >= num_slots()) {
    return Status::InvalidArgument("LoRA slot " + std::to_string(slot) + " out of range [0, " +
                                   std::to_string(num_slots()) + ")");
  }
  slots_[slot] = adapter;
  return Status::OK();
}

const LoraAdapter* LoraSlots::Get(int slot) const {
  return slot >= 0 && slot < num_slots() ? slots_[slot] : nullptr;
}

void LoraSlots::Apply(int layer, std::string_view module, const float* x, int rows, int in_features,
                      float* y, int out_features, std::span<const int32_t> row_adapter) const {
  // Slot table for this projection: slots without an adapter, or whose adapter leaves this
  // projection alone, get rank 0 and their rows slot -1 (untouched).
  thread_local std::vector<ops::BgmvSlot> table;
  table.assign(slots_.size(), ops::BgmvSlot{nullptr, nullptr, 0, 0.0f});
  int max_rank = 0;
  bool any = false;
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s] == nullptr) continue;
    const LoraModule* m = slots_[s]->Find(layer, module);
    if (m == nullptr || m->in_features != in_features || m->out_features != out_features) continue;
    table[s] = ops::BgmvSlot{m->a.data(), m->b.data(), m->rank, m->scale};
    max_rank = std::max(max_rank, m->rank);
    any = true;
  }
  if (!any) return;
  row_slot_.assign(rows, -1);
  bool used = false;
  for (int r = 0; r < rows && r < static_cast<int>(row_adapter.size()); ++r) {
    const int32_t s = row_adapter[r];
    if (s >= 0 && s < static_cast<int32_t>(table.size()) && table[s].rank > 0) {
      row_slot_[r] = s;
      used = true;
    }
  }
  if (!used) return;
  v_.resize(static_cast<size_t>(rows) * max_rank);
  ops::BgmvShrink(x, rows, in_features, row_slot_.data(), table.data(),
                  static_cast<int>(table.size()), max_rank, v_.data());
  ops::BgmvExpand(v_.data(), rows, out_features, row_slot_.data(), table.data(),
                  static_cast<int>(table.size()), max_rank, y);
}

}  // namespace gem
