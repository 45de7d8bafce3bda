// Copyright the gem authors. The batch script of a worker job (sbatch.h).
#include "cluster/sbatch.h"

namespace gem::cluster {
namespace {

void ReplaceAll(std::string* s, const std::string& from, const std::string& to) {
  for (size_t p = s->find(from); p != std::string::npos; p = s->find(from, p + to.size())) {
    s->replace(p, from.size(), to);
  }
}

bool HasNewline(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

}  // namespace

std::string ShellQuote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                             "@%+=:,./_-") == std::string::npos) {
    return word;
  }
  std::string q = "'";
  for (char c : word) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

Result<std::string> RenderSbatchScript(const std::string& template_text, const SbatchOptions& o,
                                       uint32_t tasks, const std::string& log_pattern,
                                       const WorkerCommand& worker) {
  if (template_text.find("@GEM_WORKER@") == std::string::npos) {
    return Status::InvalidArgument("sbatch template", "has no @GEM_WORKER@ placeholder");
  }
  if (tasks == 0) return Status::InvalidArgument("sbatch", "a job of 0 tasks");
  if (o.gpus_per_node == 0) return Status::InvalidArgument("slurm.gpus_per_node", "must be >= 1");
  std::vector<std::string> opts = {
      "--job-name=" + o.job_name,
      "--array=0-" + std::to_string(tasks - 1),
      "--nodes=1",
      "--ntasks=" + std::to_string(o.gpus_per_node),
      "--cpus-per-task=" + std::to_string(o.cpus_per_worker == 0 ? 1 : o.cpus_per_worker),
      "--output=" + log_pattern,
  };
  if (!o.gres.empty()) opts.push_back("--gres=" + o.gres + ":" + std::to_string(o.gpus_per_node));
  if (!o.partition.empty()) opts.push_back("--partition=" + o.partition);
  if (!o.account.empty()) opts.push_back("--account=" + o.account);
  if (!o.qos.empty()) opts.push_back("--qos=" + o.qos);
  if (!o.time.empty()) opts.push_back("--time=" + o.time);
  if (!o.mem.empty()) opts.push_back("--mem=" + o.mem);
  for (const auto& e : o.extra) opts.push_back(e);
  std::string sbatch_lines;
  for (const auto& opt : opts) {
    if (HasNewline(opt)) {
      return Status::InvalidArgument(
          "sbatch option '" + opt.substr(0, opt.find_first_of("\r\n")) + "...'", "holds a newline");
    }
    sbatch_lines += (sbatch_lines.empty() ? "" : "\n") + ("#SBATCH " + opt);
  }
  std::string srun = "--ntasks=" + std::to_string(o.gpus_per_node) + " --kill-on-bad-exit=0";
  // One GPU per worker, bound: each worker sees only its own as CUDA device 0.
  if (!o.gres.empty()) srun += " --gpus-per-task=1 --gpu-bind=single:1";
  std::string cmd = ShellQuote(worker.program);
  for (const auto& a : worker.args) {
    if (HasNewline(a)) return Status::InvalidArgument("gem-worker argument", "holds a newline");
    cmd += " " + ShellQuote(a);
  }
  std::string script = template_text;
  ReplaceAll(&script, "@GEM_SBATCH_OPTIONS@", sbatch_lines);
  ReplaceAll(&script, "@GEM_SRUN_OPTIONS@", srun);
  ReplaceAll(&script, "@GEM_WORKER@", cmd);
  return script;
}

}  // namespace gem::cluster
