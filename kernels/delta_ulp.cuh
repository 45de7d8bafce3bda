// Copyright the gem authors. Lossless "ulp" delta (docs/DELTA_FORMAT.md, version 3), one frame
// at a time: `frame` is one frame of the tensor's blob as stored (m low bytes, then the sparse
// entries of a u16 index and the high bytes; frame_bytes in all, from the blob's frame table),
// base/out that frame's slice of the tensor (its m elements). The low-byte pass over the m
// elements, then the listed elements again with their high bytes; no zstd, nothing to decode.
// kind is a gem::ops::WordKind (the word the delta was taken on). Device pointers; out may
// alias base (each block reads its whole tile before it writes any of it). m <= 65536.
//
// The frame must have passed the reader's checks (gem::DeltaFile refuses a malformed frame at
// apply time: indices strictly increasing and below m): the kernel checks only its sizes
// (cudaErrorInvalidValue: frame_bytes < m, or not whole entries after the low bytes); an entry
// whose index is past m is skipped, never written.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

// f32 values (a base held as f32): out[i] = the fine-tune's value, as gem::ops::UlpApplyFrame.
cudaError_t gem_cuda_delta_ulp_apply(const float* base, const uint8_t* frame, size_t frame_bytes,
                                     size_t m, int kind, float* out, cudaStream_t stream);

// A base kept in its stored type (16-bit words for bf16/f16, 32-bit for f32, as
// gem_cuda_delta_xor_words): the fine-tune's own words, bit for bit, as
// gem::ops::UlpApplyFrameWords.
cudaError_t gem_cuda_delta_ulp_words(const void* base, const uint8_t* frame, size_t frame_bytes,
                                     size_t m, int kind, void* out, cudaStream_t stream);
