// Copyright the gem authors. The block formats of gem/weight_types.h: dequantisation (gguf-py's
// arithmetic, bit for bit) and our reference quantisers.
//
// Compiled with -ffp-contract=off (CMakeLists.txt): gguf-py rounds after every multiply and add,
// and a fused multiply-add would round once, changing low bits.
#include "gem/weight_types.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "gem/safetensors.h"

namespace gem {
namespace {

struct Traits {
  const char* name;
  int block;
  int bytes;
};

constexpr Traits kTraits[kNumWeightTypes] = {
    {"f32", 1, 4},    {"f16", 1, 2},    {"bf16", 1, 2},   {"q8_0", 32, 34},   {"q4_0", 32, 18},
    {"q4_1", 32, 20}, {"q5_0", 32, 22}, {"q5_1", 32, 24}, {"q4_k", 256, 144}, {"q6_k", 256, 210},
};

inline float F16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return HalfToFloat(h);
}

inline void PutF16(uint8_t* p, float f) {
  const uint16_t h = FloatToHalf(f);
  std::memcpy(p, &h, 2);
}

// Round half away from zero, as ggml's reference quantisers (roundf).
inline int Round(float x) { return static_cast<int>(std::round(x)); }

// ---- Q4_K scale packing: 8 six-bit scales and 8 six-bit mins in 12 bytes. ----
inline void Q4KScaleMin(const uint8_t* s, int j, int* sc, int* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void DequantQ4K(const uint8_t* p, float* y) {
  const float d = F16(p), dmin = F16(p + 2);
  const uint8_t* scales = p + 4;
  const uint8_t* qs = p + 16;
  for (int c = 0; c < 4; ++c) {  // 4 chunks of 64: sub-blocks 2c (low nibbles), 2c+1 (high)
    int sc0, m0, sc1, m1;
    Q4KScaleMin(scales, 2 * c, &sc0, &m0);
    Q4KScaleMin(scales, 2 * c + 1, &sc1, &m1);
    const float d0 = d * static_cast<float>(sc0), mm0 = dmin * static_cast<float>(m0);
    const float d1 = d * static_cast<float>(sc1), mm1 = dmin * static_cast<float>(m1);
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d0 * static_cast<float>(qs[32 * c + l] & 0xF) - mm0;
      y[64 * c + 32 + l] = d1 * static_cast<float>(qs[32 * c + l] >> 4) - mm1;
    }
  }
}

void DequantQ6K(const uint8_t* p, float* y) {
  const uint8_t* ql = p;
  const uint8_t* qh = p + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(p + 192);
  const float d = F16(p + 208);
  for (int h = 0; h < 2; ++h) {  // halves of 128
    for (int l = 0; l < 32; ++l) {
      const int q1 = ((ql[64 * h + l] & 0xF) | ((qh[32 * h + l] >> 0) & 3) << 4) - 32;
      const int q2 = ((ql[64 * h + 32 + l] & 0xF) | ((qh[32 * h + l] >> 2) & 3) << 4) - 32;
      const int q3 = ((ql[64 * h + l] >> 4) | ((qh[32 * h + l] >> 4) & 3) << 4) - 32;
      const int q4 = ((ql[64 * h + 32 + l] >> 4) | ((qh[32 * h + l] >> 6) & 3) << 4) - 32;
      const int is = 8 * h + l / 16;
      float* o = y + 128 * h;
      o[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
      o[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
      o[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
      o[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
    }
  }
}

// ---- Reference quantisers (ggml's formats; simple min/max scale choice). ----

// Q4_0 / Q5_0: symmetric around the value of largest magnitude, which maps to -2^(bits-1).
template <int kBits>
void QuantSymmetric(const float* x, uint8_t* p) {
  constexpr int kHalf = 1 << (kBits - 1), kMax = (1 << kBits) - 1;
  float amax = 0, vmax = 0;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      vmax = x[j];
    }
  }
  const float d = vmax / -static_cast<float>(kHalf);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutF16(p, d);
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) {
    q[j] = static_cast<uint8_t>(
        std::min(kMax, static_cast<int>(x[j] * id + static_cast<float>(kHalf) + 0.5f)));
  }
  uint8_t* qs = p + (kBits == 5 ? 6 : 2);
  for (int j = 0; j < 16; ++j) qs[j] = (q[j] & 0xF) | ((q[j + 16] & 0xF) << 4);
  if (kBits == 5) {
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    std::memcpy(p + 2, &qh, 4);
  }
}

// Q4_1 / Q5_1: [min, max] onto 0 .. 2^bits-1.
template <int kBits>
void QuantAffine(const float* x, uint8_t* p) {
  constexpr int kMax = (1 << kBits) - 1;
  float mn = x[0], mx = x[0];
  for (int j = 1; j < 32; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
  const float d = (mx - mn) / static_cast<float>(kMax);
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutF16(p, d);
  PutF16(p + 2, mn);
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) {
    q[j] = static_cast<uint8_t>(std::min(kMax, static_cast<int>((x[j] - mn) * id + 0.5f)));
  }
  uint8_t* qs = p + (kBits == 5 ? 8 : 4);
  for (int j = 0; j < 16; ++j) qs[j] = (q[j] & 0xF) | ((q[j + 16] & 0xF) << 4);
  if (kBits == 5) {
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    std::memcpy(p + 4, &qh, 4);
  }
}

void QuantQ8_0(const float* x, uint8_t* p) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  PutF16(p, d);
  for (int j = 0; j < 32; ++j) {
    p[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(Round(x[j] * id), -127, 127)));
  }
}

