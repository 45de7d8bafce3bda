// Copyright the gem authors. The NCCL group on a machine without a GPU: the library loads at
// run time and reports the version of the header we built against; joining devices fails with
// a message that names the problem instead of crashing. (The broadcast itself runs in the GPU
// check, tests/gpu/nccl_checks.cc.)
#include "engine/cuda/nccl_group.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>
#include <nccl.h>

#include <string>

namespace gem::cuda {
namespace {

TEST(NcclGroup, LoadsTheLibraryAtRunTime) {
  Result<std::string> v = NcclVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.value(), std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." +
                           std::to_string(NCCL_PATCH));
}

TEST(NcclGroup, RejectsBadDeviceLists) {
  auto empty = NcclGroup::Create({});
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(empty.status().IsInvalidArgument()) << empty.status().ToString();
  auto twice = NcclGroup::Create({0, 0});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().ToString().find("twice"), std::string::npos);
}

TEST(NcclGroup, NamesTheCudaErrorWithoutAGpu) {
  int count = 0;
  if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0) {
    GTEST_SKIP() << "this machine has a GPU; the GPU check covers NCCL here";
  }
  auto g = NcclGroup::Create({0});
  ASSERT_FALSE(g.ok());
  const std::string msg = g.status().ToString();
  EXPECT_NE(msg.find("cudaGetDeviceCount"), std::string::npos) << msg;
}

}  // namespace
}  // namespace gem::cuda
