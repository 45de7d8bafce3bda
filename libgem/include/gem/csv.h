// Copyright the gem authors. CSV: the one reader (and field writer) behind every CSV gem reads.
//
// gem reads several CSV formats: per-model accuracy tables and 0/1 matrices (gem/population.h),
// the cache's gem-matrix export (gem/cache_io.h), the paper's Table 2 (gem-replay) and the demo
// tree's measured accuracies (gem-demo-tree). All of them go through Parse(), so quoting, line
// ends, byte-order marks and line numbers in messages behave the same everywhere.
//
// The dialect is RFC 4180: fields separated by commas; a field that starts with a double quote
// is quoted and may hold commas, line breaks and doubled quotes (""); "\r\n" and "\n" end a
// record; a last line without a line break is a record; empty lines are skipped; a UTF-8
// byte-order mark at the start is not data. Two leniencies, for hand-edited files, are options.
//
// Thread-safety: free functions, reentrant. Errors are Status values; nothing throws.
#ifndef GEM_CSV_H_
#define GEM_CSV_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem::csv {

struct Record {
  uint64_t line = 0;                // 1-based line of the file where the record starts
  std::vector<std::string> fields;  // unquoted; at least one (possibly empty) field
};

struct ReadOptions {
  // Strip blanks (spaces, tabs, a stray CR) around every field; a quoted field may then have
  // blanks before its opening and after its closing quote, which are dropped while the blanks
  // inside the quotes are kept. A line of blanks only is an empty line (skipped). Default: false
  // (RFC 4180: blanks are data). The tree and matrix formats set it.
  bool trim = false;
  // Skip comment lines: lines whose first non-blank character is '#' (they may hold anything,
  // quotes included). Default: false. The tree and matrix formats set it.
  bool comments = false;
};

// Splits `text` into records, appended to *records (cleared first). InvalidArgument naming
// "<source>:<line>" on an unterminated quoted field or text after a closing quote; on error
// *records holds the records before the bad one.
Status Parse(std::string_view text, std::string_view source, std::vector<Record>* records,
             const ReadOptions& options = {});

// Parse() over everything `in` holds. IOError naming `source` when reading fails.
Status ReadAll(std::istream& in, std::string_view source, std::vector<Record>* records,
               const ReadOptions& options = {});

// Appends `field` to *line as one CSV field (no separator), quoted when it holds a comma, a
// quote, CR or LF, or starts or ends with a blank, so that Parse() gives it back unchanged.
void AppendField(std::string* line, std::string_view field);

}  // namespace gem::csv

#endif  // GEM_CSV_H_
