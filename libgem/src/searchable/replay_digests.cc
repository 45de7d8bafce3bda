// Copyright the gem authors. The replay digest scheme (internal.h). Every string here is part of
// the cache keys of existing stores.
#include <cstdio>

#include "gem/cache.h"
#include "gem/csv.h"
#include "searchable/internal.h"

namespace gem::searchable_internal {

Digest ReplayModelDigest(const Digest& content, uint32_t row) {
  Hasher h;
  return h.Field("gem.replay.model.v1").Field(content.Bytes()).Field(uint64_t{row}).Finish();
}

Digest ReplayTaskDigest(const Digest& content, std::string_view task, std::string_view sim) {
  Hasher h;
  return h.Field("gem.replay.task.v1").Field(content.Bytes()).Field(task).Field(sim).Finish();
}

Digest ReplayQueryDigest(const Digest& content, std::string_view task, std::string_view sim,
                         uint32_t query) {
  Hasher h;
  return h.Field("gem.replay.query.v1")
      .Field(content.Bytes())
      .Field(task)
      .Field(sim)
      .Field(uint64_t{query})
      .Finish();
}

Digest ReplayConfigDigest() {
  EvalConfig c;
  c.engine_version = "gem.replay.v1";
  return ConfigDigest(c);
}

std::string Simulation(const TreeRecord& r) {
  if (r.format == "matrix") return "matrix";
  char buf[96];
  std::snprintf(buf, sizeof(buf), "sim:%llu:%u:%.17g", static_cast<unsigned long long>(r.sim_seed),
                r.num_queries, r.agreement);
  return buf;
}

std::string TaskNameOfColumn(std::string_view column) {
  std::string s(column);
  auto strip = [&](std::string_view suffix) {
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
      s.resize(s.size() - suffix.size());
  };
  strip("_pct");
  strip("_total");
  return s;
}

Result<std::vector<std::string>> HeaderFields(std::string_view text, std::string_view label) {
  std::vector<csv::Record> records;
  GEM_RETURN_IF_ERROR(csv::Parse(text, label, &records, {.trim = true, .comments = true}));
  if (records.empty()) return std::vector<std::string>{};
  return std::move(records[0].fields);
}

Status ValidName(std::string_view what, const std::string& name) {
  const std::string thing = std::string(what) + " '" + name + "'";
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument(thing, "must be 1 to 64 characters");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Status::InvalidArgument(thing, "may only use letters, digits, '.', '_' and '-'");
    }
  }
  return Status::OK();
}

}  // namespace gem::searchable_internal
