// Copyright the gem authors. Working buffers: a descendant's changed tensors, materialised next
// to the immutable base in the type the base holds (gem/tree.h), and installed as the model's
// tensor overrides.
#include <cstring>

#include "gem/tree.h"
#include "tree/ops/lora_ops.h"

namespace gem {
namespace {

// The engine weight type of a checkpoint float dtype (F64 has none: held as f32).
bool WeightTypeOfDType(DType d, WeightType* t) {
  switch (d) {
    case DType::kF32:
      *t = WeightType::kF32;
      return true;
    case DType::kF16:
      *t = WeightType::kF16;
      return true;
    case DType::kBF16:
      *t = WeightType::kBF16;
      return true;
    default:
      return false;
  }
}

bool IsFloat(WeightType t) {
  return t == WeightType::kF32 || t == WeightType::kF16 || t == WeightType::kBF16;
}

// The base tensor's values as f32: from the checkpoint the deltas were made against when the
// model still maps it, else from what the model holds (dequantised).
Status BaseValues(const Model& model, const std::string& name, std::vector<float>* out) {
  DType dtype;
  std::span<const uint8_t> raw;
  if (model.CheckpointTensor(name, &dtype, &raw) && DTypeIsFloat(dtype) &&
      raw.size() == out->size() * DTypeSize(dtype)) {
    return ConvertToF32(dtype, raw.data(), out->size(), out->data());
  }
  return model.BaseTensorF32(name, out->data());
}

}  // namespace

std::vector<float>* WorkingSet::Take(const std::string& name, size_t n) {
  std::vector<float>& buf = buffers_[name];
  buf.resize(n);  // keeps the allocation when the same tensor is materialised again
  return &buf;
}

void WorkingSet::Deactivate(Model* model) {
  model->ClearTensorOverrides();
  active_.clear();
}

Status WorkingSet::Install(Model* model, const std::string& name, WeightType held,
                           std::vector<float>* f32) {
  WeightView v;
  model->BaseWeight(name, &v);
  const int64_t cols = v.shape.back(), rows = v.shape.size() == 2 ? v.shape[0] : 1;
  const size_t row_bytes = WeightRowBytes(held, cols);
  auto& [type, bytes] = typed_[name];
  type = held;
  bytes.resize(row_bytes * rows);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(held, f32->data() + r * cols, cols, bytes.data() + row_bytes * r);
  }
  buffers_.erase(name);
  return model->SetTensorOverride(name, held, bytes.data());
}

Status WorkingSet::ActivateDelta(Model* model, const DeltaFile& delta) {
  Deactivate(model);
  std::vector<float> scratch;
  for (const DeltaTensor& t : delta.tensors()) {
    WeightView base;
    if (!model->BaseWeight(t.name, &base)) {
      return Status::InvalidArgument(delta.path(), "tensor '" + t.name + "' is not in the model");
    }
    if (base.shape != t.shape) {
      return Status::InvalidArgument(delta.path(),
                                     "tensor '" + t.name + "' has another shape in the model");
    }
    const size_t n = static_cast<size_t>(t.numel());
    active_.push_back(t.name);
    if (base.type == WeightType::kF32) {
      // The f32 path: base values in place, fine-tune values in an f32 buffer.
      std::vector<float>* buf = Take(t.name, n);
      GEM_RETURN_IF_ERROR(delta.Apply(t, static_cast<const float*>(base.data), buf->data()));
      typed_.erase(t.name);
      GEM_RETURN_IF_ERROR(model->SetTensorOverride(t.name, buf->data()));
      continue;
    }
    // A bf16/f16 base and a lossless delta: the fine-tune's own stored words, bit for bit. An
    // xor delta needs the base's stored words: the checkpoint's, or the bytes the model holds.
    WeightType ft_type;
    const bool lossless = t.exact();
    std::span<const uint8_t> base_raw;
    bool have_base_raw = t.encoding == "raw";
    if (lossless && !have_base_raw) {
      DType dtype;
      WeightType base_dtype;
      if (model->CheckpointTensor(t.name, &dtype, &base_raw) && dtype == t.base_dtype) {
        have_base_raw = true;
      } else if (base.data != nullptr && WeightTypeOfDType(t.base_dtype, &base_dtype) &&
                 base_dtype == base.type) {
        base_raw = {static_cast<const uint8_t*>(base.data), base.bytes};
        have_base_raw = true;
      }
    }
    if (IsFloat(base.type) && lossless && have_base_raw && WeightTypeOfDType(t.dtype, &ft_type)) {
      auto& [type, bytes] = typed_[t.name];
      GEM_RETURN_IF_ERROR(delta.ReconstructRaw(t, base_raw, &bytes));
      type = ft_type;
      buffers_.erase(t.name);
      GEM_RETURN_IF_ERROR(model->SetTensorOverride(t.name, ft_type, bytes.data()));
      continue;
    }
    // Otherwise the fine-tune's f32 values: kept in f32 on a bf16/f16 base (what the f32 path
    // computes, so results and cached answers do not depend on how the base is held),
    // re-quantised to the base's type on a quantised one.
    if (IsFloat(base.type)) {
      std::vector<float>* buf = Take(t.name, n);
      GEM_RETURN_IF_ERROR(BaseValues(*model, t.name, buf));
      GEM_RETURN_IF_ERROR(delta.Apply(t, buf->data(), buf->data()));
      typed_.erase(t.name);
      GEM_RETURN_IF_ERROR(model->SetTensorOverride(t.name, buf->data()));
      continue;
    }
    scratch.resize(n);
    GEM_RETURN_IF_ERROR(BaseValues(*model, t.name, &scratch));
    GEM_RETURN_IF_ERROR(delta.Apply(t, scratch.data(), scratch.data()));
    GEM_RETURN_IF_ERROR(Install(model, t.name, base.type, &scratch));
  }
  return Status::OK();
}

