// Copyright the gem authors. What gemd serves for reports (report.tree, report.search;
// docs/PROTOCOL.md, "Reports"): the wire form of a tree's report data, which libgem gathers
// (gem::CountCachedAnswers, gem/searchable_tree.h), and each finished search's per-round trace,
// a job record the search runner stores here.
//
// Thread-safety: reentrant; reads the cache and the store, which are thread-safe.
#ifndef GEMD_REPORT_DATA_H_
#define GEMD_REPORT_DATA_H_

#include <cstdint>
#include <string_view>

#include "context.h"
#include "gem/protocol.h"
#include "gem/search.h"
#include "gem/searchable_tree.h"
#include "gem/status.h"

namespace gemd {

// Persists the rounds of a finished search under "trace/<id, 20 digits>" in the jobs family
// (docs/GEMD.md, "Store layout"). IOError from the store.
gem::Status StoreSearchTrace(Context& ctx, uint64_t job, const gem::SearchResult& result);

// The trace of `job`; NotFound when none was recorded (the job is not done, or ran on a gemd that
// kept no trace).
gem::Result<gem::protocol::SearchTraceRecord> LoadSearchTrace(Context& ctx, uint64_t job);

// report.tree's reply for `task` of `tree`: the tree's models (kind, relation, parent, folder,
// popularity, digest) and what the cache holds of each (gem::CountCachedAnswers, whose cost and
// errors it has). It runs on the server thread.
gem::Result<gem::protocol::ReportTreeReply> TreeReportData(Context& ctx,
                                                           const gem::SearchableTree& tree,
                                                           std::string_view task);

}  // namespace gemd

#endif  // GEMD_REPORT_DATA_H_
