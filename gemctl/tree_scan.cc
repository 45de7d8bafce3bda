// Copyright the gem authors. gemctl tree scan (tree_scan.h).
#include "tree_scan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "gem/tree_scan.h"
#include "output.h"

namespace gemctl {

int TreeScan(Globals& g, const TreeScanArgs& a) {
  gem::ScanOptions opt;
  opt.roots = a.paths;
  opt.base = a.base;
  opt.downloads_csv = a.downloads;
  opt.name = a.name;
  opt.digests = !a.no_digests;
  const bool tty = isatty(STDERR_FILENO);
  size_t hashed = 0;
  opt.progress = [&](const std::string& line) {
    if (!tty) return;  // logs get the summary, not a line per model
    if (line.rfind("hashing ", 0) == 0) ++hashed;
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  };
  auto scan = gem::ScanTree(opt);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!scan.ok()) return Complain(scan.status());

  // The summary goes where the manifest does not.
  FILE* says = a.out.empty() ? stderr : stdout;
  if (a.out.empty()) {
    std::fputs(gem::ScanManifestJson(*scan).c_str(), stdout);
  } else if (gem::Status st = gem::WriteScanManifest(*scan, a.out); !st.ok()) {
    return Complain(st);
  }
  if (g.json) return 0;  // the manifest is the machine-readable answer
  auto dl = [](const gem::ScannedModel& m) {
    return m.downloads < 0 ? std::string("?")
                           : std::to_string(m.downloads) + " (" + m.downloads_source + ")";
  };
  auto digest = [](const gem::ScannedModel& m) {
    return m.digest == gem::Digest{} ? std::string("-") : m.digest.ShortHex();
  };
  std::fprintf(says, "tree %s: base %s and %zu descendants placed, %zu left out (%zu models)\n",
               scan->name.c_str(), scan->base.id.c_str(), scan->candidates.size(),
               scan->left_out.size(), scan->models_seen());
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"base", scan->base.id, "-", dl(scan->base), digest(scan->base)});
  for (const auto& c : scan->candidates) {
    rows.push_back({c.relation, c.id, c.parent, dl(c), digest(c)});
  }
  if (says == stdout) {
    PrintTable({"RELATION", "MODEL", "PARENT", "DOWNLOADS", "DIGEST"}, rows);
  } else {  // PrintTable writes to stdout, which holds the manifest here
    for (const auto& r : rows) {
      std::fprintf(says, "  %-12s %s <- %s, downloads %s, digest %s\n", r[0].c_str(), r[1].c_str(),
                   r[2].c_str(), r[3].c_str(), r[4].c_str());
    }
  }
  // Notes grouped by what they say: hundreds of models share a few.
  std::vector<std::pair<std::string, std::string>> notes;  // note -> models, first-seen order
  auto note = [&](const gem::ScannedModel& m) {
    for (const auto& n : m.notes) {
      auto it =
          std::find_if(notes.begin(), notes.end(), [&](const auto& p) { return p.first == n; });
      if (it == notes.end()) {
        notes.emplace_back(n, m.id);
      } else {
        it->second += ", " + m.id;
      }
    }
  };
  note(scan->base);
  for (const auto& c : scan->candidates) note(c);
  for (const auto& [n, ids] : notes) std::fprintf(says, "note: %s: %s\n", n.c_str(), ids.c_str());
  for (const auto& w : scan->warnings) std::fprintf(says, "warning: %s\n", w.c_str());
  for (const auto& p : scan->left_out) {
    std::fprintf(says, "left out: %s (%s): %s\n", p.id.empty() ? "?" : p.id.c_str(), p.path.c_str(),
                 p.reason.c_str());
  }
  if (!a.out.empty()) {
    std::fprintf(says, "wrote %s; register it with: gemctl tree register %s --task TASK\n",
                 a.out.c_str(), a.out.c_str());
  }
  return 0;
}

}  // namespace gemctl
