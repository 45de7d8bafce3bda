// Copyright the gem authors. The small CSV reader behind the tree and matrix formats.
//
// Both formats (gem/population.h) are plain: comma-separated, no embedded commas or newlines, an
// optional pair of double quotes around a field. Lines are numbered from 1 for error messages.
#ifndef GEM_SEARCH_CSV_H_
#define GEM_SEARCH_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem::search_internal {

struct CsvLine {
  size_t number = 0;                     // 1-based line number in the text
  std::vector<std::string_view> fields;  // trimmed, quotes removed
};

// Splits text into non-blank, non-comment ('#') lines of fields. Views point into `text`.
std::vector<CsvLine> SplitCsv(std::string_view text);

// Parses a whole field as a finite double; false when it is not one.
bool ParseDouble(std::string_view field, double* out);

// Reads a whole file; IOError naming the path when it cannot.
Status ReadFile(const std::string& path, std::string* out);

// "qwen2.5_3b" from "/x/y/qwen2.5_3b.csv".
std::string FileStem(const std::string& path);

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_CSV_H_
