// Copyright the gem authors. gem-delta-bench: how fast a fine-tune delta is applied on the CPU,
// as a fraction of memcpy bandwidth over the same bytes, and how big each stored form is.
//
// Apply: one synthetic weight matrix (--rows x --cols, default 4096 x 4096, bf16 words) with a
// fine-tune-like change (every weight moved by N(0, --delta-std) then rounded to bf16). For each
// form, the CPU twin (the kernel's element math, one thread) is timed on already-decoded data,
// and so is the whole DeltaFile::Apply (zstd decompression included for ulp/xor) on 1 and on
// --threads threads, and Apply after Prefetch() (only the element pass left). "Bytes" are those
// the op must move: reads of the base (f32) and of the delta data, plus the f32 output; memcpy
// is timed (one thread) copying a buffer of half that size (it reads and writes it, so it moves
// the same bytes). Every ratio is against that one-thread memcpy; memcpy on --threads threads is
// printed for reference.
//
// The lossless form is written three times: "ulp" (DeltaWriteOptions::fast_apply, the default:
// format version 3), "xor" in frames (version 2, --frame-elements), and "xor" with one frame
// per tensor, which is how format version 1 stored it (the "before").
//
// Sizes: every fixture fine-tune of tests/fixtures/tree in every form, as a fraction of its
// checkpoint's tensor bytes, plus the synthetic matrix.
//
// Usage: gem-delta-bench [--rows N] [--cols N] [--delta-std X] [--reps N] [--threads T]
//                        [--frame-elements N] [--level L]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gem/delta.h"
#include "gem/safetensors.h"
#include "kernel_math/delta_math.h"
#include "tree/ops/delta_ops.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double BestSeconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

// Writes a one-tensor bf16 safetensors file.
void WriteSafetensors(const std::string& path, const std::string& name, size_t rows, size_t cols,
                      const std::vector<uint16_t>& words) {
  const std::string header = "{\"" + name + "\":{\"dtype\":\"BF16\",\"shape\":[" +
                             std::to_string(rows) + "," + std::to_string(cols) +
                             "],\"data_offsets\":[0," + std::to_string(words.size() * 2) + "]}}";
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out.write(reinterpret_cast<const char*>(words.data()), words.size() * 2);
}