void QuantQ4K(const float* x, uint8_t* p) {
  float scale[8], negmin[8];
  float max_scale = 0, max_negmin = 0;
  for (int s = 0; s < 8; ++s) {
    float mn = 0, mx = x[32 * s];
    for (int l = 0; l < 32; ++l) {
      mn = std::min(mn, x[32 * s + l]);
      mx = std::max(mx, x[32 * s + l]);
    }
    scale[s] = (mx - mn) / 15.0f;
    negmin[s] = -mn;
    max_scale = std::max(max_scale, scale[s]);
    max_negmin = std::max(max_negmin, negmin[s]);
  }
  const float d = HalfToFloat(FloatToHalf(max_scale / 63.0f));
  const float dmin = HalfToFloat(FloatToHalf(max_negmin / 63.0f));
  PutF16(p, d);
  PutF16(p + 2, dmin);
  uint8_t ls[8], lm[8];
  for (int s = 0; s < 8; ++s) {
    // Round the scale up and the min up, so every value still fits in 0..15 after rounding.
    ls[s] = static_cast<uint8_t>(
        d > 0 ? std::clamp(static_cast<int>(std::ceil(scale[s] / d)), 0, 63) : 0);
    lm[s] = static_cast<uint8_t>(dmin > 0 ? std::clamp(Round(negmin[s] / dmin), 0, 63) : 0);
  }
  uint8_t* sc = p + 4;
  std::memset(sc, 0, 12);
  for (int j = 0; j < 4; ++j) {
    sc[j] = ls[j];
    sc[j + 4] = lm[j];
  }
  for (int j = 4; j < 8; ++j) {
    sc[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
    sc[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
    sc[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
  }
  uint8_t q[256];
  for (int s = 0; s < 8; ++s) {
    const float ds = d * static_cast<float>(ls[s]), ms = dmin * static_cast<float>(lm[s]);
    for (int l = 0; l < 32; ++l) {
      q[32 * s + l] =
          static_cast<uint8_t>(ds > 0 ? std::clamp(Round((x[32 * s + l] + ms) / ds), 0, 15) : 0);
    }
  }
  uint8_t* qs = p + 16;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
  }
}

void QuantQ6K(const float* x, uint8_t* p) {
  float scales[16];
  float max_scale = 0, amax_scale = 0;
  for (int s = 0; s < 16; ++s) {
    float amax = 0, vmax = 0;
    for (int l = 0; l < 16; ++l) {
      if (std::fabs(x[16 * s + l]) > amax) {
        amax = std::fabs(x[16 * s + l]);
        vmax = x[16 * s + l];
      }
    }
    scales[s] = vmax / -32.0f;
    if (std::fabs(scales[s]) > amax_scale) {
      amax_scale = std::fabs(scales[s]);
      max_scale = scales[s];
    }
  }
  uint8_t* ql = p;
  uint8_t* qh = p + 128;
  auto* sc = reinterpret_cast<int8_t*>(p + 192);
  if (amax_scale == 0) {
    std::memset(p, 0, 210);
    std::memset(ql, 0, 128);
    for (int l = 0; l < 64; ++l) qh[l] = 0xAA;  // q = 32 (value 0) everywhere
    return;
  }
  const float iscale = -128.0f / max_scale;
  const float d = HalfToFloat(FloatToHalf(1.0f / iscale));
  PutF16(p + 208, d);
  uint8_t q[256];
  for (int s = 0; s < 16; ++s) {
    sc[s] = static_cast<int8_t>(std::min(127, Round(iscale * scales[s])));
    const float ds = d * static_cast<float>(sc[s]);
    for (int l = 0; l < 16; ++l) {
      const int v = ds != 0 ? std::clamp(Round(x[16 * s + l] / ds), -32, 31) : 0;
      q[16 * s + l] = static_cast<uint8_t>(v + 32);
    }
  }
  for (int h = 0; h < 2; ++h) {
    const uint8_t* L = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      ql[64 * h + l] = static_cast<uint8_t>((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
      ql[64 * h + 32 + l] = static_cast<uint8_t>((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
      qh[32 * h + l] = static_cast<uint8_t>((L[l] >> 4) | ((L[l + 32] >> 4) << 2) |
                                            ((L[l + 64] >> 4) << 4) | ((L[l + 96] >> 4) << 6));
    }
  }
}

}  // namespace

const char* WeightTypeName(WeightType type) { return kTraits[static_cast<int>(type)].name; }

Result<WeightType> ParseWeightType(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int t = 0; t < kNumWeightTypes; ++t) {
    if (lower == kTraits[t].name) return static_cast<WeightType>(t);
  }
  return Status::InvalidArgument("weight type '" + std::string(name) + "'",
                                 "unknown (one of f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, "
                                 "q4_k, q6_k)");
}

int WeightTypeBlock(WeightType type) { return kTraits[static_cast<int>(type)].block; }
int WeightTypeBlockBytes(WeightType type) { return kTraits[static_cast<int>(type)].bytes; }
bool WeightTypeIsQuantized(WeightType type) { return WeightTypeBlock(type) > 1; }

size_t WeightRowBytes(WeightType type, int64_t cols) {
  const Traits& t = kTraits[static_cast<int>(type)];
  if (cols < 0 || cols % t.block != 0) return 0;
  return static_cast<size_t>(cols / t.block) * t.bytes;
}

void DequantizeRow(WeightType type, const void* src, int64_t n, float* dst) {
  const auto* p = static_cast<const uint8_t*>(src);
  switch (type) {
    case WeightType::kF32:
      std::memcpy(dst, p, static_cast<size_t>(n) * 4);
      return;
    case WeightType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = F16(p + 2 * i);
      return;
    case WeightType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, p + 2 * i, 2);
        dst[i] = BF16ToFloat(b);
      }
      return;
    case WeightType::kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 34) {
        const float d = F16(p);
        const auto* q = reinterpret_cast<const int8_t*>(p + 2);
        for (int j = 0; j < 32; ++j) dst[32 * b + j] = d * static_cast<float>(q[j]);
      }
      return;
    case WeightType::kQ4_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 18) {
        const float d = F16(p);
        for (int j = 0; j < 16; ++j) {
          dst[32 * b + j] = d * static_cast<float>((p[2 + j] & 0xF) - 8);
          dst[32 * b + j + 16] = d * static_cast<float>((p[2 + j] >> 4) - 8);
        }
      }
      return;
    case WeightType::kQ4_1:
      for (int64_t b = 0; b < n / 32; ++b, p += 20) {
        const float d = F16(p), m = F16(p + 2);
        for (int j = 0; j < 16; ++j) {
          dst[32 * b + j] = d * static_cast<float>(p[4 + j] & 0xF) + m;
          dst[32 * b + j + 16] = d * static_cast<float>(p[4 + j] >> 4) + m;
        }
      }
      return;
    case WeightType::kQ5_0:
    case WeightType::kQ5_1: {
      const bool affine = type == WeightType::kQ5_1;
      const int stride = affine ? 24 : 22;
      for (int64_t b = 0; b < n / 32; ++b, p += stride) {
        const float d = F16(p), m = affine ? F16(p + 2) : 0.0f;
        uint32_t qh;
        std::memcpy(&qh, p + (affine ? 4 : 2), 4);
        const uint8_t* qs = p + (affine ? 8 : 6);
        for (int j = 0; j < 32; ++j) {
          const int nib = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
          const int q = nib | static_cast<int>((qh >> j) & 1) << 4;
          dst[32 * b + j] = affine ? d * static_cast<float>(q) + m : d * static_cast<float>(q - 16);
        }
      }
      return;
    }
    case WeightType::kQ4_K:
      for (int64_t b = 0; b < n / 256; ++b) DequantQ4K(p + 144 * b, dst + 256 * b);
      return;
    case WeightType::kQ6_K:
      for (int64_t b = 0; b < n / 256; ++b) DequantQ6K(p + 210 * b, dst + 256 * b);
      return;
  }
}

