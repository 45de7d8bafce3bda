// Copyright the gem authors. Embedding lookup: x[r, :] = table[ids[r], :] as f32, for a table
// [vocab, hidden] of type wtype (gem::ops::WeightType). Device pointers. An id outside
// [0, vocab) writes a row of NaN (the backend checks ids on the host before it gets here).
#pragma once
#include <cuda_runtime.h>
#include <stdint.h>

cudaError_t gem_cuda_embed(const void* table, int wtype, int vocab, const int32_t* ids, int rows,
                           int hidden, float* x, cudaStream_t stream);
