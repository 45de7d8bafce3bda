// Copyright the gem authors. gem-gpu-check: every check of the GPU path on this machine's GPUs,
// one verdict line each (PASS / FAIL / NOT RUN, the check's name, its time, what it measured).
//
//   gem-gpu-check [--fixtures DIR] [--tree-fixtures DIR] [--smollm2-slice DIR]
//                 [--smollm2 FILE] [--only TEXT]... [--list] [--seed N] [--threads N]
//                 [--dry-run-without-gpu]
//
// Exit status: 0 nothing failed; 1 a check failed; 2 usage; 3 a GPU is there but cannot be
// used (e.g. a driver older than the CUDA runtime linked in); 77 no GPU (nothing was checked;
// ctest reports the `gpu` test as skipped, never as passed).
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "engine/gemm.h"
#include "gpu/check.h"

namespace gem::gpucheck {
namespace {

constexpr int kExitFailed = 1, kExitUsage = 2, kExitUnusable = 3, kExitNoGpu = 77;

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: gem-gpu-check [--fixtures DIR] [--tree-fixtures DIR] [--smollm2-slice DIR]\n"
               "                     [--smollm2 FILE] [--only TEXT]... [--list] [--seed N]\n"
               "                     [--threads N]\n"
               "Runs the GPU checks (CUDA ops vs their CPU twins and the CPU backend, batch\n"
               "invariance, the delta/LoRA kernels, NCCL) and prints one verdict per check.\n"
               "  --fixtures DIR       engine fixtures (default: the source tree's)\n"
               "  --tree-fixtures DIR  model-tree fixtures (default: the source tree's)\n"
               "  --smollm2-slice DIR  the SmolLM2 slice and its CPU reference (gpu-check.sh)\n"
               "  --smollm2 FILE       the full SmolLM2-135M-Instruct Q4_1 GGUF, if at hand\n"
               "  --only TEXT          run the checks whose name contains TEXT (repeatable)\n"
               "  --list               print the check names and exit\n"
               "  --dry-run-without-gpu  on a machine without a GPU, run the checks anyway: the\n"
               "                       device work falls back to the CPU, so checks that need\n"
               "                       the GPU FAIL; this tests the program, never the GPU path\n"
               "                       (with a GPU present: exit 77)\n"
               "Exit: 0 nothing failed, 1 a check failed, 2 usage, 3 GPU unusable, 77 no GPU.\n");
}

// One line on the device(s); returns the exit status to stop with, or 0 to go on.
int DescribeDevices() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  const bool no_driver = e == cudaErrorInsufficientDriver && driver == 0;
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0) || no_driver) {
    std::printf("gpu-check: no GPU: %s; nothing was checked (this is not a pass)\n",
                no_driver ? "no NVIDIA driver (libcuda.so.1) on this machine"
                          : "the driver reports no CUDA device");
    return kExitNoGpu;
  }
  if (e == cudaErrorInsufficientDriver) {
    std::printf(
        "gpu-check: GPU unusable: the NVIDIA driver supports CUDA %s, this program needs "
        "%s or newer\n",
        ver(driver).c_str(), ver(runtime).c_str());
    return kExitUnusable;
  }
  if (e != cudaSuccess) {
    std::printf("gpu-check: GPU unusable: cudaGetDeviceCount: %s (%s)\n", cudaGetErrorName(e),
                cudaGetErrorString(e));
    return kExitUnusable;
  }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
    std::printf("gpu-check: GPU %d: %s, sm_%d%d, %.1f GiB, %d SMs\n", d, p.name, p.major, p.minor,
                p.totalGlobalMem / 1073741824.0, p.multiProcessorCount);
  }
  std::printf("gpu-check: driver CUDA %s, runtime %s; CPU reference GEMM: %s\n",
              ver(driver).c_str(), ver(runtime).c_str(), GemmKernelName());
  if (const cudaError_t f = cudaFree(nullptr); f != cudaSuccess) {  // creates the context
    std::printf("gpu-check: GPU unusable: creating a context: %s\n", cudaGetErrorString(f));
    return kExitUnusable;
  }
  return 0;
}

