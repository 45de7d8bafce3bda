// Copyright the gem authors. The delta and LoRA kernels of kernels/ against their CPU twins in
// libgem/src/tree/ops (which the CPU tests check against plain reference loops). kernels/ is
// compiled with --fmad=false so that the twins' unfused arithmetic is the kernels': every
// kernel must agree bit for bit, except the BGMV shrink, whose warp splits each dot product in
// 32 strided partials (the twin sums in order), which must agree to rounding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "bgmv_expand.cuh"
#include "bgmv_shrink.cuh"
#include "delta_int8.cuh"
#include "delta_sign.cuh"
#include "delta_ulp.cuh"
#include "delta_xor.cuh"
#include "delta_xor_words.cuh"
#include "gpu/check.h"
#include "kernel_math/delta_math.h"
#include "kernel_math/word_math.h"
#include "lora_merge.cuh"
#include "tree/ops/delta_ops.h"
#include "tree/ops/lora_ops.h"

namespace gem::gpucheck {
namespace {

// Number of elements whose bits differ.
size_t BitDiffs(const std::vector<float>& a, const std::vector<float>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], 4) != 0;
  return n;
}

Outcome Verdict(size_t diffs, size_t n) {
  const std::string d =
      std::to_string(diffs) + " of " + std::to_string(n) + " differ from the twin";
  return diffs == 0 ? Pass(d) : Fail(d);
}

Outcome XorCheck(const Env& env, int kind) {
  std::mt19937 rng(env.seed + 200 + kind);
  const size_t n = 300007;
  const int wb = ops::word_bytes(kind);
  std::normal_distribution<float> g(0.0f, 0.05f);
  std::vector<float> base(n);
  for (float& b : base) b = ops::word_to_f32(ops::f32_to_word(g(rng), kind), kind);
  std::vector<uint8_t> planes(n * wb);
  for (size_t i = 0; i < planes.size(); ++i) {
    const size_t plane = i / n;  // low planes change often, high ones rarely (as fine-tunes do)
    planes[i] = rng() % (plane + 1 == static_cast<size_t>(wb) ? 64 : 2) == 0
                    ? static_cast<uint8_t>(rng())
                    : 0;
  }
  DeviceArray<float> dbase(base), dout(n);
  DeviceArray<uint8_t> dplanes(planes);
  CudaOk(gem_cuda_delta_xor_apply(dbase.get(), dplanes.get(), n, kind, dout.get(), nullptr),
         "gem_cuda_delta_xor_apply");
  std::vector<float> twin(n);
  ops::XorApply(base.data(), planes.data(), n, kind, twin.data());
  return Verdict(BitDiffs(dout.Download(), twin), n);
}

// The same delta on the base's stored words (what a bf16 base on a GPU takes).
Outcome XorWordsCheck(const Env& env, int kind) {
  std::mt19937 rng(env.seed + 205 + kind);
  const size_t n = 200003;
  const int wb = ops::word_bytes(kind);
  std::vector<uint8_t> base(n * wb), planes(n * wb);
  for (auto& b : base) b = static_cast<uint8_t>(rng());
  for (auto& p : planes) p = rng() % 3 == 0 ? static_cast<uint8_t>(rng()) : 0;
  DeviceArray<uint8_t> dbase(base), dplanes(planes), dout(base.size());
  CudaOk(gem_cuda_delta_xor_words(dbase.get(), dplanes.get(), n, kind, dout.get(), nullptr),
         "gem_cuda_delta_xor_words");
  std::vector<uint8_t> twin(base.size());
  ops::XorApplyWords(base.data(), planes.data(), n, kind, twin.data());
  const auto got = dout.Download();
  size_t diffs = 0;
  for (size_t i = 0; i < n; ++i) diffs += std::memcmp(&got[i * wb], &twin[i * wb], wb) != 0;
  return Verdict(diffs, n);
}

