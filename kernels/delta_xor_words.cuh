// Copyright the gem authors. Lossless delta on a base kept in its stored type: out[i] =
// base[i] XOR the word gathered from byte `planes` (docs/DELTA_FORMAT.md), on 16-bit (bf16, f16)
// or 32-bit (f32) words, kind a gem::ops::WordKind. The fine-tune's own words come out, bit for
// bit, without a detour through f32. Device pointers; out may alias base. For a framed (version
// 2) tensor, call it per frame with that frame's slice of base/out and its planes (n = the
// frame's elements).
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

cudaError_t gem_cuda_delta_xor_words(const void* base, const uint8_t* planes, size_t n, int kind,
                                     void* out, cudaStream_t stream);
