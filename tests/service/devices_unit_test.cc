// Copyright the gem authors. gemd's device names (gemd/devices.h) for GPU counts this machine
// does not have: the names, their order, the workers per GPU, and the errors, given the ordinals
// FoundGpus would report.
#include <gtest/gtest.h>

#include "devices.h"

namespace gemd {
namespace {

using Names = std::vector<std::string>;

gem::Result<Names> Devices(const std::string& gpus, uint32_t gpu_workers, uint32_t cpu_workers,
                           const gem::Result<std::vector<int>>& found) {
  Config c;
  c.gpus = gpus;
  c.gpu_workers = gpu_workers;
  c.cpu_workers = cpu_workers;
  return SchedulerDevices(c, found);
}

TEST(GemdDevices, EveryGpuFoundGetsItsWorkersAfterTheCpuWorkers) {
  auto d = Devices("all", 1, 2, std::vector<int>{0, 1});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (Names{"cpu:0", "cpu:1", "cuda:0", "cuda:1"}));
  d = Devices("all", 3, 1, std::vector<int>{0, 1});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d,
            (Names{"cpu:0", "cuda:0", "cuda:0.1", "cuda:0.2", "cuda:1", "cuda:1.1", "cuda:1.2"}));
  d = Devices("all", 1, 1, std::vector<int>{});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (Names{"cpu:0"}));
  // An unusable driver with "all": no GPU devices (gemd logs why), not a failure.
  d = Devices("all", 1, 1, gem::Status::Unavailable("cudaGetDeviceCount", "driver too old"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (Names{"cpu:0"}));
}

TEST(GemdDevices, ANamedListIsTakenInItsOrderAndMustBeThere) {
  auto d = Devices("2,0", 1, 1, std::vector<int>{0, 1, 2, 3});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, (Names{"cpu:0", "cuda:2", "cuda:0"}));
  d = Devices("none", 2, 1, std::vector<int>{0, 1});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (Names{"cpu:0"}));
  d = Devices("1,4", 1, 1, std::vector<int>{0, 1});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().ToString().find("cuda:4: no such GPU (2 found"), std::string::npos)
      << d.status().ToString();
  d = Devices("0", 1, 1, gem::Status::Unavailable("cudaGetDeviceCount", "driver too old"));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().ToString().find("driver too old"), std::string::npos);
}

TEST(GemdDevices, GpuListsAreParsedStrictly) {
  for (const char* bad : {"", "x", "0,", ",0", "0,,1", "-1", "1.5", "0 ,1", "256", "1,1"}) {
    EXPECT_FALSE(ParseGpuList(bad).ok()) << "'" << bad << "'";
  }
  auto all = ParseGpuList("all");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->all);
  auto list = ParseGpuList("3,0,12");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE(list->all);
  EXPECT_EQ(list->ordinals, (std::vector<int>{3, 0, 12}));
  EXPECT_EQ(DeviceKind("cuda:1.2"), "cuda");
  EXPECT_EQ(DeviceKind("cpu:0"), "cpu");
}

}  // namespace
}  // namespace gemd