// Random "ulp" frames as the writer lays them out (docs/DELTA_FORMAT.md, version 3), back to
// back: frames of 1, 2, 1023-1025 and 4097 elements (the kernel's 1024-element tiles: one, two
// and five blocks), a tensor of three full 65536-element frames and a partial last one, a frame
// with no entries and one whose every element is listed. Words move by a few ulps (f32 words by
// thousands, as f32 fine-tunes do), 2% jump to a random word (high bytes: entries), and the first
// and the last element of every frame jump (entries at index 0 and m - 1).
struct UlpFrames {
  int kind, wb;
  std::vector<size_t> m, first, at, bytes;  // per frame: elements, first element, blob offset
  std::vector<uint8_t> base, ft, blob;      // words (wb bytes each) and the frames
  size_t n = 0, entries = 0;
  UlpFrames(int kind_, std::mt19937& rng) : kind(kind_), wb(ops::word_bytes(kind_)) {
    const size_t ms[] = {1, 2, 1023, 1024, 1025, 4097, 65536, 65536, 65536, 12345, 3000, 300};
    std::normal_distribution<float> w(0.0f, 0.05f);
    const int spread = kind == ops::kWordF32 ? 3000 : 6;
    for (size_t f = 0; f < std::size(ms); ++f) {
      const bool none = f == 10, all = f == 11;
      first.push_back(n);
      m.push_back(ms[f]);
      at.push_back(blob.size());
      std::vector<uint8_t> lo(ms[f]), list;
      for (size_t i = 0; i < ms[f]; ++i) {
        const uint32_t b = ops::f32_to_word(w(rng), kind);
        uint32_t z;
        do {
          uint32_t f_word =
              (b + static_cast<uint32_t>(static_cast<int>(rng() % (2 * spread + 1)) - spread)) &
              ops::word_mask(wb);
          const bool jump = all || (!none && (rng() % 50 == 0 || i == 0 || i + 1 == ms[f]));
          if (jump) f_word = rng() & ops::word_mask(wb);
          z = ops::ulp_encode_word(b, f_word, wb);
          if (none) z &= 0xffu;  // no entries: every step within the low byte
          if (!jump || (z >> 8) != 0) {
            const uint32_t fw = ops::ulp_decode_word(b, z, wb);
            for (int p = 0; p < wb; ++p) {
              base.push_back(static_cast<uint8_t>(b >> (8 * p)));
              ft.push_back(static_cast<uint8_t>(fw >> (8 * p)));
            }
            break;
          }
        } while (true);  // a jump must have high bytes (an entry): draw again until it has
        lo[i] = static_cast<uint8_t>(z);
        if ((z >> 8) != 0) {
          list.push_back(static_cast<uint8_t>(i));
          list.push_back(static_cast<uint8_t>(i >> 8));
          for (int p = 1; p < wb; ++p) list.push_back(static_cast<uint8_t>(z >> (8 * p)));
          ++entries;
        }
      }
      blob.insert(blob.end(), lo.begin(), lo.end());
      blob.insert(blob.end(), list.begin(), list.end());
      bytes.push_back(blob.size() - at.back());
      n += ms[f];
    }
  }
  std::string Summary() const {
    return std::to_string(m.size()) + " frames, " + std::to_string(n) + " elements, " +
           std::to_string(entries) + " entries";
  }
};

