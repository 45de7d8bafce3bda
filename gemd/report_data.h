// Copyright the gem authors. What gemd serves for reports (report.tree, report.search;
// docs/PROTOCOL.md, "Reports"): a tree's structure with what the cache holds of each model, and
// each finished search's per-round trace, which the search runner records here.
//
// Thread-safety: reentrant; reads the cache and the store, which are thread-safe.
#ifndef GEMD_REPORT_DATA_H_
#define GEMD_REPORT_DATA_H_

#include <cstdint>

#include "context.h"
#include "gem/protocol.h"
#include "gem/search.h"
#include "gem/status.h"

namespace gemd {

// Persists the rounds of a finished search under "trace/<id, 20 digits>" in the jobs family
// (docs/GEMD.md, "Store layout"). IOError from the store.
gem::Status StoreSearchTrace(Context& ctx, uint64_t job, const gem::SearchResult& result);

// The trace of `job`; NotFound when none was recorded (the job is not done, or ran on a gemd that
// kept no trace).
gem::Result<gem::protocol::SearchTraceRecord> LoadSearchTrace(Context& ctx, uint64_t job);

// The report data of one task of a tree: every model with its kind, relation, parent, folder,
// popularity and digest, and per config (prompt variant) the queries the cache answers and the
// correct ones. One cache lookup per (model, query, variant): for very large trees this takes
// seconds, on the server thread.
gem::Result<gem::protocol::ReportTreeReply> TreeReportData(Context& ctx, const ServedTree& tree,
                                                           const ServedTask& task);

}  // namespace gemd

#endif  // GEMD_REPORT_DATA_H_