int Main(int argc, char** argv) {
  Env env;
  env.fixtures = std::string(GEM_SOURCE_DIR) + "/tests/fixtures/engine";
  env.tree_fixtures = std::string(GEM_SOURCE_DIR) + "/tests/fixtures/tree";
  env.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> only;
  bool list = false, dry_run = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gem-gpu-check: %s needs a value\n", a.c_str());
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (a == "--fixtures") {
      env.fixtures = value();
    } else if (a == "--tree-fixtures") {
      env.tree_fixtures = value();
    } else if (a == "--smollm2-slice") {
      env.smollm2_slice = value();
    } else if (a == "--smollm2") {
      env.smollm2_full = value();
    } else if (a == "--only") {
      only.push_back(value());
    } else if (a == "--seed") {
      env.seed = static_cast<uint32_t>(std::strtoul(value(), nullptr, 10));
    } else if (a == "--threads") {
      env.cpu_threads = std::max(1, std::atoi(value()));
    } else if (a == "--list") {
      list = true;
    } else if (a == "--dry-run-without-gpu") {
      dry_run = true;
    } else if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "gem-gpu-check: unknown argument '%s'\n", a.c_str());
      Usage(stderr);
      return kExitUsage;
    }
  }
  std::vector<Check> checks;
  AddOpChecks(&checks);
  AddLayerChecks(&checks);
  AddInvarianceChecks(&checks);
  AddTreeKernelChecks(&checks);
  AddNcclChecks(&checks);
  AddTreeDeviceChecks(&checks);
  AddModelChecks(&checks);
  AddBackendChecks(&checks);
  AddResidentChecks(&checks);
  if (!only.empty()) {
    std::vector<Check> kept;
    for (Check& c : checks) {
      for (const std::string& o : only) {
        if (c.name.find(o) != std::string::npos) {
          kept.push_back(std::move(c));
          break;
        }
      }
    }
    checks = std::move(kept);
  }
  if (list) {
    for (const Check& c : checks) std::printf("%s\n", c.name.c_str());
    return 0;
  }
  if (dry_run) {
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0) {
      std::printf("gpu-check: a GPU is here: run without --dry-run-without-gpu\n");
      return kExitNoGpu;
    }
    std::printf(
        "gpu-check: dry run without a GPU: device work falls back to the CPU, checks that need "
        "the GPU fail (this tests the program, not the GPU path)\n");
  } else if (int stop = DescribeDevices(); stop != 0) {
    return stop;
  }
  std::fflush(stdout);

  int passed = 0, failed = 0, not_run = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const Check& c : checks) {
    const auto t0 = std::chrono::steady_clock::now();
    Outcome o{Verdict::kFail, ""};
    bool cuda_error = false;
    try {
      o = c.run(env);
    } catch (const CheckError& e) {
      o = Fail(e.what());
      cuda_error = true;
    } catch (const std::exception& e) {
      o = Fail(std::string("exception: ") + e.what());
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const char* tag = o.verdict == Verdict::kPass   ? "PASS"
                      : o.verdict == Verdict::kFail ? "FAIL"
                                                    : "NOT RUN";
    std::printf("%-8s %s (%.1f s): %s\n", tag, c.name.c_str(), sec, o.detail.c_str());
    std::fflush(stdout);
    (o.verdict == Verdict::kPass ? passed : o.verdict == Verdict::kFail ? failed : not_run)++;
    if (cuda_error) {  // a sticky error poisons the context: start the next check afresh
      int count = 0;
      cudaGetDeviceCount(&count);
      for (int d = 0; d < count; ++d) {
        cudaSetDevice(d);
        cudaDeviceReset();
      }
      cudaSetDevice(0);
    }
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("gpu-check: %d passed, %d failed, %d not run (%.1f s)\n", passed, failed, not_run,
              total);
  return failed > 0 ? kExitFailed : 0;
}

}  // namespace
}  // namespace gem::gpucheck

int main(int argc, char** argv) { return gem::gpucheck::Main(argc, argv); }
