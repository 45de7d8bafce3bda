// Copyright the gem authors. The batch script of a worker job (docs/CLUSTER.md, "The sbatch
// template").
//
// One Slurm job is an array of `tasks` tasks; each task takes one node's worth of
// `gpus_per_node` GPUs (gres) and starts one gem-worker per GPU with srun, each bound to its own
// GPU (CUDA_VISIBLE_DEVICES). A template is a whole bash script with three placeholders, each
// on a line of its own or inline:
//   @GEM_SBATCH_OPTIONS@   the #SBATCH lines (array, nodes, tasks, gres, partition, account,
//                          qos, time, output, and the configured extra options)
//   @GEM_SRUN_OPTIONS@     srun's options for one worker per GPU
//   @GEM_WORKER@           the gem-worker command with its arguments, shell-quoted
// so a site can add module loads, environment or a container wrapper around the worker without
// knowing how gemd sizes the job. The built-in template (kDefaultSbatchTemplate) is the minimum.
//
// Thread-safety: reentrant.
#ifndef GEM_CLUSTER_SBATCH_H_
#define GEM_CLUSTER_SBATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/status.h"

namespace gem::cluster {

inline constexpr const char* kDefaultSbatchTemplate =
    "#!/bin/bash\n"
    "# A gem-worker job written by gemd (docs/CLUSTER.md): one array task per node, one worker\n"
    "# per GPU. Site setup (module load ..., a container wrapper) goes before srun.\n"
    "@GEM_SBATCH_OPTIONS@\n"
    "\n"
    "exec srun @GEM_SRUN_OPTIONS@ @GEM_WORKER@\n";

// gemd's [slurm] settings that shape a job (docs/GEMD.md, "Settings").
struct SbatchOptions {
  std::string partition;           // --partition ("" = the cluster's default)
  std::string account;             // --account ("" = none)
  std::string qos;                 // --qos ("" = none)
  std::string time = "04:00:00";   // --time: each task's limit
  std::string gres = "gpu";        // the GPU gres name; "" requests no GPUs (CPU workers)
  uint32_t gpus_per_node = 1;      // workers (and GPUs) per array task, >= 1
  uint32_t cpus_per_worker = 1;    // --cpus-per-task
  std::string mem;                 // --mem per array task ("" = Slurm's default)
  std::vector<std::string> extra;  // further sbatch options, one per #SBATCH line
  std::string job_name = "gem-worker";
};

// What every worker of the job runs.
struct WorkerCommand {
  std::string program;  // gem-worker as the nodes see it
  std::vector<std::string> args;
};

// Quotes a word for bash ('...' with embedded quotes escaped) unless it is plain.
std::string ShellQuote(const std::string& word);

// The script of a job of `tasks` array tasks whose output goes to `log_pattern` (Slurm's
// filename pattern, e.g. "/dir/%a.out"). InvalidArgument when the template lacks @GEM_WORKER@,
// tasks or gpus_per_node is 0, or an option holds a newline.
Result<std::string> RenderSbatchScript(const std::string& template_text,
                                       const SbatchOptions& options, uint32_t tasks,
                                       const std::string& log_pattern, const WorkerCommand& worker);

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_SBATCH_H_
