// Copyright the gem authors. gemctl: the thin control CLI of gemd (as bitcoin-cli: declare the
// options, send one request, print the reply, exit with a status derived from it).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>

#include "commands.h"
#include "report.h"
#include "tree_scan.h"

namespace {

std::string LoginName() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  struct passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gemctl;
  Globals g;
  g.client.endpoint =
      std::getenv("GEMD_ENDPOINT") ? std::getenv("GEMD_ENDPOINT") : "ipc:///run/gemd/gemd.sock";
  g.user = LoginName();

  CLI::App app{"gemctl: control gemd, the gem daemon (model searches with a shared result cache).",
               "gemctl"};
  app.require_subcommand(1);
  // Global options may come after the subcommand too (gemctl search list --json).
  app.fallthrough();
  app.set_version_flag("--version", std::string("gemctl ") + GEM_VERSION);
  app.footer(R"(Examples:
  gemctl health
  gemctl info
  gemctl tree register data/demo_tree/tree.json --task data/demo_tree/tasks/demo_add.jsonl
  gemctl search start --tree demo-tree --task demo_add --wait
  gemctl tree register --replay data/trees/qwen2.5_3b.csv --name qwen
  gemctl search start --tree qwen --task gsm8k --queries-per-model 10 --seed 1 --wait
  gemctl search list
  gemctl --json search result 1
  gemctl search report 1 --out report.html
  gemctl tree scan ~/.cache/huggingface/hub --base ORG/NAME --out tree.json

Exit status: 0 success; 2 usage error; 3 gemd did not answer; 4 the waited-for search ended
failed, cancelled or interrupted; 5 gemd refused the connection (CURVE key); 10+code when gemd
replied with an error, or tree scan failed (11 not found, 13 not supported, 14 invalid argument,
17 unavailable, 20 failed precondition; docs/PROTOCOL.md lists all).
Environment: GEMD_ENDPOINT sets the default endpoint.)");
  app.add_option("-e,--endpoint", g.client.endpoint,
                 "gemd's endpoint (default $GEMD_ENDPOINT or ipc:///run/gemd/gemd.sock)");
  app.add_flag("--json", g.json, "Print the reply as JSON (for scripts) instead of tables");
  app.add_option("--wait-for-daemon", g.wait_for_daemon,
                 "Wait up to SECONDS for gemd to be up and ready before sending the request");
  app.add_option("--timeout", g.timeout, "Seconds to wait for each reply (default 30)");
  app.add_option("--user", g.user,
                 "User name recorded with searches and trees (default: login name)");
  app.add_option("--curve-server-key", g.client.curve_server_key,
                 "tcp only: gemd's CURVE public key (z85 text or a file holding it)");
  app.add_option("--curve-secret-key", g.client.curve_secret_key,
                 "tcp only: your CURVE secret key file (gemctl keygen NAME makes one)");

  std::function<int()> run;

  app.add_subcommand("health", "Is gemd up? Its state, start-up stage, jobs and devices")
      ->callback([&] { run = [&] { return Health(g); }; });
  app.add_subcommand("info",
                     "What gemd decides: its built-in tasks, search methods and defaults, tree "
                     "formats and the tree-name rule")
      ->callback([&] { run = [&] { return Info(g); }; });
  app.add_subcommand("shutdown", "Stop gemd gracefully (running searches become 'interrupted')")
      ->callback([&] { run = [&] { return Shutdown(g); }; });

