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
// correct ones: a walk over the task's index in the cache (the results written for this task,
// as cache.export reads them) and one lookup per result found, so its cost grows with what was
// evaluated, not with the tree: 0.1 s for a 450-model tree with 4,499 results, 5 s with all its
// 1.1 million (a 2-core machine under a load of 8). It runs on the server thread.
gem::Result<gem::protocol::ReportTreeReply> TreeReportData(Context& ctx, const ServedTree& tree,
                                                           const ServedTask& task);

}  // namespace gemd

#endif  // GEMD_REPORT_DATA_H_
