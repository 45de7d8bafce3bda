// Copyright the gem authors. Lossless delta: out = fine-tune weights from f32 base weights and
// the XOR byte planes of the stored words (docs/DELTA_FORMAT.md). Device pointers.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

// kind: 0 bf16, 1 f16, 2 f32 (gem::ops::WordKind). out may alias base.
cudaError_t gem_cuda_delta_xor_apply(const float* base, const uint8_t* planes, size_t n, int kind,
                                     float* out, cudaStream_t stream);
