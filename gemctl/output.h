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

// A one-line progress bar redrawn on stderr when it is a terminal; otherwise a plain line per
// change, at most one a second, so logs stay readable.
class ProgressBar {
 public:
  ProgressBar();
  void Update(const gem::protocol::JobInfo& job);
  void Finish();

 private:
  bool tty_;
  bool drawn_ = false;
  int64_t last_line_ms_ = 0;
};

}  // namespace gemctl

#endif  // GEMCTL_OUTPUT_H_
