// Copyright the gem authors. gem/file.h: only regular files, never blocking, never unbounded
// (issue 16: a manifest that was a directory aborted gemd, one at /dev/zero grew it to 7 GB,
// and a FIFO hung every later registration).
#include "gem/file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace gem {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gemfile.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(FileTest, ReadsARegularFileWhole) {
  std::ofstream(dir_ + "/a.json") << "{\"x\": 1}\n";
  std::string text;
  ASSERT_TRUE(ReadRegularFile(dir_ + "/a.json", 1024, &text).ok());
  EXPECT_EQ(text, "{\"x\": 1}\n");
  // Files with a size of 0 that are not empty (as in /proc) are read to their end too.
  ASSERT_TRUE(ReadRegularFile("/proc/self/status", 1 << 20, &text).ok());
  EXPECT_NE(text.find("Name:"), std::string::npos);
}

TEST_F(FileTest, RefusesWhatIsNotARegularFileByName) {
  std::string text;
  Status st = ReadRegularFile(dir_, 1024, &text);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("is a directory"), std::string::npos) << st.ToString();

  st = ReadRegularFile("/dev/zero", 1 << 30, &text);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("character device"), std::string::npos) << st.ToString();
  EXPECT_TRUE(text.empty());

  // A FIFO nobody writes to: refused at once, not waited on.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  const auto t0 = std::chrono::steady_clock::now();
  st = ReadRegularFile(fifo, 1024, &text);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_NE(st.message().find("FIFO"), std::string::npos) << st.ToString();

  st = ReadRegularFile(dir_ + "/missing", 1024, &text);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  st = ReadRegularFile(dir_ + std::string("/a\0b", 4), 1024, &text);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("NUL"), std::string::npos) << st.ToString();
  EXPECT_TRUE(ReadRegularFile("", 1024, &text).IsInvalidArgument());
}

TEST_F(FileTest, RefusesFilesOverTheLimit) {
  std::ofstream(dir_ + "/big") << std::string(5000, 'x');
  std::string text;
  Status st = ReadRegularFile(dir_ + "/big", 4096, &text);
  EXPECT_EQ(st.code(), Status::Code::kResourceExhausted) << st.ToString();
  EXPECT_NE(st.message().find("5000 bytes exceeds the limit of 4096"), std::string::npos)
      << st.ToString();
  EXPECT_TRUE(text.empty());
  int fd = -1;
  uint64_t size = 0;
  ASSERT_TRUE(OpenRegularFile(dir_ + "/big", &fd, &size).ok());
  EXPECT_EQ(size, 5000u);
  EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0) << "left non-blocking";
  close(fd);
}

}  // namespace
}  // namespace gem
