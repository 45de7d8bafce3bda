// Copyright the gem authors. CUDA device discovery and error mapping on a machine without a GPU
// (engine/cuda/device.h): no GPU is an empty list, not an error; sticky errors are fatal.
#include <gtest/gtest.h>

#include "engine/cuda/device.h"
#include "engine/cuda/device_arena.h"

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

TEST(DeviceArena, LaysTensorsOutAlignedInOrder) {
  std::vector<ArenaTensor> t = {{"a", 1}, {"b", 256}, {"c", 257}, {"d", 0}, {"e", 3}};
  const size_t total = LayoutArena(&t);
  EXPECT_EQ(t[0].offset, 0u);
  EXPECT_EQ(t[1].offset, 256u);
  EXPECT_EQ(t[2].offset, 512u);
  EXPECT_EQ(t[3].offset, 1024u);
  EXPECT_EQ(t[4].offset, 1024u);
  EXPECT_EQ(total, 1280u);
}

TEST(DeviceArena, WithoutAGpuCreateFailsNamingCuda) {
  auto devices = ListDevices();
  ASSERT_TRUE(devices.ok());
  if (!devices->empty()) GTEST_SKIP() << "this machine has a GPU";
  std::vector<ArenaTensor> t = {{"a", 100}};
  const size_t total = LayoutArena(&t);
  auto arena = DeviceArena::Create({0}, t, total);
  ASSERT_FALSE(arena.ok());
  EXPECT_NE(arena.status().ToString().find("cuda"), std::string::npos) << arena.status().ToString();
  EXPECT_FALSE(DeviceArena::Create({}, t, total).ok());
}

}  // namespace
}  // namespace gem::cuda
