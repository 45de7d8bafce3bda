// Copyright the gem authors. The CPU backend's GEMM: y = x w^T for row-major x and w.
#ifndef GEM_ENGINE_GEMM_H_
#define GEM_ENGINE_GEMM_H_

namespace gem {

// y[m x n] (+)= x[m x k] * w[n x k]^T, on up to `threads` threads.
//
// Batch invariance by construction: every y[i, j] is one dot product of row i of x with row j of
// w, accumulated in a fixed order (vector lanes over k, then a fixed horizontal sum) that does not
// depend on m, n, the tiling or the thread count. A row therefore gets bit-identical results
// whether it is computed alone or among other rows - the property generation needs so that
// batching never changes greedy ids. (OpenBLAS does not give this: it switches kernels with the
// matrix size, so a row's result depends on how many rows share the call.)
void GemmNT(const float* x, const float* w, float* y, int m, int n, int k, bool accumulate,
            int threads);

// Which kernel GemmNT uses on this CPU: "avx512", "avx2" or "generic".
const char* GemmKernelName();

}  // namespace gem

#endif  // GEM_ENGINE_GEMM_H_
