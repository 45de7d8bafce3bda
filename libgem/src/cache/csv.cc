// Copyright the gem authors. Minimal RFC 4180 CSV (see csv.h).
#include "cache/csv.h"

#include <istream>
#include <iterator>

namespace gem::csv {

Status ReadAll(std::istream& in, std::string_view source, std::vector<Record>* records) {
  records->clear();
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(source, "read failed");
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first field.
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  uint64_t line = 1;
  Record rec;
  std::string field;
  bool record_started = false;
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_record = [&] {
    end_field();
    bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
    if (!blank) records->push_back(std::move(rec));
    rec = Record{};
    record_started = false;
  };
  const size_t n = text.size();
  while (i < n) {
    if (!record_started) {
      rec.line = line;
      record_started = true;
    }
    char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field.
      const uint64_t quote_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        char d = text[i];
        if (d == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (d == '\n') ++line;
        field.push_back(d);
        ++i;
      }
      if (!closed) {
        return Status::InvalidArgument(std::string(source) + ":" + std::to_string(quote_line),
                                       "unterminated quoted field");
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return Status::InvalidArgument(std::string(source) + ":" + std::to_string(line),
                                       "text after a closing quote");
      }
      continue;
    }
    if (c == ',') {
      end_field();
      ++i;
    } else if (c == '\r' && i + 1 < n && text[i + 1] == '\n') {
      end_record();
      i += 2;
      ++line;
    } else if (c == '\n') {
      end_record();
      ++i;
      ++line;
    } else {
      field.push_back(c);
      ++i;
    }
  }
  if (record_started) end_record();
  return Status::OK();
}

void AppendField(std::string* line, std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) {
    line->append(field);
    return;
  }
  line->push_back('"');
  for (char c : field) {
    if (c == '"') line->push_back('"');
    line->push_back(c);
  }
  line->push_back('"');
}

}  // namespace gem::csv