// gem_cuda_delta_ulp_apply (f32 values, words == false) or gem_cuda_delta_ulp_words, out of place
// and in place, frame by frame, against the twin (ops::UlpApplyFrame / UlpApplyFrameWords), whose
// own result is first compared with the fine-tune's words.
Outcome UlpCheck(const Env& env, int kind, bool words) {
  std::mt19937 rng(env.seed + 260 + kind + (words ? 10 : 0));
  const UlpFrames fr(kind, rng);
  const size_t n = fr.n, wb = fr.wb;
  std::vector<float> vbase(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t b = 0;
    std::memcpy(&b, &fr.base[i * wb], wb);
    vbase[i] = ops::word_to_f32(b, kind);
  }
  // The twins, out of place and in place.
  std::vector<uint8_t> twin_w(n * wb), twin_w_in = fr.base;
  std::vector<float> twin_v(n), twin_v_in = vbase;
  for (size_t f = 0; f < fr.m.size(); ++f) {
    const uint8_t* frame = fr.blob.data() + fr.at[f];
    const size_t o = fr.first[f], m = fr.m[f];
    bool ok = true;
    if (words) {
      ok &= ops::UlpApplyFrameWords(&fr.base[o * wb], frame, fr.bytes[f], m, kind, &twin_w[o * wb]);
      ok &= ops::UlpApplyFrameWords(&twin_w_in[o * wb], frame, fr.bytes[f], m, kind,
                                    &twin_w_in[o * wb]);
    } else {
      ok &= ops::UlpApplyFrame(&vbase[o], frame, fr.bytes[f], m, kind, &twin_v[o]);
      ok &= ops::UlpApplyFrame(&twin_v_in[o], frame, fr.bytes[f], m, kind, &twin_v_in[o]);
    }
    if (!ok) return Fail("the twin refused frame " + std::to_string(f) + " (a bug of the check)");
  }
  // The f32 values of the fine-tune's words (the bases are finite: f32_to_word returns them).
  std::vector<float> vft(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t f = 0;
    std::memcpy(&f, &fr.ft[i * wb], wb);
    vft[i] = ops::word_to_f32(f, kind);
  }
  if (words ? twin_w != fr.ft || twin_w_in != fr.ft
            : BitDiffs(twin_v, vft) != 0 || BitDiffs(twin_v_in, vft) != 0) {
    return Fail("the twin does not rebuild the fine-tune's words (" + fr.Summary() + ")");
  }
  const std::string what = fr.Summary() + ", twin exact";
  try {
    DeviceArray<uint8_t> dblob(fr.blob);
    size_t diffs = 0, diffs_in = 0;
    if (words) {
      DeviceArray<uint8_t> dbase(fr.base), dout(n * wb), din(fr.base);
      for (size_t f = 0; f < fr.m.size(); ++f) {
        const size_t o = fr.first[f] * wb;
        CudaOk(gem_cuda_delta_ulp_words(dbase.get() + o, dblob.get() + fr.at[f], fr.bytes[f],
                                        fr.m[f], kind, dout.get() + o, nullptr),
               "gem_cuda_delta_ulp_words");
        CudaOk(gem_cuda_delta_ulp_words(din.get() + o, dblob.get() + fr.at[f], fr.bytes[f], fr.m[f],
                                        kind, din.get() + o, nullptr),
               "gem_cuda_delta_ulp_words (in place)");
      }
      const auto got = dout.Download(), got_in = din.Download();
      for (size_t i = 0; i < n; ++i) {
        diffs += std::memcmp(&got[i * wb], &twin_w[i * wb], wb) != 0;
        diffs_in += std::memcmp(&got_in[i * wb], &twin_w[i * wb], wb) != 0;
      }
    } else {
      DeviceArray<float> dbase(vbase), dout(n), din(vbase);
      for (size_t f = 0; f < fr.m.size(); ++f) {
        const size_t o = fr.first[f];
        CudaOk(gem_cuda_delta_ulp_apply(dbase.get() + o, dblob.get() + fr.at[f], fr.bytes[f],
                                        fr.m[f], kind, dout.get() + o, nullptr),
               "gem_cuda_delta_ulp_apply");
        CudaOk(gem_cuda_delta_ulp_apply(din.get() + o, dblob.get() + fr.at[f], fr.bytes[f], fr.m[f],
                                        kind, din.get() + o, nullptr),
               "gem_cuda_delta_ulp_apply (in place)");
      }
      diffs = BitDiffs(dout.Download(), twin_v);
      diffs_in = BitDiffs(din.Download(), twin_v);
    }
    const std::string d = what + ": " + std::to_string(diffs) + " of " + std::to_string(n) +
                          " differ from the twin, " + std::to_string(diffs_in) + " in place";
    return diffs == 0 && diffs_in == 0 ? Pass(d) : Fail(d);
  } catch (const CheckError& e) {
    throw CheckError(what + "; device: " + e.what());
  }
}

// The entry points' argument checks (no device work: they also hold without a GPU).
Outcome UlpArgsCheck(const Env&) {
  uint8_t frame[8] = {};
  float v[4] = {};
  uint16_t w[4] = {};
  struct Case {
    const char* what;
    cudaError_t got;
    cudaError_t want;
  } cases[] = {
      {"m past 65536", gem_cuda_delta_ulp_apply(v, frame, 70000, 65537, ops::kWordBF16, v, nullptr),
       cudaErrorInvalidValue},
      {"frame shorter than m", gem_cuda_delta_ulp_apply(v, frame, 3, 4, ops::kWordBF16, v, nullptr),
       cudaErrorInvalidValue},
      {"a partial entry", gem_cuda_delta_ulp_words(w, frame, 4 + 2, 4, ops::kWordF16, w, nullptr),
       cudaErrorInvalidValue},
      {"3 bytes of a 5-byte f32 entry",
       gem_cuda_delta_ulp_words(w, frame, 4 + 3, 4, ops::kWordF32, w, nullptr),
       cudaErrorInvalidValue},
      {"an unknown kind", gem_cuda_delta_ulp_words(w, frame, 4, 4, 7, w, nullptr),
       cudaErrorInvalidValue},
      {"a null base", gem_cuda_delta_ulp_apply(nullptr, frame, 4, 4, ops::kWordBF16, v, nullptr),
       cudaErrorInvalidValue},
      {"an empty frame",
       gem_cuda_delta_ulp_words(nullptr, nullptr, 0, 0, ops::kWordBF16, nullptr, nullptr),
       cudaSuccess},
  };
  for (const Case& c : cases) {
    if (c.got != c.want) {
      return Fail(std::string(c.what) + ": " + cudaGetErrorName(c.got) + ", want " +
                  cudaGetErrorName(c.want));
    }
  }
  return Pass(std::to_string(std::size(cases)) + " argument cases answered as documented");
}

