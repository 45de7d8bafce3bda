// Copyright the gem authors. ScanTree: found models -> parents -> the tree of one base.
//
// Placement is a fixed point over "who is placed": a model is placed when it is the base, or
// when it has no problem of its own and its parent is placed (and, for an adapter, that parent
// is the base itself). Hashing can add problems (a weight file that does not open), so placement
// runs again after it until nothing changes.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "gem/adapter.h"
#include "gem/delta.h"
#include "gem/delta_checkpoint.h"
#include "gem/safetensors.h"
#include "gem/tree_scan.h"
#include "scan/scan_internal.h"

namespace gem {
namespace {

namespace fs = std::filesystem;
using scan_internal::FoundModel;
using scan_internal::Inspected;

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

class Placer {
 public:
  explicit Placer(std::vector<Inspected>* models) : m_(*models) {
    for (size_t i = 0; i < m_.size(); ++i) {
      by_id_.emplace(m_[i].found.id, i);
      by_dir_.emplace(m_[i].canonical_dir, i);
      by_dir_.emplace(m_[i].canonical_entry, i);
    }
  }

  // The model a reference names: an identity, or a path (absolute, or relative to `from`).
  int Resolve(const std::string& ref, const fs::path& from) const {
    if (ref.empty()) return -1;
    if (auto it = by_id_.find(ref); it != by_id_.end()) return static_cast<int>(it->second);
    std::error_code ec;
    const fs::path p = fs::path(ref).is_absolute() ? fs::path(ref) : from / ref;
    if (!fs::exists(p, ec)) return -1;
    const std::string c = fs::weakly_canonical(p, ec).string();
    if (auto it = by_dir_.find(c); it != by_dir_.end()) return static_cast<int>(it->second);
    return -1;
  }

  // Links each model to its parent (or records why it cannot be linked).
  void LinkParents() {
    parent_.assign(m_.size(), -1);
    for (size_t i = 0; i < m_.size(); ++i) {
      Inspected& m = m_[i];
      if (!m.problems.empty()) continue;
      const fs::path dir = m.found.dir;
      const auto& bases = m.card.base_models;
      if (m.adapter) {
        const int a = Resolve(m.adapter_base, dir);
        const int c = bases.empty() ? -1 : Resolve(bases[0], dir);
        if (a >= 0 && c >= 0 && a != c) {
          m.problems.push_back("adapter_config.json's base_model_name_or_path '" + m.adapter_base +
                               "' is '" + m_[a].found.id + "' but README.md's base_model '" +
                               bases[0] + "' is '" + m_[c].found.id + "'");
          continue;
        }
        parent_[i] = a >= 0 ? a : c;
        if (a < 0 && c >= 0 && !m.adapter_base.empty()) {
          m.notes.push_back("adapter_config.json's base_model_name_or_path '" + m.adapter_base +
                            "' names no scanned model; README.md's base_model '" + bases[0] +
                            "' does");
        }
        if (parent_[i] < 0 && (!m.adapter_base.empty() || !bases.empty())) {
          std::vector<std::string> tried;
          if (!m.adapter_base.empty())
            tried.push_back("'" + m.adapter_base + "' (adapter_config.json)");
          if (!bases.empty()) tried.push_back("'" + bases[0] + "' (README.md base_model)");
          m.problems.push_back("its base model " + Join(tried, " / ") +
                               " is not among the scanned models");
        }
      } else if (!bases.empty()) {
        parent_[i] = Resolve(bases[0], dir);
        if (parent_[i] < 0) {
          m.problems.push_back("its base model '" + bases[0] +
                               "' (README.md base_model) is not among the scanned models");
        }
      }
    }
  }

  bool names_parent(size_t i) const {
    return m_[i].adapter ? !m_[i].adapter_base.empty() || !m_[i].card.base_models.empty()
                         : !m_[i].card.base_models.empty();
  }
  int parent(size_t i) const { return parent_[i]; }

  // Decides placed / left out for every model, with reasons for the left out.
  void Place(size_t base, std::vector<std::string>* reason) {
    reason->assign(m_.size(), "");
    std::vector<int> state(m_.size(), 0);  // 0 unknown, 1 visiting, 2 placed, 3 left out
    std::vector<size_t> stack;
    std::function<int(size_t)> visit = [&](size_t i) -> int {
      if (state[i] == 2 || state[i] == 3) return state[i];
      if (i == base) return state[i] = 2;
      const Inspected& m = m_[i];
      auto leave = [&](std::string why) {
        (*reason)[i] = std::move(why);
        return state[i] = 3;
      };
      if (!m.problems.empty()) return leave(Join(m.problems, "; "));
      const int p = parent_[i];
      if (p < 0) {
        return leave(
            "names no base model (no base_model in README.md, no adapter_config.json) "
            "and is not the tree's base '" +
            m_[base].found.id + "'");
      }
      if (state[p] == 1) {  // a cycle: name it from p around to p
        std::vector<std::string> ids = {m_[p].found.id};
        for (size_t k = stack.size(); k-- > 0 && stack[k] != static_cast<size_t>(p);)
          ids.push_back(m_[stack[k]].found.id);
        std::reverse(ids.begin() + 1, ids.end());
        ids.push_back(m_[p].found.id);
        return leave("its base models form a cycle: " + Join(ids, " -> "));
      }
      state[i] = 1;
      stack.push_back(i);
      const int ps = visit(p);
      stack.pop_back();
      if (ps == 3) {
        return leave("its parent '" + m_[p].found.id + "' was left out");
      }
      if (m.adapter && static_cast<size_t>(p) != base) {
        return leave("an adapter on '" + m_[p].found.id + "', not on the tree's base '" +
                     m_[base].found.id + "': gem applies adapters to the base only");
      }
      return state[i] = 2;
    };
    for (size_t i = 0; i < m_.size(); ++i) {
      if (state[i] == 0) visit(i);
      if (state[i] == 1) state[i] = 3;  // unwound from a cycle without a verdict
    }
  }

