// Copyright the gem authors. gemd's devices (devices.h).
#include "devices.h"

#include <algorithm>
#include <charconv>

#ifndef GEM_HAVE_CUDA
#define GEM_HAVE_CUDA 0
#endif
#if GEM_HAVE_CUDA
#include "engine/cuda/device.h"
#endif

namespace gemd {

gem::Result<GpuSelection> ParseGpuList(const std::string& gpus) {
  GpuSelection sel;
  if (gpus == "all") {
    sel.all = true;
    return sel;
  }
  if (gpus == "none") return sel;
  auto bad = [&](const std::string& why) {
    return gem::Status::InvalidArgument("gpus '" + gpus + "'",
                                        why + " (all, none, or GPU ordinals like 0,2)");
  };
  size_t start = 0;
  while (start <= gpus.size()) {
    const size_t comma = std::min(gpus.find(',', start), gpus.size());
    const std::string item = gpus.substr(start, comma - start);
    int g = -1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), g);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || g < 0 || g > 255) {
      return bad("'" + item + "' is not a GPU ordinal");
    }
    if (std::find(sel.ordinals.begin(), sel.ordinals.end(), g) != sel.ordinals.end()) {
      return bad("GPU " + item + " is named twice");
    }
    sel.ordinals.push_back(g);
    start = comma + 1;
  }
  return sel;
}

gem::Result<std::vector<int>> FoundGpus() {
  std::vector<int> found;
#if GEM_HAVE_CUDA
  auto devices = gem::cuda::ListDevices();
  if (!devices.ok()) return devices.status();
  for (const auto& d : *devices) found.push_back(d.ordinal);
#endif
  return found;
}

gem::Result<std::vector<std::string>> SchedulerDevices(const Config& config,
                                                       const gem::Result<std::vector<int>>& found) {
  std::vector<std::string> devices;
  for (uint32_t i = 0; i < config.cpu_workers; ++i) devices.push_back("cpu:" + std::to_string(i));
  auto sel = ParseGpuList(config.gpus);
  if (!sel.ok()) return sel.status();
  std::vector<int> gpus;
  if (sel->all) {
    if (found.ok()) gpus = *found;
  } else if (!sel->ordinals.empty()) {
    if (!found.ok()) return found.status().WithContext("gpus '" + config.gpus + "'");
    for (int g : sel->ordinals) {
      if (std::find(found->begin(), found->end(), g) == found->end()) {
        return gem::Status::InvalidArgument(
            "cuda:" + std::to_string(g),
            "no such GPU (" + std::to_string(found->size()) + " found" +
                (GEM_HAVE_CUDA ? "" : "; gemd was built without CUDA") + ")");
      }
      gpus.push_back(g);
    }
  }
  for (int g : gpus) {
    const std::string name = "cuda:" + std::to_string(g);
    devices.push_back(name);
    for (uint32_t w = 1; w < config.gpu_workers; ++w) {
      devices.push_back(name + "." + std::to_string(w));
    }
  }
  return devices;
}

std::string DeviceKind(const std::string& device) { return device.substr(0, device.find(':')); }

}  // namespace gemd