Outcome Int8Check(const Env& env) {
  std::mt19937 rng(env.seed + 210);
  const size_t rows = 333, cols = 1001;
  const auto base = RandomFloats(rows * cols, rng, 0.05f);
  const auto scales = RandomFloats(rows, rng, 0.001f);
  std::vector<int8_t> q(rows * cols);
  for (auto& v : q) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  DeviceArray<float> dbase(base), dscales(scales), dout(base.size());
  DeviceArray<int8_t> dq(q);
  CudaOk(gem_cuda_delta_int8_apply(dbase.get(), dq.get(), dscales.get(), rows, cols, dout.get(),
                                   nullptr),
         "gem_cuda_delta_int8_apply");
  std::vector<float> twin(base.size());
  ops::Int8Apply(base.data(), q.data(), scales.data(), rows, cols, twin.data());
  return Verdict(BitDiffs(dout.Download(), twin), twin.size());
}

Outcome SignCheck(const Env& env) {
  std::mt19937 rng(env.seed + 220);
  const size_t rows = 257, cols = 1000;  // cols not a multiple of 32
  const auto base = RandomFloats(rows * cols, rng, 0.05f);
  const auto scales = RandomFloats(rows, rng, 0.001f);
  std::vector<uint32_t> bits(rows * ops::sign_words_per_row(cols));
  for (auto& b : bits) b = static_cast<uint32_t>(rng());
  DeviceArray<float> dbase(base), dscales(scales), dout(base.size());
  DeviceArray<uint32_t> dbits(bits);
  CudaOk(gem_cuda_delta_sign_apply(dbase.get(), dbits.get(), dscales.get(), rows, cols, dout.get(),
                                   nullptr),
         "gem_cuda_delta_sign_apply");
  std::vector<float> twin(base.size());
  ops::SignApply(base.data(), bits.data(), scales.data(), rows, cols, twin.data());
  return Verdict(BitDiffs(dout.Download(), twin), twin.size());
}

Outcome MergeCheck(const Env& env) {
  std::mt19937 rng(env.seed + 230);
  const int out = 200, in = 300, rank = 16;
  const auto w = RandomFloats(static_cast<size_t>(out) * in, rng, 0.05f);
  const auto a = RandomFloats(static_cast<size_t>(rank) * in, rng, 0.05f);
  const auto b = RandomFloats(static_cast<size_t>(out) * rank, rng, 0.05f);
  DeviceArray<float> dw(w), da(a), db(b), dm(w.size());
  CudaOk(gem_cuda_lora_merge(dw.get(), da.get(), db.get(), out, in, rank, 2.0f, dm.get(), nullptr),
         "gem_cuda_lora_merge");
  std::vector<float> twin(w.size());
  ops::LoraMerge(w.data(), a.data(), b.data(), out, in, rank, 2.0f, twin.data());
  return Verdict(BitDiffs(dm.Download(), twin), twin.size());
}

// Three adapters of different ranks; rows mixing them and rows without one (-1).
struct Adapters {
  std::vector<std::vector<float>> a, b;
  std::vector<std::unique_ptr<DeviceArray<float>>> da, db;
  std::vector<ops::BgmvSlot> host, dev;
  int max_rank = 0;
  Adapters(int in, int out, std::mt19937& rng) {
    const int ranks[] = {4, 16, 8};
    for (int r : ranks) {
      a.push_back(RandomFloats(static_cast<size_t>(r) * in, rng, 0.05f));
      b.push_back(RandomFloats(static_cast<size_t>(out) * r, rng, 0.05f));
      da.push_back(std::make_unique<DeviceArray<float>>(a.back()));
      db.push_back(std::make_unique<DeviceArray<float>>(b.back()));
      const float scale = 2.0f / static_cast<float>(r);
      host.push_back({a.back().data(), b.back().data(), r, scale});
      dev.push_back({da.back()->get(), db.back()->get(), r, scale});
      max_rank = std::max(max_rank, r);
    }
  }
};

