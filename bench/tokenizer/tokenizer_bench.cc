// Copyright the gem authors. gem-tokenizer-bench: how long the real tokenizers take to load,
// and how fast they encode and decode.
//
//   gem-tokenizer-bench [--shared DIR] [--mb N]
//
// For each of llama-3-instruct, qwen3 and mistral-7b-v0.1 in DIR/data/tokenizers (default: the
// ../shared beside the checkout): load time of tokenizer.json + tokenizer_config.json (best of
// 3, wall clock and process CPU time), then Encode and Decode over N MB (default 4) of text made of
// llama.cpp's 46 test strings repeated, single thread. Prints one line per tokenizer.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gem/tokenizer.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string shared = GEM_SHARED_DIR;
  double mb = 4;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--shared") && i + 1 < argc) {
      shared = argv[++i];
    } else if (!std::strcmp(argv[i], "--mb") && i + 1 < argc) {
      mb = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--shared DIR] [--mb N]\n", argv[0]);
      return argv[i] == std::string("--help") ? 0 : 2;
    }
  }
  const std::string dir = shared + "/data/tokenizers";
  std::ifstream in(dir + "/llamacpp-vocab-tests/ggml-vocab-llama-bpe.gguf.inp");
  if (!in) {
    std::fprintf(stderr, "cannot read the test strings under %s\n", dir.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string sample = ss.str();
  std::string text;
  while (text.size() < mb * 1e6) text += sample;

  for (const char* name : {"llama-3-instruct", "qwen3", "mistral-7b-v0.1"}) {
    const std::string base = dir + "/" + name;
    double load = 1e9, load_cpu = 1e9;
    std::unique_ptr<gem::Tokenizer> tok;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      const std::clock_t c0 = std::clock();
      auto r =
          gem::Tokenizer::FromJsonFile(base + "/tokenizer.json", base + "/tokenizer_config.json");
      load = std::min(load, Seconds(t0));
      load_cpu = std::min(load_cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
      if (!r.ok()) {
        std::fprintf(stderr, "%s: %s\n", name, r.status().ToString().c_str());
        return 1;
      }
      tok = std::move(r).value();
    }
    auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok->Encode(text, false, true);
    const double enc = Seconds(t0);
    t0 = std::chrono::steady_clock::now();
    const std::string back = tok->Decode(ids);
    const double dec = Seconds(t0);
    std::printf(
        "%-17s load %5.0f ms (cpu %4.0f ms) | encode %5.2f MB/s %8.0f tok/s | decode %6.1f MB/s | "
        "%zu tokens, round trip %s\n",
        name, load * 1e3, load_cpu * 1e3, text.size() / enc / 1e6, ids.size() / enc,
        back.size() / dec / 1e6, ids.size(), back == text ? "exact" : "DIFFERS");
  }
  return 0;
}
