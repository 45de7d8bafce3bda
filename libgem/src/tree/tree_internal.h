// Copyright the gem authors. Shared by the registration files of the tree part (not public).
#ifndef GEM_TREE_TREE_INTERNAL_H_
#define GEM_TREE_TREE_INTERNAL_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "gem/delta.h"
#include "gem/safetensors.h"
#include "gem/status.h"

namespace gem::tree_internal {

// <dir>/config.json as JSON; NotFound / Corruption naming the file.
Result<nlohmann::json> ReadConfig(const std::string& dir);
// Same "architectures"[0] and "model_type".
Status CheckArchitecture(const nlohmann::json& base, const nlohmann::json& cand);
// Same hyper-parameters that change the computation.
Status CheckHyperParameters(const nlohmann::json& base, const nlohmann::json& cand);
// All checks for a full fine-tune in `dir`; on success *opened (if non-null) holds its weights.
Status CheckFits(const nlohmann::json& base_config, const SafetensorsSet& base,
                 const std::string& dir, std::unique_ptr<SafetensorsSet>* opened);

// Delta checkpoints (gem/delta_checkpoint.h) against an already opened base: checks `dir`'s
// config.json against the base's, opens its delta and checks that it is lossless, made against
// this base (`base_digest`) and names only base tensors of the base's shapes and dtypes.
Status OpenDeltaCheckpoint(const nlohmann::json& base_config, const SafetensorsSet& base,
                           const Digest& base_digest, const std::string& dir,
                           std::unique_ptr<DeltaFile>* delta);
// Writes the fine-tune of `delta` (checked by OpenDeltaCheckpoint) as one .safetensors file at
// `path`, bit for bit, and checks the rebuilt weights against the delta's model digest.
Status RebuildWeights(const SafetensorsSet& base, const DeltaFile& delta, const std::string& path);

}  // namespace gem::tree_internal

#endif  // GEM_TREE_TREE_INTERNAL_H_