  auto* tree = app.add_subcommand("tree", "Register, list and show model trees");
  tree->require_subcommand(1);
  TreeRegisterArgs reg;
  auto* treg = tree->add_subcommand(
      "register",
      "Register a model tree from its MANIFEST (a base and its fine-tunes and LoRA adapters, "
      "docs/MANIFEST.md; gemd reads the models on its own host, turns fine-tunes into deltas and "
      "keeps the base resident), or a replay file (--replay): a per-model accuracy CSV (every "
      "*_pct column is a task, simulated into a 0/1 matrix) or a 0/1 matrix CSV");
  auto* treg_manifest = treg->add_option(
      "manifest", reg.manifest,
      "The tree's manifest, e.g. data/demo_tree/tree.json (gemd reads it and the model files "
      "it names by absolute path, with its own permissions)");
  treg_manifest->check(CLI::ExistingFile);
  auto* treg_replay = treg->add_option("--replay", reg.replay,
                                       "A replay CSV file (sent to gemd; gemd keeps a copy)")
                          ->check(CLI::ExistingFile);
  treg_manifest->excludes(treg_replay);
  treg->add_option("--name", reg.name,
                   "Name of the tree (default: gemd names it after the manifest's \"name\", or "
                   "the file's stem; gemctl info)");
  treg->add_option("--task", reg.tasks,
                   "Model trees (repeatable, at least one): a custom task file NAME.jsonl "
                   "(docs/TASKS.md; sent to gemd, searched as NAME) or one of gemd's built-in "
                   "benchmarks (gemctl info lists them). Matrix CSVs: the task the matrix answers "
                   "(default matrix)");
  treg->add_option("--format", reg.format, "Replay files: accuracy, matrix or auto (default auto)")
      ->check(CLI::IsMember({"auto", "accuracy", "matrix"}));
  treg->add_option("--queries", reg.queries,
                   "Accuracy CSVs: queries to simulate per task (default: gemd's replay.queries)");
  treg->callback([&] {
    if (reg.manifest.empty() && reg.replay.empty()) {
      throw CLI::RequiredError("a MANIFEST or --replay FILE");
    }
    run = [&] { return TreeRegister(g, reg); };
  });
  tree->add_subcommand("list", "List registered trees")->callback([&] {
    run = [&] { return TreeList(g); };
  });
  TreeScanArgs scan;
  auto* tscan = tree->add_subcommand(
      "scan",
      "Write a tree manifest from folders of Hugging Face checkpoints (model folders, mirrors, "
      "the hub cache): parents from model cards (base_model, base_model_relation) and "
      "adapter_config.json, downloads from the cards or a CSV, digests. Models it cannot place "
      "are listed with the reason and left out (docs/TREE_SCAN.md). Runs locally, without gemd");
  tscan->add_option("paths", scan.paths, "Folders to scan (e.g. ~/.cache/huggingface/hub /models)")
      ->required()
      ->check(CLI::ExistingDirectory);
  tscan->add_option("--base", scan.base,
                    "The tree's base: a scanned model's id (ORG/NAME) or folder (default: the one "
                    "model whose card names no base model)");
  tscan
      ->add_option("--downloads", scan.downloads,
                   "CSV of downloads: columns model (or repo, repo_id, id) and downloads; "
                   "overrides the cards' downloads")
      ->check(CLI::ExistingFile);
  tscan->add_option("--out,-o", scan.out, "Manifest file to write (default: stdout)");
  tscan->add_option("--name", scan.name, "The tree's name (default: <base id>-tree)");
  tscan->add_flag("--no-digests", scan.no_digests,
                  "Skip hashing the weights (faster; registration then cannot check that the "
                  "files are the ones scanned)");
  tscan->callback([&] { run = [&] { return TreeScan(g, scan); }; });
  std::string report_tree;
  ReportArgs report;
  auto* trep = tree->add_subcommand(
      "report",
      "Write the HTML report of a tree whose answers are all in the cache: the tree atlas, "
      "popularity against accuracy with the hidden gems, the most accurate and most popular "
      "models (docs/REPORT.md)");
  trep->add_option("name", report_tree, "Tree name")->required();
  trep->add_option("--task", report.task, "Task (default: the tree's only task)");
  trep->add_option("--out,-o", report.out, "HTML file to write (default: <tree>-<task>.html)");
  trep->add_option("--gem-margin", report.gem_margin,
                   "A hidden gem beats the most popular model by more than this accuracy "
                   "(a fraction; default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  trep->add_flag("--partial", report.partial,
                 "Draw models the cache has not fully answered as unknown instead of refusing");
  trep->callback([&] { run = [&] { return TreeReport(g, report_tree, report); }; });
  std::string tree_name;
  auto* tshow = tree->add_subcommand("show", "Show a tree's models, digests and accuracies");
  tshow->add_option("name", tree_name, "Tree name")->required();
  tshow->callback([&] { run = [&] { return TreeShow(g, tree_name); }; });

