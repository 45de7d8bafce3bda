// Copyright the gem authors. The tree part on the device: unmerged LoRA with the BGMV kernels
// (tree/cuda/device_lora_slots.h) against the CPU's LoraSlots, on the fixture tree's three PEFT
// adapters (ranks 2, 4 and 8, rsLoRA among them), every adapted (layer, projection), rows of
// one batch mixing the adapters and rows without one.
#include <map>
#include <memory>
#include <string>

#include "gem/adapter.h"
#include "gpu/check.h"
#include "tree/cuda/device_lora_slots.h"

namespace gem::gpucheck {
namespace {

Outcome LoraSlotsCheck(const Env& env) {
  const char* names[] = {"lora_mlp_r2", "lora_qv_r4", "lora_all_r8_rslora"};
  std::vector<std::unique_ptr<LoraAdapter>> adapters;
  for (const char* n : names) {
    auto a = LoraAdapter::Load(env.tree_fixtures + "/" + n);
    if (!a.ok()) return Fail(a.status().ToString());
    adapters.push_back(std::move(*a));
  }
  LoraSlots cpu(4);
  cuda::DeviceLoraSlots dev(0, nullptr, 4);
  for (int s = 0; s < 3; ++s) {
    if (Status st = cpu.Set(s, adapters[s].get()); !st.ok()) return Fail(st.ToString());
    if (Status st = dev.Set(s, adapters[s].get()); !st.ok()) return Fail(st.ToString());
  }
  // Every adapted (layer, module), with its shape.
  std::map<std::pair<int, std::string>, std::pair<int, int>> projections;
  for (const auto& a : adapters) {
    for (const LoraModule& m : a->modules()) {
      projections[{m.layer, m.module}] = {m.in_features, m.out_features};
    }
  }
  std::mt19937 rng(env.seed + 400);
  const int rows = 11;
  std::vector<int32_t> row_adapter(rows);
  for (auto& r : row_adapter) r = static_cast<int32_t>(rng() % 5) - 1;  // -1..3 (3: empty slot)
  Diff d;
  for (const auto& [key, shape] : projections) {
    const auto [in, out] = shape;
    const auto x = RandomFloats(static_cast<size_t>(rows) * in, rng);
    const auto y0 = RandomFloats(static_cast<size_t>(rows) * out, rng);
    std::vector<float> want = y0;
    cpu.Apply(key.first, key.second, x.data(), rows, in, want.data(), out, row_adapter);
    DeviceArray<float> dx(x), dy(y0);
    dev.Apply(key.first, key.second, dx.get(), rows, in, dy.get(), out, row_adapter);
    if (Status st = dev.status(); !st.ok()) return Fail(st.ToString());
    const auto got = dy.Download();
    d.Add(got.data(), want.data(), got.size());
  }
  const std::string detail =
      std::to_string(projections.size()) +
      " projections, 3 adapters mixed in one batch, vs LoraSlots (CPU): " + d.Summary();
  return d.max_rel <= 1e-5 ? Pass(detail) : Fail(detail);
}

}  // namespace

void AddTreeDeviceChecks(std::vector<Check>* out) {
  out->push_back({"tree.lora_slots", LoraSlotsCheck});
}

}  // namespace gem::gpucheck
