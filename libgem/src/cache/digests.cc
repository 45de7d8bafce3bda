// Copyright the gem authors. Config digests and name-derived digests (docs/CACHE.md).
#include <bit>
#include <cstring>

#include "gem/cache.h"

namespace gem {
namespace {

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

}  // namespace

Digest ConfigDigest(const EvalConfig& c) {
  // Field order is part of the format: changing it changes every config digest.
  Hasher h;
  h.Field("gem.config.v1");
  h.Field(c.engine_version);
  h.Field(c.prompt_template);
  h.Field(c.system_prompt);
  h.Field(uint64_t{c.max_new_tokens});
  h.Field(Bits(c.temperature));
  h.Field(Bits(c.top_p));
  h.Field(uint64_t{c.top_k});
  h.Field(Bits(c.repetition_penalty));
  h.Field(uint64_t{c.stop.size()});
  for (const auto& s : c.stop) h.Field(s);
  h.Field(c.seed);
  h.Field(c.extra);
  return h.Finish();
}

Digest NameDigest(LabelKind kind, std::string_view name) {
  Hasher h;
  h.Field("gem.name.v1");
  char k = static_cast<char>(kind);
  h.Field(std::string_view(&k, 1));
  h.Field(name);
  return h.Finish();
}

Digest QueryNameDigest(const Digest& task, std::string_view query_id) {
  std::string name = task.Hex();
  name.push_back('/');
  name.append(query_id);
  return NameDigest(LabelKind::kQuery, name);
}

}  // namespace gem
