// Copyright the gem authors. Working buffers: a descendant's changed tensors, materialised next
// to the immutable base and installed as the model's tensor overrides.
#include "gem/tree.h"
#include "tree/ops/lora_ops.h"

namespace gem {

std::vector<float>* WorkingSet::Take(const std::string& name, size_t n) {
  std::vector<float>& buf = buffers_[name];
  buf.resize(n);  // keeps the allocation when the same tensor is materialised again
  return &buf;
}

void WorkingSet::Deactivate(Model* model) {
  model->ClearTensorOverrides();
  active_.clear();
}

Status WorkingSet::ActivateDelta(Model* model, const DeltaFile& delta) {
  Deactivate(model);
  for (const DeltaTensor& t : delta.tensors()) {
    std::vector<int64_t> shape;
    const float* base = model->BaseTensor(t.name, &shape);
    if (base == nullptr) {
      return Status::InvalidArgument(delta.path(), "tensor '" + t.name + "' is not in the model");
    }
    if (shape != t.shape) {
      return Status::InvalidArgument(delta.path(),
                                     "tensor '" + t.name + "' has another shape in the model");
    }
    std::vector<float>* buf = Take(t.name, static_cast<size_t>(t.numel()));
    GEM_RETURN_IF_ERROR(delta.Apply(t, base, buf->data()));
    active_.push_back(t.name);
  }
  for (const std::string& name : active_) {
    GEM_RETURN_IF_ERROR(model->SetTensorOverride(name, buffers_.find(name)->second.data()));
  }
  return Status::OK();
}

Status WorkingSet::ActivateMergedLora(Model* model, const LoraAdapter& adapter) {
  Deactivate(model);
  for (const LoraModule& m : adapter.modules()) {
    std::vector<int64_t> shape;
    const float* w = model->BaseTensor(m.base_tensor, &shape);
    const std::vector<int64_t> want = {m.out_features, m.in_features};
    if (w == nullptr || shape != want) {
      return Status::InvalidArgument(adapter.dir(), "adapts '" + m.base_tensor +
                                                        "', which the model lacks or has with "
                                                        "another shape");
    }
    std::vector<float>* buf =
        Take(m.base_tensor, static_cast<size_t>(m.out_features) * m.in_features);
    ops::LoraMerge(w, m.a.data(), m.b.data(), m.out_features, m.in_features, m.rank, m.scale,
                   buf->data());
    active_.push_back(m.base_tensor);
  }
  for (const std::string& name : active_) {
    GEM_RETURN_IF_ERROR(model->SetTensorOverride(name, buffers_.find(name)->second.data()));
  }
  return Status::OK();
}

const std::vector<float>* WorkingSet::Buffer(std::string_view name) const {
  auto it = buffers_.find(name);
  return it == buffers_.end() ? nullptr : &it->second;
}

size_t WorkingSet::bytes() const {
  size_t n = 0;
  for (const auto& [name, buf] : buffers_) n += buf.capacity() * sizeof(float);
  return n;
}

}  // namespace gem
