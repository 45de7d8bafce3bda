// Copyright the gem authors. Helpers shared by the task tests.
#ifndef GEM_TESTS_TASK_TEST_UTIL_H_
#define GEM_TESTS_TASK_TEST_UTIL_H_

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace gem::testing {

// A temporary directory removed (recursively) at scope exit.
class TempDir {
 public:
  explicit TempDir(const char* root = "/tmp") {
    std::string t = std::string(root) + "/gem-task-test-XXXXXX";
    path_ = mkdtemp(t.data()) ? t : "";
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::string cmd = "rm -rf '" + path_ + "'";
      int rc = std::system(cmd.c_str());
      (void)rc;
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline bool FileExists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

inline void WriteFile(const std::string& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Number of live (non-zombie) processes whose real uid is `uid`.
inline int CountProcessesOfUid(unsigned uid) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    bool zombie = false, mine = false;
    while (std::getline(f, line)) {
      if (line.rfind("State:", 0) == 0 && line.find('Z') != std::string::npos) zombie = true;
      if (line.rfind("Uid:", 0) == 0) {
        unsigned r = 0;
        if (std::sscanf(line.c_str(), "Uid: %u", &r) == 1 && r == uid) mine = true;
      }
    }
    if (mine && !zombie) ++n;
  }
  closedir(d);
  return n;
}

// CountProcessesOfUid, polled until it is 0 or `ms` milliseconds have passed (a SIGKILLed
// process takes a moment to disappear).
inline int WaitNoProcessesOfUid(unsigned uid, int ms = 2000) {
  int n = CountProcessesOfUid(uid);
  for (int waited = 0; n != 0 && waited < ms; waited += 20) {
    usleep(20 * 1000);
    n = CountProcessesOfUid(uid);
  }
  return n;
}

}  // namespace gem::testing

#endif  // GEM_TESTS_TASK_TEST_UTIL_H_
