// Copyright the gem authors. The CSV reader (gem/csv.h).
#include "gem/csv.h"

#include <istream>
#include <iterator>

namespace gem::csv {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Status Parse(std::string_view text, std::string_view source, std::vector<Record>* records,
             const ReadOptions& options) {
  records->clear();
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first field.
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  const size_t n = text.size();
  uint64_t line = 1;
  Record rec;
  std::string field;
  bool record_started = false;
  bool quoted = false;  // the current field was quoted (its blanks are data)
  auto where = [&](uint64_t l) { return std::string(source) + ":" + std::to_string(l); };
  auto end_field = [&] {
    if (options.trim && !quoted) {
      while (!field.empty() && (IsBlank(field.back()) || field.back() == '\r')) field.pop_back();
    }
    rec.fields.push_back(std::move(field));
    field.clear();
    quoted = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
    if (!blank) records->push_back(std::move(rec));
    rec = Record{};
    record_started = false;
  };
  while (i < n) {
    if (!record_started) {
      if (options.comments) {
        size_t j = i;
        while (j < n && IsBlank(text[j])) ++j;
        if (j < n && text[j] == '#') {
          const size_t nl = text.find('\n', j);
          if (nl == std::string_view::npos) break;
          i = nl + 1;
          ++line;
          continue;
        }
      }
      rec.line = line;
      record_started = true;
    }
    const char c = text[i];
    if (options.trim && field.empty() && !quoted && IsBlank(c)) {
      ++i;  // blanks before a field
      continue;
    }
    if (c == '"' && field.empty() && !quoted) {
      const uint64_t quote_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        const char d = text[i];
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
      if (!closed) return Status::InvalidArgument(where(quote_line), "unterminated quoted field");
      quoted = true;
      if (options.trim) {
        while (i < n && (IsBlank(text[i]) || (text[i] == '\r' && i + 1 < n && text[i + 1] != '\n')))
          ++i;
      }
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return Status::InvalidArgument(where(line), "text after a closing quote");
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

Status ReadAll(std::istream& in, std::string_view source, std::vector<Record>* records,
               const ReadOptions& options) {
  records->clear();
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(source, "read failed");
  return Parse(text, source, records, options);
}

void AppendField(std::string* line, std::string_view field) {
  const bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!field.empty() && (IsBlank(field.front()) || IsBlank(field.back())));
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
