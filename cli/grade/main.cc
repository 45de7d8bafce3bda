// Copyright the gem authors. gem-grade: check a grader on one output.
//
//   gem-grade --task gsm8k --query gsm8k/17 --output answer.txt
//   gem-grade --task mbpp --query mbpp/11 --output - --json < solution.txt
//
// The output is cut at the query's stop strings and graded by GradeOutput, as gemd's engine
// evaluator does; MBPP code runs in the same sandbox. Exit status: 0 correct, 1 incorrect,
// 2 usage or setup error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gem/grader.h"
#include "gem/prompt.h"
#include "gem/task.h"

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "gem-grade: %s\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Grade one model output for one query of a task, exactly as gemd would (MBPP code runs in "
      "the sandbox), and print the verdict and its reason."};
  std::string task_name, query_key, output_path, data_dir;
  gem::TaskOptions opts;
  bool json = false, show = false, no_ns = false, other_uid = false;
  std::string sandbox_socket;
  std::vector<std::string> hide;
  app.add_option("--task", task_name,
                 "Task: gsm8k, arc_challenge, mmlu, winogrande, mbpp, routerbench, or a custom "
                 "task file (*.jsonl, docs/TASKS.md)")
      ->required();
  app.add_option("--query", query_key,
                 "Query: its id (e.g. gsm8k/17, mmlu/anatomy/3, mbpp/11), its digest or a "
                 "unique prefix of at least 8 hex digits, or @N for position N in the task order")
      ->required();
  app.add_option("--output", output_path, "File holding the model's output ('-' for stdin)");
  app.add_option("--data-dir", data_dir,
                 "Folder of the benchmark files (default: $GEM_TASKS_DIR or " +
                     gem::DefaultTasksDir() + ")");
  app.add_option("--seed", opts.seed, "Task order seed (routerbench: also its sample)")
      ->default_val(0);
  app.add_option("--size", opts.size, "Keep the first N queries of the order (routerbench: 2500)")
      ->default_val(0);
  app.add_option("--max-new-tokens", opts.max_new_tokens,
                 "Override the generation budget (changes the query digest)")
      ->default_val(0);
  app.add_option("--hide", hide, "Extra path the sandboxed code must not see (repeatable)");
  app.add_flag("--no-namespaces", no_ns,
               "Run MBPP code without Linux namespaces (the fallback sandbox)");
  app.add_option("--sandbox-socket", sandbox_socket,
                 "Run MBPP code in the grader service at this socket (systemd/gem-sandbox.socket) "
                 "instead of a child of gem-grade");
  app.add_flag("--require-other-uid", other_uid,
               "Refuse to run MBPP code under gem-grade's own uid (as gemd does)");
  app.add_flag("--json", json, "Print one JSON object instead of text");
  app.add_flag("--show", show, "Also print the query: prompt, reference, grader, budget");
  app.footer("Exit status: 0 correct, 1 incorrect, 2 usage or setup error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (output_path.empty() && !show) return Fail("--output FILE is required (or --show)");
  opts.data_dir = data_dir;

  auto task = gem::LoadTask(task_name, opts);
  if (!task.ok()) return Fail(task.status().ToString());
  auto idx = (*task)->Find(query_key);
  if (!idx.ok()) return Fail(idx.status().ToString());
  const gem::Query& q = (*task)->query(*idx);

  if (show && !json) {
    std::printf("query:     %s (digest %s)\n", q.id.c_str(), q.digest.Hex().c_str());
    std::printf("grader:    %s %s\n", q.grader.name.c_str(), q.grader.params.c_str());
    std::printf("budget:    %u new tokens\n", q.max_new_tokens);
    std::printf("reference: %s\n", q.reference.c_str());
    std::printf("--- user prompt ---\n%s\n--- end ---\n", q.user.c_str());
  }
  if (output_path.empty()) return 0;

  std::string output;
  if (output_path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    output = ss.str();
  } else {
    std::ifstream in(output_path, std::ios::binary);
    if (!in) return Fail(output_path + ": cannot open");
    std::ostringstream ss;
    ss << in.rdbuf();
    output = ss.str();
  }
  const std::string cut = gem::CutAtStop(output, q.stop);

  gem::SandboxHost host;
  host.hidden_paths = hide;
  host.use_namespaces = !no_ns;
  host.service_socket = sandbox_socket;
  host.require_other_uid = other_uid;
  auto grade = gem::GradeOutput(q, cut, host);
  if (!grade.ok()) return Fail(grade.status().ToString());

  if (json) {
    nlohmann::json j = {
        {"task", (*task)->name()},      {"query", q.id},
        {"digest", q.digest.Hex()},     {"grader", q.grader.name},
        {"correct", grade->correct},    {"reason", grade->reason},
        {"extracted", grade->extracted}, {"reference", q.reference},
        {"cut_at_stop", cut.size() != output.size()},
    };
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s: %s\n", grade->correct ? "correct" : "incorrect", grade->reason.c_str());
  }
  return grade->correct ? 0 : 1;
}
