// Copyright the gem authors. CUDA device discovery and error mapping on a machine without a GPU
// (engine/cuda/device.h): no GPU is an empty list, not an error; sticky errors are fatal.
#include <gtest/gtest.h>

#include "engine/cuda/device.h"

namespace gem::cuda {
namespace {

TEST(CudaDevice, NoGpuIsAnEmptyList) {
  auto devices = ListDevices();
  ASSERT_TRUE(devices.ok()) << devices.status().ToString();
  if (!devices->empty()) GTEST_SKIP() << "this machine has a GPU: " << devices->front().name;
  EXPECT_NE(CudaVersions().find("no NVIDIA driver"), std::string::npos) << CudaVersions();
}

TEST(CudaDevice, ErrorsBecomeStatusesAndStickyOnesAreFatal) {
  EXPECT_TRUE(CudaStatus(cudaSuccess, "x").ok());
  Status bad = CudaStatus(cudaErrorInvalidValue, "cudaMemcpy");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.ToString().find("cudaMemcpy"), std::string::npos) << bad.ToString();
  EXPECT_NE(bad.ToString().find("cudaErrorInvalidValue"), std::string::npos) << bad.ToString();
  EXPECT_FALSE(IsFatalCudaStatus(bad));
  Status sticky = CudaStatus(cudaErrorIllegalAddress, "attention");
  EXPECT_TRUE(IsFatalCudaStatus(sticky)) << sticky.ToString();
  EXPECT_FALSE(IsFatalCudaStatus(Status::OK()));
}

}  // namespace
}  // namespace gem::cuda
