// Copyright the gem authors. Shared by the registration files of the tree part (not public).
#ifndef GEM_TREE_TREE_INTERNAL_H_
#define GEM_TREE_TREE_INTERNAL_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

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

}  // namespace gem::tree_internal

#endif  // GEM_TREE_TREE_INTERNAL_H_
