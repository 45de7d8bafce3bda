// Copyright the gem authors. The CUDA staging backend (backend_cuda.h).
#include "engine/cuda/backend_cuda.h"

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "engine/cuda/add.cuh"
#include "engine/cuda/attention.cuh"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/embed.cuh"
#include "engine/cuda/matmul.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/silu_mul.cuh"
#include "kernel_math/engine_math.h"

namespace gem::cuda {
namespace {

struct DeviceState {
  std::mutex mu;
  bool tried = false;                // context creation attempted (guarded by mu)
  std::unique_ptr<CudaContext> ctx;  // guarded by mu
  Status error;                      // the first error; guarded by mu
  bool dead = false;                 // no context, or a sticky error: every op on the CPU
  std::atomic<uint64_t> fallbacks{0};
  // Weight traffic (CudaWeightStats).
  std::atomic<uint64_t> resident_uploads{0};
  std::atomic<uint64_t> staged_weight_uploads{0};
  std::atomic<uint64_t> resident_live{0};
  std::atomic<uint64_t> resident_bytes{0};
};

// A weight matrix's device copy (Weight::resident): the handle weight_alloc returns.
struct ResidentCopy {
  void* dev = nullptr;
  size_t bytes = 0;
};

DeviceState& State(int device) {
  static std::array<DeviceState, kMaxBackendDevices> states;
  return states[device];
}

// Creates the device's context the first time. REQUIRES: s->mu held.
void TryContext(int device, DeviceState* s) {
  if (s->tried) return;
  s->tried = true;
  auto c = CudaContext::Create(device);
  if (c.ok()) {
    s->ctx = std::move(*c);
  } else {
    s->error = c.status();
    s->dead = true;
  }
}

// The kernels' weight type for a matrix the device reads as it is; -1 for the others.
int DeviceWeightType(const Weight& w) {
  if (w.packed) return -1;
  switch (w.type) {
    case WeightType::kF32:
      return ops::kWeightF32;
    case WeightType::kF16:
      return ops::kWeightF16;
    case WeightType::kBF16:
      return ops::kWeightBF16;
    default:
      return -1;
  }
}

// One op's use of a device: holds the device's lock, creates its context the first time, and
// owns the device buffers the op stages. Inputs are uploaded as they are named; outputs are
// downloaded by Finish(), after every kernel, so that a failure leaves the host outputs as they
// were (in-place ones restored from a copy) for the CPU backend to compute them again.
class DeviceOp {
 public:
  explicit DeviceOp(int device) : s_(State(device)), lock_(s_.mu) {
    TryContext(device, &s_);
    c_ = s_.dead ? nullptr : s_.ctx.get();
  }
  ~DeviceOp() {
    if (c_ != nullptr) {
      for (void* p : bufs_) c_->Free(p);
    }
  }
  DeviceOp(const DeviceOp&) = delete;
  DeviceOp& operator=(const DeviceOp&) = delete;

  // nullptr when the device cannot be used: the op runs on the CPU backend.
  CudaContext* ctx() const { return c_; }
  cudaStream_t stream() const { return c_->stream(); }

  void* Alloc(size_t bytes) {
    void* p = c_->Alloc(bytes == 0 ? 1 : bytes);
    bufs_.push_back(p);
    return p;
  }
  // A device copy of `bytes` of host memory.
  template <typename T>
  T* In(const T* host, size_t bytes) {
    void* p = Alloc(bytes);
    if (p != nullptr) c_->Upload(p, host, bytes);
    return static_cast<T*>(p);
  }
  // A device buffer written back to `host` by Finish().
  float* Out(float* host, size_t bytes) {
    auto* p = static_cast<float*>(Alloc(bytes));
    outs_.push_back({host, p, bytes});
    return p;
  }
  // Out() whose device buffer starts as a copy of `host` (in-place and accumulating ops).
  float* InOut(float* host, size_t bytes) {
    float* p = Out(host, bytes);
    if (p != nullptr) c_->Upload(p, host, bytes);
    saved_.emplace_back(host, std::vector<float>(host, host + bytes / sizeof(float)));
    return p;
  }
  void Record(cudaError_t e) { c_->Record(e); }
  // The device bytes of weight matrix `w`: its resident copy, or (not resident: an override whose
  // upload failed, a weight loaded before the device worked) a copy staged for this op.
  const void* WeightOnDevice(const Weight& w) {
    if (w.resident != nullptr) return static_cast<const ResidentCopy*>(w.resident)->dev;
    s_.staged_weight_uploads.fetch_add(1, std::memory_order_relaxed);
    return In(static_cast<const uint8_t*>(w.data),
              static_cast<size_t>(w.rows) * WeightRowBytes(w.type, w.cols));
  }

