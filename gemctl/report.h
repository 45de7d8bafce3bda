// Copyright the gem authors. gemctl search report / tree report: asks gemd for the data
// (report.search, report.tree; docs/PROTOCOL.md) and writes libgem's HTML report (gem/report.h,
// docs/REPORT.md).
#ifndef GEMCTL_REPORT_H_
#define GEMCTL_REPORT_H_

#include <cstdint>
#include <string>

#include "commands.h"

namespace gemctl {

struct ReportArgs {
  std::string out;           // --out ("" = search-<id>.html / <tree>-<task>.html)
  double gem_margin = 0.05;  // --gem-margin
  std::string task;          // tree report: --task ("" = the tree's only task)
  bool partial = false;      // tree report: draw models not fully evaluated as unknown
};

// With the global --json they print gemd's reply (the report's data) instead of writing a page.
// Exit status: 0 written; 10 + code for gemd's errors (a job not done: 20) and for a tree with
// models the cache has not fully answered (FailedPrecondition, 20) unless --partial.
int SearchReport(Globals& g, uint64_t job, const ReportArgs& a);
int TreeReport(Globals& g, const std::string& tree, const ReportArgs& a);

}  // namespace gemctl

#endif  // GEMCTL_REPORT_H_
