// Copyright the gem authors. A real Slurm cluster for a test (local_slurm.h).
#include "cluster/local_slurm.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/run_command.h"

namespace gem::testing {
namespace {

std::string Script() { return std::string(GEM_SOURCE_DIR) + "/scripts/local-slurm.sh"; }

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

}  // namespace

std::string LocalSlurm::Unavailable() {
  CommandResult r = RunCommand(Script() + " check 2>&1");
  if (r.code == 0) return "";
  std::string why = r.out;
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return why.empty() ? "scripts/local-slurm.sh check failed" : why;
}

LocalSlurm::~LocalSlurm() { Stop(); }

bool LocalSlurm::Start(const std::string& dir, int nodes, int gpus) {
  dir_ = dir;
  CommandResult r = RunCommand(Script() + " start '" + dir + "' --nodes " + std::to_string(nodes) +
                               " --gpus " + std::to_string(gpus) + " 2>&1");
  running_ = true;  // stop whatever part of it started
  if (r.code != 0) {
    error_ = "scripts/local-slurm.sh start failed (exit " + std::to_string(r.code) + "):\n" +
             r.out + LogTails();
    return false;
  }
  return true;
}

void LocalSlurm::Stop() {
  if (!running_) return;
  running_ = false;
  RunCommand(Script() + " stop '" + dir_ + "' >/dev/null 2>&1");
}

bool LocalSlurm::gpu_indices() const {
  std::ifstream in(dir_ + "/etc/fake_gpus");
  std::string kind;
  in >> kind;
  return kind == "files";
}

std::string LocalSlurm::LogTails() const {
  std::string out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/log", ec)) {
    out += "--- " + e.path().string() + "\n" + Tail(e.path().string(), 15);
  }
  return out;
}

}  // namespace gem::testing
