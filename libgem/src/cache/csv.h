// Copyright the gem authors. Minimal RFC 4180 CSV reading and writing (internal).
#ifndef GEM_CACHE_CSV_H_
#define GEM_CACHE_CSV_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "gem/status.h"

namespace gem::csv {

struct Record {
  uint64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// Reads every record. Quoted fields may hold separators, quotes ("") and line breaks; "\r\n"
// and "\n" both end a record; a final line without a newline is a record; empty lines are
// skipped. InvalidArgument (naming `source` and the line) on an unterminated quote or text
// after a closing quote.
Status ReadAll(std::istream& in, std::string_view source, std::vector<Record>* records);

// Appends `field`, quoted when it holds a comma, quote, CR or LF (or leading/trailing blanks).
void AppendField(std::string* line, std::string_view field);

}  // namespace gem::csv

#endif  // GEM_CACHE_CSV_H_