  auto* search = app.add_subcommand("search", "Start, follow, cancel, resume and list searches");
  search->require_subcommand(1);
  SearchStartArgs start;
  auto* sstart = search->add_subcommand("start", "Queue a search job (returns its id)");
  sstart->add_option("--tree", start.tree, "Registered tree")->required();
  sstart->add_option("--task", start.task, "One of the tree's tasks (gemctl tree show)")
      ->required();
  sstart->add_option("--method", start.method,
                     "Search method (default: gemd's; gemctl info lists them, docs/SEARCH.md "
                     "describes them)");
  sstart->add_option("--queries-per-model,-N", start.queries_per_model,
                     "Average queries per model N; budget = N x models (default: gemd's, "
                     "gemctl info)");
  sstart->add_option("--seed", start.seed, "Seed of every random choice (default 0)");
  sstart->add_option("--executor", start.executor,
                     "Where the evaluations run: local (gemd's devices) or slurm (workers on the "
                     "cluster, docs/CLUSTER.md); default: gemd's (gemctl info)");
  sstart->add_flag("--wait", start.wait,
                   "Follow the search with a progress bar and print its result when done");
  sstart->callback([&] { run = [&] { return SearchStart(g, start); }; });
  uint64_t job = 0;
  bool resume_wait = false;
  auto job_cmd = [&](const char* name, const char* help, std::function<int()> fn) {
    auto* s = search->add_subcommand(name, help);
    s->add_option("job", job, "Job id")->required();
    s->callback([&, fn] { run = fn; });
    return s;
  };
  job_cmd("status", "A job's state, progress and evaluations",
          [&] { return SearchStatus(g, job); });
  job_cmd("watch", "Follow a job with a progress bar until it ends",
          [&] { return SearchWatch(g, job); });
  job_cmd("cancel", "Cancel a queued or running job", [&] { return SearchCancel(g, job); });
  job_cmd("result", "The chosen model, confidence and rounds of a finished job",
          [&] { return SearchResult(g, job); });
  job_cmd("resume",
          "Run an interrupted (or cancelled, failed) job again; cached evaluations are reused",
          [&] { return SearchResume(g, job, resume_wait); })
      ->add_flag("--wait", resume_wait, "Follow it and print the result");
  job_cmd("report",
          "Write the HTML report of a finished search: the tree atlas, popularity against "
          "accuracy with the hidden gems, the rounds, found against popular (docs/REPORT.md)",
          [&] { return SearchReport(g, job, report); })
      ->add_option("--out,-o", report.out, "HTML file to write (default: search-<id>.html)");
  search->get_subcommand("report")
      ->add_option("--gem-margin", report.gem_margin,
                   "A hidden gem beats the most popular model by more than this accuracy "
                   "(a fraction; default 0.05)")
      ->check(CLI::Range(0.0, 1.0));
  std::string list_user, list_state;
  auto* slist = search->add_subcommand("list", "List jobs, newest first");
  slist->add_option("--user", list_user, "Only jobs started by this user");
  slist->add_option(
      "--state", list_state,
      "Only jobs in this state (queued, running, done, failed, cancelled, interrupted)");
  slist->callback([&] { run = [&] { return SearchList(g, list_user, list_state); }; });

  auto* cache = app.add_subcommand("cache", "The shared result cache");
  cache->require_subcommand(1);
  cache->add_subcommand("stats", "Counts of cached results, per task")->callback([&] {
    run = [&] { return CacheStats(g); };
  });
  std::string ex_tree, ex_task, ex_out;
  uint32_t ex_variant = 0;
  auto* cexp =
      cache->add_subcommand("export", "Export a task's cached results as a models x queries CSV");
  cexp->add_option("--tree", ex_tree, "Tree")->required();
  cexp->add_option("--task", ex_task, "Task")->required();
  cexp->add_option("--out,-o", ex_out, "Output file (default: stdout)");
  cexp->add_option("--variant", ex_variant,
                   "Model trees: the prompt variant, 0 without a system prompt (default), 1 with")
      ->check(CLI::Range(0, 1));
  cexp->callback(
      [&] { run = [&] { return CacheExport(g, ex_tree, ex_task, ex_variant, ex_out); }; });
  CacheImportArgs imp;
  auto* cimp = cache->add_subcommand(
      "import",
      "Import results: our CSV (as exported) or an lm-evaluation-harness samples_*.jsonl");
  cimp->add_option("file", imp.file, "File to import")->required()->check(CLI::ExistingFile);
  cimp->add_option("--tree", imp.tree, "Tree the results belong to")->required();
  cimp->add_option("--task", imp.task, "Task the results answer")->required();
  cimp->add_option("--format", imp.format, "csv or lm-eval (default csv)")
      ->check(CLI::IsMember({"csv", "lm-eval"}));
  cimp->add_option("--model", imp.model, "lm-eval: index of the tree's model the samples are from");
  cimp->add_option("--variant", imp.variant,
                   "Model trees: the prompt variant of the results (0 or 1, default 0)")
      ->check(CLI::Range(0, 1));
  cimp->callback([&] { run = [&] { return CacheImport(g, imp); }; });

  std::string key_name, key_dir;
  auto* cluster = app.add_subcommand("cluster", "The slurm executor (docs/CLUSTER.md)");
  cluster->require_subcommand(1);
  cluster->add_subcommand("status", "Workers (node, GPU, device, tree), worker jobs and counters")
      ->callback([&] { run = [&] { return ClusterStatus(g); }; });

  auto* keygen = app.add_subcommand(
      "keygen", "Make a CURVE key pair NAME.key (secret) and NAME.pub (public) for tcp access");
  keygen->add_option("name", key_name, "Key name (gemd records it as the user of your searches)")
      ->required();
  keygen->add_option("--dir", key_dir, "Directory to write to (default: .)");
  keygen->callback([&] { run = [&] { return Keygen(key_name, key_dir); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return run ? run() : 2;
}