Status WorkingSet::ActivateMergedLora(Model* model, const LoraAdapter& adapter) {
  Deactivate(model);
  std::vector<float> base_values, merged;
  for (const LoraModule& m : adapter.modules()) {
    WeightView base;
    const std::vector<int64_t> want = {m.out_features, m.in_features};
    if (!model->BaseWeight(m.base_tensor, &base) || base.shape != want) {
      return Status::InvalidArgument(adapter.dir(), "adapts '" + m.base_tensor +
                                                        "', which the model lacks or has with "
                                                        "another shape");
    }
    const size_t n = static_cast<size_t>(m.out_features) * m.in_features;
    active_.push_back(m.base_tensor);
    if (IsFloat(base.type)) {
      // f32, as the f32 path merges (see ActivateDelta).
      const float* w = static_cast<const float*>(base.data);
      if (base.type != WeightType::kF32) {
        base_values.resize(n);
        GEM_RETURN_IF_ERROR(model->BaseTensorF32(m.base_tensor, base_values.data()));
        w = base_values.data();
      }
      std::vector<float>* buf = Take(m.base_tensor, n);
      ops::LoraMerge(w, m.a.data(), m.b.data(), m.out_features, m.in_features, m.rank, m.scale,
                     buf->data());
      typed_.erase(m.base_tensor);
      GEM_RETURN_IF_ERROR(model->SetTensorOverride(m.base_tensor, buf->data()));
      continue;
    }
    base_values.resize(n);
    merged.resize(n);
    GEM_RETURN_IF_ERROR(model->BaseTensorF32(m.base_tensor, base_values.data()));
    ops::LoraMerge(base_values.data(), m.a.data(), m.b.data(), m.out_features, m.in_features,
                   m.rank, m.scale, merged.data());
    GEM_RETURN_IF_ERROR(Install(model, m.base_tensor, base.type, &merged));
  }
  return Status::OK();
}

const std::vector<float>* WorkingSet::Buffer(std::string_view name) const {
  auto it = buffers_.find(name);
  return it == buffers_.end() ? nullptr : &it->second;
}

bool WorkingSet::BufferType(std::string_view name, WeightType* type) const {
  if (buffers_.count(name)) {
    *type = WeightType::kF32;
    return true;
  }
  auto it = typed_.find(name);
  if (it == typed_.end()) return false;
  *type = it->second.first;
  return true;
}

size_t WorkingSet::bytes() const {
  size_t n = 0;
  for (const auto& [name, buf] : buffers_) n += buf.capacity() * sizeof(float);
  for (const auto& [name, tb] : typed_) n += tb.second.capacity();
  return n;
}

}  // namespace gem