// memcpy's rate (bytes moved per second) on `threads` threads, each copying its share.
double MemcpyGbps(size_t moved, int threads, int reps) {
  std::vector<char> src(moved / 2, 1), dst(moved / 2);
  const size_t share = src.size() / threads;
  const double s = BestSeconds(reps, [&] {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) {
      pool.emplace_back([&, t] { std::memcpy(&dst[t * share], &src[t * share], share); });
    }
    std::memcpy(dst.data(), src.data(), share);
    for (auto& th : pool) th.join();
  });
  return moved / s / 1e9;
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--rows N] [--cols N] [--delta-std X] [--reps N] [--threads T]\n"
               "          [--frame-elements N] [--level L]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  size_t rows = 4096, cols = 4096;
  double delta_std = 2e-4;
  int reps = 5, threads = 2, level = 3;
  uint32_t frame_elements = gem::DeltaWriteOptions().frame_elements;
  if (argc % 2 == 0) return Usage(argv[0]);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows")
      rows = std::stoul(argv[i + 1]);
    else if (a == "--cols")
      cols = std::stoul(argv[i + 1]);
    else if (a == "--delta-std")
      delta_std = std::stod(argv[i + 1]);
    else if (a == "--reps")
      reps = std::stoi(argv[i + 1]);
    else if (a == "--threads")
      threads = std::stoi(argv[i + 1]);
    else if (a == "--frame-elements")
      frame_elements = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (a == "--level")
      level = std::stoi(argv[i + 1]);
    else
      return Usage(argv[0]);
  }
  if (threads < 1 || frame_elements < 1) return Usage(argv[0]);
  namespace ops = gem::ops;
  const size_t n = rows * cols;
  std::mt19937 rng(1);
  std::normal_distribution<float> w(0.0f, 0.02f), d(0.0f, static_cast<float>(delta_std));
  std::vector<uint16_t> base_w(n), ft_w(n);
  std::vector<float> base(n), out(n);
  size_t changed = 0;
  for (size_t i = 0; i < n; ++i) {
    base_w[i] = static_cast<uint16_t>(ops::f32_to_bf16(w(rng)));
    base[i] = ops::bf16_to_f32(base_w[i]);
    ft_w[i] = static_cast<uint16_t>(ops::f32_to_bf16(base[i] + d(rng)));
    changed += ft_w[i] != base_w[i];
  }
  std::printf("synthetic %zu x %zu bf16 matrix, delta N(0, %g): %.1f%% of the words change\n", rows,
              cols, delta_std, 100.0 * changed / n);

  std::filesystem::path tmp = std::filesystem::temp_directory_path() / "gem-delta-bench";
  std::filesystem::create_directories(tmp);
  WriteSafetensors(tmp / "base.safetensors", "w", rows, cols, base_w);
  WriteSafetensors(tmp / "ft.safetensors", "w", rows, cols, ft_w);
  auto base_set = gem::SafetensorsSet::Open(tmp / "base.safetensors");
  auto ft_set = gem::SafetensorsSet::Open(tmp / "ft.safetensors");
  if (!base_set.ok() || !ft_set.ok()) {
    std::fprintf(stderr, "cannot open the synthetic checkpoints\n");
    return 1;
  }

  std::printf(
      "zstd level %d, %u elements per frame, Apply on 1 and %d threads; ratios: x memcpy "
      "on one thread\n",
      level, frame_elements, threads);
  std::printf("\n%-10s %10s %7s %7s %7s %10s %10s %10s %7s\n", "form", "bytes", "memcpy", "twin",
              "Apply", "Apply", "prefetched", "memcpy", "size of");
  std::printf("%-10s %10s %7s %7s %7s %10s %10s %10s %7s\n", "", "moved", "GB/s", "1 thr", "1 thr",
              (std::to_string(threads) + " thr").c_str(),
              (std::to_string(threads) + " thr").c_str(),
              (std::to_string(threads) + " thr").c_str(), "ft");
  struct Variant {
    gem::DeltaForm form;
    const char* label;
    uint32_t frame_elements;
    bool fast_apply = false;  // DeltaWriteOptions::fast_apply: the "ulp" encoding
  };
  const uint32_t one_frame = static_cast<uint32_t>(std::min<size_t>(n, uint32_t{1} << 31));
  for (const Variant& v : {Variant{gem::DeltaForm::kXor, "ulp", frame_elements, true},
                           Variant{gem::DeltaForm::kXor, "xor", frame_elements},
                           Variant{gem::DeltaForm::kXor, "xor 1fr", one_frame},
                           Variant{gem::DeltaForm::kInt8, "int8", frame_elements},
                           Variant{gem::DeltaForm::kSign, "sign", frame_elements}}) {
    const gem::DeltaForm form = v.form;
    const std::string path =
        (tmp / (std::string("synthetic.") + gem::DeltaFormName(form))).string();
    gem::DeltaWriteOptions wo;
    wo.zstd_level = level;
    wo.frame_elements = v.frame_elements;
    wo.fast_apply = v.fast_apply;
    wo.threads = 0;
    auto stats = gem::WriteDelta(**base_set, **ft_set, form, path, wo);
    // Applied long after registration in real use: let writeback finish first, so the kernel's
    // flusher threads do not share the cores with the timed applies.
    ::sync();
    auto file1 = stats.ok() ? gem::DeltaFile::Open(path, {.threads = 1}) : stats.status();
    auto file = stats.ok() ? gem::DeltaFile::Open(path, {.threads = threads}) : stats.status();
    if (!file.ok() || !file1.ok()) {
      std::fprintf(stderr, "%s\n", file.status().ToString().c_str());
      return 1;
    }
    double twin_s = 0;
    size_t moved = 0;
    if (form == gem::DeltaForm::kXor && v.fast_apply) {
      std::vector<uint8_t> planes(2 * n);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t z = ops::ulp_encode_word(base_w[i], ft_w[i], 2);
        planes[i] = z & 0xff;
        planes[n + i] = static_cast<uint8_t>(z >> 8);
      }
      moved = n * (4 + 2 + 4);
      twin_s = BestSeconds(reps, [&] {
        ops::UlpApply(base.data(), planes.data(), planes.data() + n, n, ops::kWordBF16, out.data());
      });
    } else if (form == gem::DeltaForm::kXor) {
      std::vector<uint8_t> planes(2 * n);
      for (size_t i = 0; i < n; ++i) {
        const uint16_t x = base_w[i] ^ ft_w[i];
        planes[i] = x & 0xff;
        planes[n + i] = x >> 8;
      }
      moved = n * (4 + 2 + 4);
      twin_s = BestSeconds(
          reps, [&] { ops::XorApply(base.data(), planes.data(), n, ops::kWordBF16, out.data()); });
    } else if (form == gem::DeltaForm::kInt8) {
      std::vector<int8_t> q(n);
      std::vector<float> scales(rows, 1e-5f);
      for (size_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(i * 7);
      moved = n * (4 + 1 + 4) + rows * 4;
      twin_s = BestSeconds(reps, [&] {
        ops::Int8Apply(base.data(), q.data(), scales.data(), rows, cols, out.data());
      });
    } else {
      std::vector<uint32_t> bits(rows * ops::sign_words_per_row(cols));
      for (auto& b : bits) b = static_cast<uint32_t>(rng());  // random signs, as real deltas
      std::vector<float> scales(rows, 1e-5f);
      moved = n * (4 + 4) + bits.size() * 4 + rows * 4;
      twin_s = BestSeconds(reps, [&] {
        ops::SignApply(base.data(), bits.data(), scales.data(), rows, cols, out.data());
      });
    }
    auto apply_seconds = [&](const gem::DeltaFile& f) {
      return BestSeconds(reps, [&] {
        if (!f.Apply(f.tensors().at(0), base.data(), out.data()).ok()) std::abort();
      });
    };
    const double apply1_s = apply_seconds(**file1);
    const double apply_s = apply_seconds(**file);
    if (!(*file)->Prefetch().ok()) std::abort();
    const double pre_s = apply_seconds(**file);
    (*file)->ReleasePrefetched();
    // The result is the fine-tune, exactly (xor, ulp) or within the form's error.
    if (form == gem::DeltaForm::kXor) {
      for (size_t i = 0; i < n; ++i) {
        if (static_cast<uint16_t>(ops::f32_to_bf16(out[i])) != ft_w[i]) std::abort();
      }
    }
    const double mc = MemcpyGbps(moved, 1, reps), mct = MemcpyGbps(moved, threads, reps);
    auto x = [&](double seconds) { return moved / seconds / 1e9 / mc; };
    std::printf("%-10s %10zu %7.2f %7.2f %7.2f %10.2f %10.2f %10.2f %6.1f%%\n", v.label, moved, mc,
                x(twin_s), x(apply1_s), x(apply_s), x(pre_s), mct / mc,
                100 * stats->size_fraction());
  }
  std::filesystem::remove_all(tmp);

  // Sizes of the fixture fine-tunes.
  const std::string fx = std::string(GEM_SOURCE_DIR) + "/tests/fixtures/tree";
  auto fbase = gem::SafetensorsSet::Open(fx + "/base");
  if (!fbase.ok()) {
    std::printf("\n(fixtures not found at %s: %s)\n", fx.c_str(),
                fbase.status().ToString().c_str());
    return 0;
  }
  std::printf("\nfixture fine-tunes (tests/fixtures/tree): stored size as %% of the fine-tune\n");
  std::printf("%-14s %10s %8s %8s %8s %8s   %s\n", "fine-tune", "bytes", "lossless", "xor", "int8",
              "sign", "rel Frobenius int8 / sign");
  std::printf("(lossless: the default writer, \"ulp\" where it pays; xor: fast_apply off)\n");
  std::filesystem::create_directories(tmp);
  for (const char* name : {"ft_math", "ft_code", "ft_chat_f16"}) {
    auto ft = gem::SafetensorsSet::Open(fx + "/" + name);
    if (!ft.ok()) continue;
    double frac[4] = {0, 0, 0, 0}, err[4] = {0, 0, 0, 0};
    uint64_t bytes = 0;
    int k = 0;
    for (gem::DeltaForm form : {gem::DeltaForm::kXor, gem::DeltaForm::kXor, gem::DeltaForm::kInt8,
                                gem::DeltaForm::kSign}) {
      gem::DeltaWriteOptions wo;
      wo.fast_apply = k == 0;
      auto s = gem::WriteDelta(**fbase, **ft, form, (tmp / "d").string(), wo);
      if (s.ok()) {
        frac[k] = s->size_fraction();
        err[k] = s->error.rel_frobenius;
        bytes = s->finetune_bytes;
      }
      ++k;
    }
    std::printf("%-14s %10llu %7.1f%% %7.1f%% %7.1f%% %7.1f%%   %.2e / %.2e\n", name,
                static_cast<unsigned long long>(bytes), 100 * frac[0], 100 * frac[1], 100 * frac[2],
                100 * frac[3], err[2], err[3]);
  }
  std::filesystem::remove_all(tmp);
  return 0;
}