void QuantizeRow(WeightType type, const float* src, int64_t n, void* dst) {
  auto* p = static_cast<uint8_t*>(dst);
  switch (type) {
    case WeightType::kF32:
      std::memcpy(p, src, static_cast<size_t>(n) * 4);
      return;
    case WeightType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToHalf(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      return;
    case WeightType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = FloatToBF16(src[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
      return;
    case WeightType::kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b) QuantQ8_0(src + 32 * b, p + 34 * b);
      return;
    case WeightType::kQ4_0:
      for (int64_t b = 0; b < n / 32; ++b) QuantSymmetric<4>(src + 32 * b, p + 18 * b);
      return;
    case WeightType::kQ4_1:
      for (int64_t b = 0; b < n / 32; ++b) QuantAffine<4>(src + 32 * b, p + 20 * b);
      return;
    case WeightType::kQ5_0:
      for (int64_t b = 0; b < n / 32; ++b) QuantSymmetric<5>(src + 32 * b, p + 22 * b);
      return;
    case WeightType::kQ5_1:
      for (int64_t b = 0; b < n / 32; ++b) QuantAffine<5>(src + 32 * b, p + 24 * b);
      return;
    case WeightType::kQ4_K:
      for (int64_t b = 0; b < n / 256; ++b) QuantQ4K(src + 256 * b, p + 144 * b);
      return;
    case WeightType::kQ6_K:
      for (int64_t b = 0; b < n / 256; ++b) QuantQ6K(src + 256 * b, p + 210 * b);
      return;
  }
}

}  // namespace gem
