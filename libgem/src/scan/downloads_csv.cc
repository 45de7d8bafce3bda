// Copyright the gem authors. The downloads CSV of `gemctl tree scan --downloads`
// (docs/TREE_SCAN.md): a header naming an identity column and a `downloads` column, one model per
// line.
#include <charconv>

#include "gem/csv.h"
#include "scan/scan_internal.h"
#include "search/csv.h"

namespace gem::scan_internal {

Result<std::vector<std::pair<std::string, int64_t>>> ReadDownloadsCsv(const std::string& path) {
  std::string text;
  GEM_RETURN_IF_ERROR(search_internal::ReadFile(path, &text));
  std::vector<csv::Record> lines;  // hand-edited like the tree format: trimmed, '#' comments
  GEM_RETURN_IF_ERROR(csv::Parse(text, path, &lines, search_internal::kFormatCsv));
  if (lines.empty()) return Status::InvalidArgument(path, "empty (expected a header line)");
  const auto& header = lines[0].fields;
  int id_col = -1, dl_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "downloads") dl_col = static_cast<int>(i);
  }
  for (const char* want : kDownloadsIdColumns) {
    for (size_t i = 0; i < header.size() && id_col < 0; ++i) {
      if (header[i] == want) id_col = static_cast<int>(i);
    }
  }
  if (dl_col < 0 || id_col < 0) {
    return Status::InvalidArgument(
        path, "line " + std::to_string(lines[0].line) +
                  ": the header needs a 'downloads' column and a 'model' (or 'repo', 'repo_id', "
                  "'id') column");
  }
  std::vector<std::pair<std::string, int64_t>> out;
  for (size_t l = 1; l < lines.size(); ++l) {
    const auto& f = lines[l].fields;
    const std::string where = "line " + std::to_string(lines[l].line);
    if (f.size() <= static_cast<size_t>(std::max(id_col, dl_col))) {
      return Status::InvalidArgument(path, where + ": " + std::to_string(f.size()) +
                                               " fields, the header has " +
                                               std::to_string(header.size()));
    }
    const std::string_view v = f[dl_col];
    int64_t n = -1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
      return Status::InvalidArgument(
          path, where + ": downloads '" + std::string(v) + "' is not a whole number >= 0");
    }
    if (f[id_col].empty()) return Status::InvalidArgument(path, where + ": empty model id");
    out.emplace_back(std::string(f[id_col]), n);
  }
  return out;
}

}  // namespace gem::scan_internal
