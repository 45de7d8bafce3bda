// Copyright the gem authors. The CPU backend's matmul: y = x w^T for row-major x and a typed
// weight w (gem/backend.h's Weight).
#ifndef GEM_ENGINE_GEMM_H_
#define GEM_ENGINE_GEMM_H_

#include "gem/backend.h"

namespace gem {

// For each job: y[m x w.rows] (+)= x[m x k] * w^T, k = w.cols, on up to `threads` threads. The
// jobs share x (q/k/v; gate/up): its quantised form is made once per activation format.
//
// Batch invariance by construction: every y[i, j] is one dot product of row i of x with row j of
// w, in an order fixed by the weight type and the CPU's instruction set (gemm_kernels.h), never by
// m, the other rows, the tiling or the thread count. A row therefore gets bit-identical results
// whether it is computed alone or among other rows - the property generation needs so that
// batching never changes greedy ids. (OpenBLAS does not give this: it switches kernels with the
// matrix size, so a row's result depends on how many rows share the call.)
//
// Thread-safety: may be called from several threads at once (scratch space is per thread).
void GemmNT(const float* x, int m, const MatmulJob* jobs, int num_jobs, int threads);

// Which kernels GemmNT uses on this CPU: "avx512+vnni", "avx512", "avx2" or "generic".
const char* GemmKernelName();

}  // namespace gem

#endif  // GEM_ENGINE_GEMM_H_
