// Copyright the gem authors. Real 0/1 matrices (format: gem/population.h).
#include <string>

#include "gem/csv.h"
#include "gem/population.h"
#include "search/csv.h"

namespace gem {
namespace {

using Line = csv::Record;

std::string Where(std::string_view name, size_t line, size_t col) {
  return std::string(name) + ":" + std::to_string(line) + ": column " + std::to_string(col + 1);
}

bool IsBit(std::string_view f) { return f == "0" || f == "1"; }

}  // namespace

Result<Population> ParseMatrixCsv(std::string_view text, std::string_view name) {
  std::vector<Line> lines;
  GEM_RETURN_IF_ERROR(csv::Parse(text, name, &lines, search_internal::kFormatCsv));
  if (lines.empty()) return Status::InvalidArgument(name, "empty file (expected rows of 0/1)");

  bool has_header = false;
  for (const auto& f : lines[0].fields) has_header |= !IsBit(f);
  const size_t width = lines[0].fields.size();
  int id_col = -1, pop_col = -1;
  if (has_header) {
    for (size_t i = 0; i < width; ++i) {
      const std::string_view f = lines[0].fields[i];
      if (f == "model" || f == "model_id" || f == "node_id" || f == "name") {
        if (id_col >= 0)
          return Status::InvalidArgument(Where(name, lines[0].line, i), "second model-id column");
        id_col = static_cast<int>(i);
      } else if (f == "popularity") {
        pop_col = static_cast<int>(i);
      }
    }
  }
  const size_t num_queries = width - (id_col >= 0) - (pop_col >= 0);
  if (num_queries == 0) return Status::InvalidArgument(name, "no query columns");
  const size_t first_row = has_header ? 1 : 0;
  const size_t num_models = lines.size() - first_row;
  if (num_models == 0) return Status::InvalidArgument(name, "no model rows after the header");

  auto matrix = std::make_shared<ResponseMatrix>(static_cast<uint32_t>(num_models),
                                                 static_cast<uint32_t>(num_queries));
  Population p;
  p.name = std::string(name);
  p.metric = "matrix";
  for (size_t r = first_row; r < lines.size(); ++r) {
    const Line& l = lines[r];
    if (l.fields.size() != width) {
      return Status::InvalidArgument(
          std::string(name) + ":" + std::to_string(l.line),
          "has " + std::to_string(l.fields.size()) + " fields, expected " + std::to_string(width));
    }
    const uint32_t m = static_cast<uint32_t>(r - first_row);
    uint32_t q = 0;
    for (size_t c = 0; c < width; ++c) {
      const std::string_view f = l.fields[c];
      if (static_cast<int>(c) == id_col) {
        p.model_ids.emplace_back(f);
      } else if (static_cast<int>(c) == pop_col) {
        double v;
        if (!search_internal::ParseDouble(f, &v)) {
          return Status::InvalidArgument(Where(name, l.line, c),
                                         "popularity \"" + std::string(f) + "\" is not a number");
        }
        p.popularity.push_back(v);
      } else {
        if (!IsBit(f)) {
          return Status::InvalidArgument(Where(name, l.line, c),
                                         "cell \"" + std::string(f) + "\" is not 0 or 1");
        }
        matrix->Set(m, q++, f == "1");
      }
    }
    if (id_col < 0) p.model_ids.push_back(std::to_string(m));
  }
  for (uint32_t m = 0; m < matrix->num_models(); ++m) p.accuracy.push_back(matrix->RowMean(m));
  p.matrix = std::move(matrix);
  return p;
}

Result<Population> LoadMatrixCsv(const std::string& path) {
  std::string text;
  GEM_RETURN_IF_ERROR(search_internal::ReadFile(path, &text));
  auto p = ParseMatrixCsv(text, path);
  if (p.ok()) p->name = search_internal::FileStem(path);
  return p;
}

}  // namespace gem
