// Copyright the gem authors. gemctl's human output (output.h).
#include "output.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace gemctl {

namespace proto = gem::protocol;

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < width.size(); ++c) {
      std::string cell = c < r.size() ? r[c] : "";
      s += cell;
      if (c + 1 < width.size()) s += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::printf("%s\n", s.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string FormatTime(int64_t t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatNumber(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

void PrintJob(const proto::JobInfo& j) {
  std::printf("job %llu: %s\n", static_cast<unsigned long long>(j.id), j.status.c_str());
  std::printf("  tree/task:        %s / %s\n", j.tree.c_str(), j.task.c_str());
  std::printf("  method:           %s, %u queries per model, seed %llu\n", j.method.c_str(),
              j.queries_per_model, static_cast<unsigned long long>(j.seed));
  std::string who = j.user;
  if (j.uid >= 0) who += " (uid " + std::to_string(j.uid) + ")";
  if (!j.curve_key.empty()) who += " (curve key " + j.curve_key + ")";
  std::printf("  started by:       %s\n", who.c_str());
  std::printf("  created/started:  %s / %s\n", FormatTime(j.created_at).c_str(),
              FormatTime(j.started_at).c_str());
  if (j.finished_at) std::printf("  finished:         %s\n", FormatTime(j.finished_at).c_str());
  if (!j.device.empty())
    std::printf("  device:           %s (attempt %u)\n", j.device.c_str(), j.attempts);
  std::printf("  progress:         %llu / %llu evaluations",
              static_cast<unsigned long long>(j.progress.spent),
              static_cast<unsigned long long>(j.progress.budget));
  if (j.progress.round)
    std::printf(", round %u, %u survivors", j.progress.round, j.progress.survivors);
  std::printf("\n");
  std::printf("  evaluations:      %llu run, %llu from cache\n",
              static_cast<unsigned long long>(j.evaluations_run),
              static_cast<unsigned long long>(j.evaluations_cached));
  if (j.chosen_model >= 0) {
    std::printf("  chosen model:     %lld %s(%s)\n", static_cast<long long>(j.chosen_model),
                j.chosen_model_name.empty() ? "" : (j.chosen_model_name + " ").c_str(),
                j.chosen_model_digest.substr(0, 12).c_str());
  }
  if (!j.error.empty()) std::printf("  note:             %s\n", j.error.c_str());
  if (!j.executor.empty()) std::printf("  executor:         %s\n", j.executor.c_str());
  const auto lines = NewPlacementLines(proto::JobInfo{}, j);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::printf("  %s%s\n", i == 0 ? "where units ran:  " : "                  ", lines[i].c_str());
  }
}

namespace {

std::string PlacementLine(const proto::Placement& p) {
  std::string where = p.node.empty() ? "?" : p.node;
  if (!p.gpu.empty()) where += " gpu " + p.gpu;
  return "round " + std::to_string(p.round) + ": " + where + " (" + p.device + ", worker " +
         p.worker + ") " + std::to_string(p.units) + (p.units == 1 ? " unit, " : " units, ") +
         std::to_string(p.results) + " results";
}

}  // namespace

std::vector<std::string> NewPlacementLines(const proto::JobInfo& before,
                                           const proto::JobInfo& now) {
  std::vector<std::string> out;
  for (const auto& p : now.placements) {
    bool seen = false;
    for (const auto& q : before.placements) {
      seen |=
          before.id == now.id && q.round == p.round && q.worker == p.worker && q.units == p.units;
    }
    if (!seen) out.push_back(PlacementLine(p));
  }
  return out;
}

ProgressBar::ProgressBar() : tty_(::isatty(STDERR_FILENO)) {}

void ProgressBar::Update(const proto::JobInfo& j) {
  const double frac = j.progress.budget ? static_cast<double>(j.progress.spent) /
                                              static_cast<double>(j.progress.budget)
                                        : 0.0;
  char text[256];
  std::snprintf(text, sizeof(text),
                "job %llu %-9s %5.1f%%  %llu/%llu evals  round %u  %u left  "
                "leader %u  (%llu cached)",
                static_cast<unsigned long long>(j.id), j.status.c_str(), 100 * frac,
                static_cast<unsigned long long>(j.progress.spent),
                static_cast<unsigned long long>(j.progress.budget), j.progress.round,
                j.progress.survivors, j.progress.leader,
                static_cast<unsigned long long>(j.evaluations_cached));
  if (tty_) {
    const int width = 30;
    int filled = static_cast<int>(frac * width + 0.5);
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    std::fprintf(stderr, "\r\033[K%s%s", bar.c_str(), text);
    std::fflush(stderr);
    drawn_ = true;
  } else {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    if (now - last_line_ms_ >= 1000 || proto::IsFinalJobState(j.status)) {
      std::fprintf(stderr, "%s\n", text);
      last_line_ms_ = now;
    }
  }
}

void ProgressBar::Note(const std::string& line) {
  if (tty_ && drawn_) {
    std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
    drawn_ = false;
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

void ProgressBar::Finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace gemctl
