// Copyright the gem authors. gemd's devices: the scheduler's device names, from the config and
// the GPUs this process sees.
//
// Names: "cpu:<i>" for the CPU workers (scheduler.cpu_workers); "cuda:<g>" for the first worker
// of GPU g and "cuda:<g>.<w>" for its further workers (scheduler.gpus, scheduler.gpu_workers).
// Each name has its own resident copy of a base (gem::ResidentBases, which runs "cuda:" copies
// through the CUDA backend of GPU g). A search never mixes kinds: its engines all run on CPU
// workers or all on GPUs, because their results are cached under one numerics id
// (docs/GPU.md, "Cache sharing between backends").
//
// Thread-safety: pure functions, except FoundGpus (asks the CUDA driver; any thread).
#ifndef GEMD_DEVICES_H_
#define GEMD_DEVICES_H_

#include <string>
#include <vector>

#include "config.h"
#include "gem/status.h"

namespace gemd {

// scheduler.gpus parsed: "all", "none", or a comma-separated list of distinct GPU ordinals.
struct GpuSelection {
  bool all = false;
  std::vector<int> ordinals;  // when !all, in the order given
};
// InvalidArgument naming the value when it is none of those.
gem::Result<GpuSelection> ParseGpuList(const std::string& gpus);

// The GPU ordinals this process sees (CUDA_VISIBLE_DEVICES applies): empty in a build without
// CUDA or on a machine without a GPU; Unavailable (CUDA's words) when a driver is there but
// unusable.
gem::Result<std::vector<int>> FoundGpus();

// The scheduler's devices: cpu:0 .. cpu:<cpu_workers-1>, then the selected GPUs' workers.
// `found` is FoundGpus()'s answer: with gpus = "all" an unusable driver means no GPU devices;
// a list that names a GPU not found is InvalidArgument ("cuda:3: no such GPU (2 found)"), and
// so is any unusable driver.
gem::Result<std::vector<std::string>> SchedulerDevices(const Config& config,
                                                       const gem::Result<std::vector<int>>& found);

// "cpu" or "cuda" (the part of the name before ':').
std::string DeviceKind(const std::string& device);

}  // namespace gemd

#endif  // GEMD_DEVICES_H_
