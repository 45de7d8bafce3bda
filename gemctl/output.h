// Copyright the gem authors. gemctl's human output: tables, job summaries, the progress bar.
#ifndef GEMCTL_OUTPUT_H_
#define GEMCTL_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gem/protocol.h"

namespace gemctl {

// Columns padded to their widest cell, two spaces apart, header first.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
std::string FormatTime(int64_t unix_seconds);          // "2026-11-23 18:40:12" or "-"
std::string FormatNumber(double v, int decimals = 3);  // "-" for NaN
void PrintJob(const gem::protocol::JobInfo& job);      // "key: value" lines
// "round 2: n1 gpu 0 (cpu:0, worker 12_0.0) 4 units, 180 results" for each (round, worker)
// placement of `now` that `before` did not have (both the same job, before older).
std::vector<std::string> NewPlacementLines(const gem::protocol::JobInfo& before,
                                           const gem::protocol::JobInfo& now);

// A one-line progress bar redrawn on stderr when it is a terminal; otherwise a plain line per
// change, at most one a second, so logs stay readable.
class ProgressBar {
 public:
  ProgressBar();
  void Update(const gem::protocol::JobInfo& job);
  // A line printed above the bar (or as a line of its own without a terminal).
  void Note(const std::string& line);
  void Finish();

 private:
  bool tty_;
  bool drawn_ = false;
  int64_t last_line_ms_ = 0;
};

}  // namespace gemctl

#endif  // GEMCTL_OUTPUT_H_
