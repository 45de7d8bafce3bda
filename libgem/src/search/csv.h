// Copyright the gem authors. What the tree and matrix formats (gem/population.h) add to the CSV
// reader (gem/csv.h): its options for them, number fields, and reading the files.
#ifndef GEM_SEARCH_CSV_H_
#define GEM_SEARCH_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "gem/csv.h"
#include "gem/status.h"

namespace gem::search_internal {

// Both formats are hand-edited: blanks around fields and '#' comment lines are allowed.
inline constexpr csv::ReadOptions kFormatCsv{.trim = true, .comments = true};

// Parses a whole field as a finite double; false when it is not one.
bool ParseDouble(std::string_view field, double* out);

// Reads a whole file; IOError naming the path when it cannot.
Status ReadFile(const std::string& path, std::string* out);

// "qwen2.5_3b" from "/x/y/qwen2.5_3b.csv".
std::string FileStem(const std::string& path);

}  // namespace gem::search_internal

#endif  // GEM_SEARCH_CSV_H_