Outcome ShrinkCheck(const Env& env) {
  std::mt19937 rng(env.seed + 240);
  const int rows = 37, in = 576, out = 100;
  Adapters ad(in, out, rng);
  std::vector<int32_t> slot(rows);
  for (auto& s : slot) s = static_cast<int32_t>(rng() % 4) - 1;
  const auto x = RandomFloats(static_cast<size_t>(rows) * in, rng);
  DeviceArray<float> dx(x), dv(static_cast<size_t>(rows) * ad.max_rank);
  DeviceArray<int32_t> dslot(slot);
  DeviceArray<ops::BgmvSlot> dslots(ad.dev);
  CudaOk(gem_cuda_bgmv_shrink(dx.get(), rows, in, dslot.get(), dslots.get(), 3, ad.max_rank,
                              dv.get(), nullptr),
         "gem_cuda_bgmv_shrink");
  std::vector<float> twin(dv.size());
  ops::BgmvShrink(x.data(), rows, in, slot.data(), ad.host.data(), 3, ad.max_rank, twin.data());
  const auto got = dv.Download();
  Diff d;
  d.Add(got.data(), twin.data(), got.size());
  const std::string detail = "vs twin (warp-split sums): " + d.Summary();
  return d.max_rel <= 1e-5 ? Pass(detail) : Fail(detail);
}

Outcome ExpandCheck(const Env& env) {
  std::mt19937 rng(env.seed + 250);
  const int rows = 37, in = 64, out = 1000;
  Adapters ad(in, out, rng);
  std::vector<int32_t> slot(rows);
  for (auto& s : slot) s = static_cast<int32_t>(rng() % 4) - 1;
  const auto v = RandomFloats(static_cast<size_t>(rows) * ad.max_rank, rng);
  const auto y0 = RandomFloats(static_cast<size_t>(rows) * out, rng);
  DeviceArray<float> dv(v), dy(y0);
  DeviceArray<int32_t> dslot(slot);
  DeviceArray<ops::BgmvSlot> dslots(ad.dev);
  CudaOk(gem_cuda_bgmv_expand(dv.get(), rows, out, dslot.get(), dslots.get(), 3, ad.max_rank,
                              dy.get(), nullptr),
         "gem_cuda_bgmv_expand");
  std::vector<float> twin = y0;
  ops::BgmvExpand(v.data(), rows, out, slot.data(), ad.host.data(), 3, ad.max_rank, twin.data());
  return Verdict(BitDiffs(dy.Download(), twin), twin.size());
}

}  // namespace

void AddTreeKernelChecks(std::vector<Check>* out) {
  out->push_back(
      {"kernels.delta_xor.bf16", [](const Env& e) { return XorCheck(e, ops::kWordBF16); }});
  out->push_back(
      {"kernels.delta_xor.f16", [](const Env& e) { return XorCheck(e, ops::kWordF16); }});
  out->push_back(
      {"kernels.delta_xor.f32", [](const Env& e) { return XorCheck(e, ops::kWordF32); }});
  out->push_back({"kernels.delta_xor_words.bf16",
                  [](const Env& e) { return XorWordsCheck(e, ops::kWordBF16); }});
  out->push_back({"kernels.delta_xor_words.f16",
                  [](const Env& e) { return XorWordsCheck(e, ops::kWordF16); }});
  out->push_back({"kernels.delta_xor_words.f32",
                  [](const Env& e) { return XorWordsCheck(e, ops::kWordF32); }});
  for (const bool words : {false, true}) {
    const std::string name = words ? "kernels.delta_ulp_words." : "kernels.delta_ulp.";
    for (const auto& [kind, suffix] :
         {std::pair{ops::kWordBF16, "bf16"}, {ops::kWordF16, "f16"}, {ops::kWordF32, "f32"}}) {
      out->push_back(
          {name + suffix, [kind, words](const Env& e) { return UlpCheck(e, kind, words); }});
    }
  }
  out->push_back({"kernels.delta_ulp.args", UlpArgsCheck});
  out->push_back({"kernels.delta_int8", Int8Check});
  out->push_back({"kernels.delta_sign", SignCheck});
  out->push_back({"kernels.lora_merge", MergeCheck});
  out->push_back({"kernels.bgmv_shrink", ShrinkCheck});
  out->push_back({"kernels.bgmv_expand", ExpandCheck});
}

}  // namespace gem::gpucheck