 private:
  std::vector<Inspected>& m_;
  std::map<std::string, size_t> by_id_;
  std::map<std::string, size_t> by_dir_;
  std::vector<int> parent_;
};

// The digest registration will compute for this model (see gem/tree_scan.h).
Result<Digest> DigestOf(const Inspected& m) {
  if (m.adapter) {
    auto a = LoraAdapter::Load(m.found.dir);
    if (!a.ok()) return a.status();
    return (*a)->digest();
  }
  if (m.delta_checkpoint) {
    auto d = ReadDeltaCheckpoint(m.found.dir);
    if (!d.ok()) return d.status();
    return d->model_digest;
  }
  auto set = SafetensorsSet::Open(m.found.dir);
  if (!set.ok()) return set.status();
  return WeightsDigest(**set);
}

}  // namespace

Result<TreeScan> ScanTree(const ScanOptions& options) {
  if (options.roots.empty()) return Status::InvalidArgument("tree scan", "no folder to scan");
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  std::vector<FoundModel> found;
  for (const std::string& root : options.roots) {
    GEM_RETURN_IF_ERROR(scan_internal::WalkRoot(root, &found));
  }
  std::error_code ec;
  if (!options.base.empty() && fs::is_directory(options.base, ec)) {
    GEM_RETURN_IF_ERROR(scan_internal::WalkRoot(options.base, &found));
  }
  progress("found " + std::to_string(found.size()) + " model folders");

  // One model per folder (overlapping roots find some twice); identities must be unique.
  std::vector<Inspected> models;
  std::vector<ScanProblem> left_out;
  std::set<std::string> dirs;
  std::map<std::string, std::string> ids;  // id -> folder
  for (FoundModel& f : found) {
    const std::string c = fs::weakly_canonical(f.dir, ec).string();
    if (!dirs.insert(c).second) continue;
    if (auto it = ids.find(f.id); it != ids.end()) {
      left_out.push_back({f.id, f.dir,
                          "the identity '" + f.id + "' is also " + it->second +
                              "'s (the same model scanned twice?)"});
      continue;
    }
    ids.emplace(f.id, f.dir);
    models.push_back(scan_internal::Inspect(std::move(f)));
  }

  std::vector<std::pair<std::string, int64_t>> csv;
  if (!options.downloads_csv.empty()) {
    auto r = scan_internal::ReadDownloadsCsv(options.downloads_csv);
    if (!r.ok()) return r.status();
    csv = std::move(*r);
  }

  Placer placer(&models);
  placer.LinkParents();

  // The base.
  size_t base = models.size();
  if (!options.base.empty()) {
    const int b = placer.Resolve(options.base, fs::current_path(ec));
    if (b < 0) {
      std::vector<std::string> some;
      for (size_t i = 0; i < models.size() && i < 8; ++i) some.push_back(models[i].found.id);
      return Status::NotFound("--base '" + options.base + "'",
                              "no scanned model has this identity or folder (scanned: " +
                                  (some.empty() ? "none" : Join(some, ", ")) +
                                  (models.size() > 8 ? ", ..." : "") + ")");
    }
    base = static_cast<size_t>(b);
    if (placer.names_parent(base)) {
      models[base].notes.push_back(
          "the tree's base (--base), so the base model its files name "
          "is not followed");
      // Its own parent problems do not matter: it is the root here.
      std::erase_if(models[base].problems,
                    [](const std::string& p) { return p.rfind("its base model", 0) == 0; });
    }
  } else {
    std::vector<size_t> roots;
    for (size_t i = 0; i < models.size(); ++i) {
      if (models[i].problems.empty() && !placer.names_parent(i)) roots.push_back(i);
    }
    if (roots.size() != 1) {
      std::vector<std::string> names;
      for (size_t i : roots) names.push_back("'" + models[i].found.id + "'");
      return Status::InvalidArgument(
          "tree scan", roots.empty()
                           ? "no scanned model could be the base (each names a base "
                             "model, or was left out); choose one with --base"
                           : std::to_string(roots.size()) + " scanned models name no base model: " +
                                 Join(names, ", ") + "; choose the tree's base with --base");
    }
    base = roots[0];
  }
  Inspected& bm = models[base];
  if (!bm.problems.empty()) {
    return Status::InvalidArgument("the base '" + bm.found.id + "' (" + bm.found.dir + ")",
                                   Join(bm.problems, "; "));
  }
  if (bm.adapter || bm.delta_checkpoint) {
    return Status::InvalidArgument("the base '" + bm.found.id + "' (" + bm.found.dir + ")",
                                   bm.adapter ? "is an adapter; the base must be a model"
                                              : "is a delta checkpoint; the base must hold "
                                                "its weights");
  }

  // Place, hash what is placed, and place again if hashing found a broken model.
  std::vector<std::string> reason;
  std::vector<Digest> digests(models.size());
  std::vector<bool> hashed(models.size(), false);
  for (;;) {
    placer.Place(base, &reason);
    bool changed = false;
    for (size_t i = 0; i < models.size() && options.digests; ++i) {
      if (!reason[i].empty() || hashed[i]) continue;
      progress("hashing " + models[i].found.id);
      auto d = DigestOf(models[i]);
      hashed[i] = true;
      if (d.ok()) {
        digests[i] = *d;
      } else if (i == base) {
        return d.status().WithContext("the base '" + models[i].found.id + "'");
      } else {
        models[i].problems.push_back(d.status().message());
        changed = true;
      }
    }
    if (!changed) break;
  }

  TreeScan scan;
  std::map<std::string, int64_t> downloads(csv.begin(), csv.end());
  std::set<std::string> csv_used;
  std::vector<std::string> unknown_downloads;
  auto make = [&](size_t i) {
    const Inspected& m = models[i];
    ScannedModel s;
    s.id = m.found.id;
    s.dir = m.found.dir;
    s.entry = m.found.entry;
    s.revision = m.found.revision;
    s.kind = m.adapter ? CandidateKind::kAdapter : CandidateKind::kFinetune;
    s.relation = i == base ? "base" : m.relation;
    if (i != base && placer.parent(i) >= 0) s.parent = models[placer.parent(i)].found.id;
    if (m.relation == "merge") {
      for (const std::string& ref : m.card.base_models) {
        const int r = placer.Resolve(ref, m.found.dir);
        s.merged_from.push_back(r >= 0 ? models[r].found.id : ref);
      }
    }
    s.tags = m.card.tags;
    if (auto it = downloads.find(s.id); it != downloads.end()) {
      s.downloads = it->second;
      s.downloads_source = "csv";
      csv_used.insert(s.id);
      if (m.card.downloads >= 0 && m.card.downloads != it->second) {
        s.notes.push_back("downloads " + std::to_string(it->second) +
                          " from the CSV (its card says " + std::to_string(m.card.downloads) + ")");
      }
    } else if (m.card.downloads >= 0) {
      s.downloads = m.card.downloads;
      s.downloads_source = "card";
    } else {
      unknown_downloads.push_back("'" + s.id + "'");
    }
    s.digest = digests[i];
    s.notes.insert(s.notes.end(), m.notes.begin(), m.notes.end());
    for (const std::string& w : m.warnings) scan.warnings.push_back("'" + s.id + "': " + w);
    return s;
  };
  scan.base = make(base);
  // Parents before children (breadth first from the base), siblings by identity.
  std::vector<size_t> frontier = {base};
  while (!frontier.empty()) {
    std::vector<size_t> next;
    for (size_t p : frontier) {
      std::vector<size_t> kids;
      for (size_t i = 0; i < models.size(); ++i) {
        if (i != base && reason[i].empty() && placer.parent(i) == static_cast<int>(p))
          kids.push_back(i);
      }
      std::sort(kids.begin(), kids.end(),
                [&](size_t a, size_t b) { return models[a].found.id < models[b].found.id; });
      for (size_t k : kids) scan.candidates.push_back(make(k));
      next.insert(next.end(), kids.begin(), kids.end());
    }
    frontier = std::move(next);
  }
  for (size_t i = 0; i < models.size(); ++i) {
    if (!reason[i].empty())
      left_out.push_back({models[i].found.id, models[i].found.dir, reason[i]});
  }
  std::sort(left_out.begin(), left_out.end(),
            [](const ScanProblem& a, const ScanProblem& b) { return a.path < b.path; });
  scan.left_out = std::move(left_out);
  if (!unknown_downloads.empty()) {
    scan.warnings.push_back("downloads unknown (" +
                            std::string(csv.empty() ? "" : "not in the CSV, ") +
                            "none in the card) for " + std::to_string(unknown_downloads.size()) +
                            " models: " + Join(unknown_downloads, ", "));
  }
  std::vector<std::string> unused;
  for (const auto& [id, n] : csv) {
    if (!csv_used.count(id) && ids.count(id) == 0) unused.push_back("'" + id + "'");
  }
  if (!unused.empty()) {
    scan.warnings.push_back(options.downloads_csv + ": no scanned model is " + Join(unused, ", "));
  }
  scan.name = options.name;
  if (scan.name.empty()) {
    scan.name = scan.base.id;
    std::replace(scan.name.begin(), scan.name.end(), '/', '-');
    scan.name += "-tree";
  }
  return scan;
}

}  // namespace gem
