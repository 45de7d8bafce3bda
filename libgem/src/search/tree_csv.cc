// Copyright the gem authors. Per-model accuracy tables (format: gem/population.h).
#include <string>

#include "gem/csv.h"
#include "gem/population.h"
#include "search/csv.h"

namespace gem {
namespace {

using Line = csv::Record;

int FindColumn(const Line& header, std::string_view name) {
  for (size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i] == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Where(std::string_view name, size_t line) {
  return std::string(name) + ":" + std::to_string(line);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<TreeTable> ParseTreeCsv(std::string_view text, const TreeCsvOptions& options,
                               std::string_view name) {
  std::vector<Line> lines;
  GEM_RETURN_IF_ERROR(csv::Parse(text, name, &lines, search_internal::kFormatCsv));
  if (lines.empty()) return Status::InvalidArgument(name, "empty file (expected a header line)");
  const Line& header = lines[0];
  const int metric_col = FindColumn(header, options.metric);
  if (metric_col < 0) {
    std::string have;
    for (const auto& f : header.fields) have += (have.empty() ? "" : ", ") + std::string(f);
    return Status::InvalidArgument(Where(name, header.line),
                                   "no column \"" + options.metric + "\" (columns: " + have + ")");
  }
  const bool percent = EndsWith(options.metric, "_pct");
  // routerbench_total_pct -> routerbench_total_clipped
  std::string stem = options.metric;
  if (percent) stem.resize(stem.size() - 4);
  const int clipped_col = FindColumn(header, stem + "_clipped");
  const int pop_col =
      options.popularity_column.empty() ? -1 : FindColumn(header, options.popularity_column);
  const int id_col = FindColumn(header, "node_id");

  TreeTable t;
  t.name = std::string(name);
  t.metric = options.metric;
  for (size_t i = 1; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.fields.size() != header.fields.size()) {
      return Status::InvalidArgument(Where(name, l.line), "has " + std::to_string(l.fields.size()) +
                                                              " fields, header has " +
                                                              std::to_string(header.fields.size()));
    }
    auto field = [&](int col) -> const std::string& { return l.fields[static_cast<size_t>(col)]; };
    double acc;
    if (!search_internal::ParseDouble(field(metric_col), &acc)) {
      return Status::InvalidArgument(
          Where(name, l.line),
          options.metric + " value \"" + std::string(field(metric_col)) + "\" is not a number");
    }
    const double hi = percent ? 100.0 : 1.0;
    if (acc < 0 || acc > hi) {
      return Status::InvalidArgument(Where(name, l.line),
                                     options.metric + " value " + std::string(field(metric_col)) +
                                         " is outside [0, " + (percent ? "100" : "1") + "]");
    }
    t.accuracy.push_back(percent ? acc / 100.0 : acc);
    uint8_t clipped = 0;
    if (clipped_col >= 0) {
      const std::string_view c = field(clipped_col);
      if (c != "0" && c != "1") {
        return Status::InvalidArgument(
            Where(name, l.line), stem + "_clipped value \"" + std::string(c) + "\" is not 0 or 1");
      }
      clipped = c == "1";
    }
    t.clipped.push_back(clipped);
    if (pop_col >= 0) {
      double p;
      if (!search_internal::ParseDouble(field(pop_col), &p)) {
        return Status::InvalidArgument(Where(name, l.line),
                                       options.popularity_column + " value \"" +
                                           std::string(field(pop_col)) + "\" is not a number");
      }
      t.popularity.push_back(p);
    }
    t.model_ids.push_back(id_col >= 0 ? std::string(field(id_col)) : std::to_string(i - 1));
  }
  if (t.accuracy.empty()) return Status::InvalidArgument(name, "no model rows after the header");
  return t;
}

Result<TreeTable> LoadTreeCsv(const std::string& path, const TreeCsvOptions& options) {
  std::string text;
  GEM_RETURN_IF_ERROR(search_internal::ReadFile(path, &text));
  auto t = ParseTreeCsv(text, options, path);
  if (t.ok()) t->name = search_internal::FileStem(path);
  return t;
}

}  // namespace gem