  // Downloads the outputs and waits for the device. False (the error recorded, in-place outputs
  // restored) when anything failed: the caller computes the op on the CPU backend instead.
  bool Finish() {
    for (const Output& o : outs_) c_->Download(o.host, o.dev, o.bytes);
    Status st = c_->Sync();
    if (st.ok()) return true;
    for (auto& [host, copy] : saved_) std::memcpy(host, copy.data(), copy.size() * sizeof(float));
    if (s_.error.ok()) s_.error = st;
    if (c_->failed()) s_.dead = true;  // sticky: the context cannot be used again
    s_.fallbacks.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // The op runs on the CPU backend without trying the device.
  void CountFallback() { s_.fallbacks.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Output {
    float* host;
    float* dev;
    size_t bytes;
  };
  DeviceState& s_;
  std::unique_lock<std::mutex> lock_;
  CudaContext* c_ = nullptr;
  std::vector<void*> bufs_;
  std::vector<Output> outs_;
  std::vector<std::pair<float*, std::vector<float>>> saved_;
};

const Backend* Cpu() { return CpuBackend(); }

template <int D>
void MatMul(const BackendContext* bc, const float* x, int m, const MatmulJob* jobs, int num_jobs) {
  std::vector<MatmulJob> on_cpu, on_gpu;
  for (int j = 0; j < num_jobs; ++j) {
    (DeviceWeightType(*jobs[j].w) >= 0 ? on_gpu : on_cpu).push_back(jobs[j]);
  }
  if (!on_gpu.empty() && m > 0) {
    DeviceOp op(D);
    bool done = false;
    if (op.ctx() != nullptr) {
      const int64_t k = on_gpu[0].w->cols;
      const float* dx = op.In(x, static_cast<size_t>(m) * k * sizeof(float));
      for (const MatmulJob& j : on_gpu) {
        const Weight& w = *j.w;
        const void* dw = op.WeightOnDevice(w);
        const size_t y_bytes = static_cast<size_t>(m) * w.rows * sizeof(float);
        float* dy = j.accumulate ? op.InOut(j.y, y_bytes) : op.Out(j.y, y_bytes);
        if (dx == nullptr || dw == nullptr || dy == nullptr) break;
        op.Record(gem_cuda_matmul(dx, dw, DeviceWeightType(w), dy, m, static_cast<int>(w.rows),
                                  static_cast<int>(k), j.accumulate, op.stream()));
      }
      done = op.Finish();
    } else {
      op.CountFallback();
    }
    if (!done) on_cpu.insert(on_cpu.end(), on_gpu.begin(), on_gpu.end());
  }
  if (!on_cpu.empty()) Cpu()->matmul(bc, x, m, on_cpu.data(), static_cast<int>(on_cpu.size()));
}

template <int D>
void GetRows(const BackendContext* bc, const Weight& w, const int32_t* ids, int m, float* y) {
  if (DeviceWeightType(w) >= 0 && m > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      const void* table = op.WeightOnDevice(w);
      const int32_t* dids = op.In(ids, static_cast<size_t>(m) * sizeof(int32_t));
      float* dy = op.Out(y, static_cast<size_t>(m) * w.cols * sizeof(float));
      if (table != nullptr && dids != nullptr && dy != nullptr) {
        op.Record(gem_cuda_embed(table, DeviceWeightType(w), static_cast<int>(w.rows), dids, m,
                                 static_cast<int>(w.cols), dy, op.stream()));
      }
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->get_rows(bc, w, ids, m, y);
}

template <int D>
void AddBias(const BackendContext* bc, float* y, const float* b, int m, int n) {
  if (m > 0 && n > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      float* dy = op.InOut(y, static_cast<size_t>(m) * n * sizeof(float));
      const float* db = op.In(b, static_cast<size_t>(n) * sizeof(float));
      if (dy != nullptr && db != nullptr) op.Record(gem_cuda_add_bias(dy, db, m, n, op.stream()));
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->add_bias(bc, y, b, m, n);
}

template <int D>
void RmsNorm(const BackendContext* bc, const float* x, const float* w, float* y, int m, int n,
             float eps) {
  if (m > 0 && n > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      const size_t bytes = static_cast<size_t>(m) * n * sizeof(float);
      // x may equal y: the input is staged first, the output has a buffer of its own.
      const float* dx = op.In(x, bytes);
      const float* dw = op.In(w, static_cast<size_t>(n) * sizeof(float));
      float* dy = x == y ? op.InOut(y, bytes) : op.Out(y, bytes);
      if (dx != nullptr && dw != nullptr && dy != nullptr) {
        op.Record(gem_cuda_rms_norm(dx, dw, dy, m, n, eps, op.stream()));
      }
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->rms_norm(bc, x, w, y, m, n, eps);
}

template <int D>
void Rope(const BackendContext* bc, float* x, int m, int heads, int head_dim, const int32_t* pos,
          const float* inv_freq) {
  if (m > 0 && heads > 0 && head_dim > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      float* dx = op.InOut(x, static_cast<size_t>(m) * heads * head_dim * sizeof(float));
      const int32_t* dpos = op.In(pos, static_cast<size_t>(m) * sizeof(int32_t));
      // Staged per call, not cached by host address: models come and go in one process.
      const float* dinv = op.In(inv_freq, static_cast<size_t>(head_dim / 2) * sizeof(float));
      if (dx != nullptr && dpos != nullptr && dinv != nullptr) {
        op.Record(gem_cuda_rope(dx, m, heads, head_dim, dpos, dinv, op.stream()));
      }
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->rope(bc, x, m, heads, head_dim, pos, inv_freq);
}

template <int D>
void SiluMul(const BackendContext* bc, const float* gate, const float* up, float* y, size_t n) {
  if (n > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      const size_t bytes = n * sizeof(float);
      const float* dg = op.In(gate, bytes);
      const float* du = op.In(up, bytes);
      float* dy = (y == gate || y == up) ? op.InOut(y, bytes) : op.Out(y, bytes);
      if (dg != nullptr && du != nullptr && dy != nullptr) {
        op.Record(gem_cuda_silu_mul(dg, du, dy, n, op.stream()));
      }
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->silu_mul(bc, gate, up, y, n);
}

template <int D>
void Add(const BackendContext* bc, float* y, const float* x, size_t n) {
  if (n > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      float* dy = op.InOut(y, n * sizeof(float));
      const float* dx = op.In(x, n * sizeof(float));
      if (dy != nullptr && dx != nullptr) op.Record(gem_cuda_add(dy, dx, n, op.stream()));
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->add(bc, y, x, n);
}

template <int D>
void Attention(const BackendContext* bc, const AttentionSeq* seqs, int num_seqs, int num_heads,
               int num_kv_heads, int head_dim, float scale, int window) {
  if (num_seqs > 0) {
    DeviceOp op(D);
    if (op.ctx() != nullptr) {
      const size_t q_row = static_cast<size_t>(num_heads) * head_dim;
      const size_t kv_row = static_cast<size_t>(num_kv_heads) * head_dim;
      std::vector<AttentionSeq> dev(seqs, seqs + num_seqs);
      bool staged = true;
      int rows = 0;
      for (AttentionSeq& s : dev) {
        const size_t q_bytes = s.rows * q_row * sizeof(float);
        const size_t kv_bytes = static_cast<size_t>(s.kv_len) * kv_row * sizeof(float);
        s.q = op.In(s.q, q_bytes);
        s.out = op.Out(s.out, q_bytes);
        s.k = op.In(s.k, kv_bytes);
        s.v = op.In(s.v, kv_bytes);
        staged = staged && s.q != nullptr && s.out != nullptr && s.k != nullptr && s.v != nullptr;
        rows += s.rows;
      }
      const AttentionSeq* dseqs = op.In(dev.data(), dev.size() * sizeof(AttentionSeq));
      if (staged && dseqs != nullptr) {
        op.Record(gem_cuda_attention(dseqs, num_seqs, rows, num_heads, num_kv_heads, head_dim,
                                     scale, window, op.stream()));
      }
      if (op.Finish()) return;
    } else {
      op.CountFallback();
    }
  }
  Cpu()->attention(bc, seqs, num_seqs, num_heads, num_kv_heads, head_dim, scale, window);
}

// Backend::weight_alloc: f32/f16/bf16 row-major matrices are copied to the device in their own
// type, once; everything else (quantised, packed) stays with the CPU backend's layout on the host.
template <int D>
void* WeightAlloc(const Weight& w) {
  if (DeviceWeightType(w) < 0 || w.rows <= 0 || w.data == nullptr) return nullptr;
  const size_t bytes = static_cast<size_t>(w.rows) * WeightRowBytes(w.type, w.cols);
  DeviceState& s = State(D);
  std::lock_guard<std::mutex> lock(s.mu);
  TryContext(D, &s);
  if (s.dead) return nullptr;
  CudaContext* c = s.ctx.get();
  void* dev = c->Alloc(bytes);
  if (dev != nullptr) c->Upload(dev, w.data, bytes);
  // Waits for the copy (the host bytes may change once this returns) and collects any error.
  Status st = c->Sync();
  if (!st.ok() || dev == nullptr) {
    c->Free(dev);
    if (s.error.ok())
      s.error = st.ok()
                    ? Status::Unavailable("cuda:" + std::to_string(D), "device allocation failed")
                    : st;
    if (c->failed()) s.dead = true;
    return nullptr;
  }
  s.resident_uploads.fetch_add(1, std::memory_order_relaxed);
  s.resident_live.fetch_add(1, std::memory_order_relaxed);
  s.resident_bytes.fetch_add(bytes, std::memory_order_relaxed);
  return new ResidentCopy{dev, bytes};
}

// Backend::weight_free. After a sticky error the memory goes with the unusable context.
template <int D>
void WeightFree(void* handle) {
  if (handle == nullptr) return;
  std::unique_ptr<ResidentCopy> copy(static_cast<ResidentCopy*>(handle));
  DeviceState& s = State(D);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.ctx != nullptr) s.ctx->Free(copy->dev);
  s.resident_live.fetch_sub(1, std::memory_order_relaxed);
  s.resident_bytes.fetch_sub(copy->bytes, std::memory_order_relaxed);
}

size_t PackedBytes(WeightType type, int64_t rows, int64_t cols) {
  return Cpu()->packed_bytes(type, rows, cols);
}
void PackWeight(WeightType type, const void* row_major, int64_t rows, int64_t cols, void* out) {
  Cpu()->pack_weight(type, row_major, rows, cols, out);
}
void UnpackRow(const Weight& w, int64_t r, void* out) { Cpu()->unpack_row(w, r, out); }

template <int D>
constexpr Backend MakeTable() {
  return Backend{"cuda",     PackedBytes,  PackWeight,     UnpackRow,    MatMul<D>,
                 GetRows<D>, AddBias<D>,   RmsNorm<D>,     Rope<D>,      SiluMul<D>,
                 Add<D>,     Attention<D>, WeightAlloc<D>, WeightFree<D>};
}

template <size_t... I>
constexpr std::array<Backend, sizeof...(I)> MakeTables(std::index_sequence<I...>) {
  return {MakeTable<static_cast<int>(I)>()...};
}

const std::array<Backend, kMaxBackendDevices> kTables =
    MakeTables(std::make_index_sequence<kMaxBackendDevices>());

bool InRange(int device) { return device >= 0 && device < kMaxBackendDevices; }

}  // namespace

const Backend* CudaBackend(int device) { return InRange(device) ? &kTables[device] : nullptr; }

Status CudaBackendStatus(int device) {
  if (!InRange(device)) {
    return Status::InvalidArgument("cuda:" + std::to_string(device), "outside the backend's range");
  }
  DeviceState& s = State(device);
  std::lock_guard<std::mutex> lock(s.mu);
  TryContext(device, &s);
  return s.error;
}

uint64_t CudaBackendFallbacks(int device) {
  return InRange(device) ? State(device).fallbacks.load(std::memory_order_relaxed) : 0;
}

CudaWeightStats CudaBackendWeightStats(int device) {
  CudaWeightStats out;
  if (!InRange(device)) return out;
  const DeviceState& s = State(device);
  out.resident_uploads = s.resident_uploads.load(std::memory_order_relaxed);
  out.staged_weight_uploads = s.staged_weight_uploads.load(std::memory_order_relaxed);
  out.resident_weights = s.resident_live.load(std::memory_order_relaxed);
  out.resident_bytes = s.resident_bytes.load(std::memory_order_relaxed);
  return out;
}

}  // namespace gem::cuda
