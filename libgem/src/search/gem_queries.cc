// Copyright the gem authors. gem: which fresh shared queries a round takes.
//
// Correlated sampling needs every survivor of a round to answer the same new queries; which ones
// does not matter to the statistics as long as the choice does not look at answers. It does
// matter to the bill: in gemd a query already cached for the survivors costs no GPU time. So
// when the search walks the evaluator's own order (SearchOptions::shuffle_queries = false, gemd),
// a round looks at a window of the next untaken positions and takes first the queries the
// evaluator already knows for the most survivors (Evaluator::Known, which never runs a model),
// then the rest in order. Known status comes from earlier searches, not from this search's
// answers, so the pick stays blind to outcomes.
#include <algorithm>
#include <numeric>

#include "search/gem.h"

namespace gem::search_internal {

Status PickSharedQueries(SearchRun* run, std::span<const uint32_t> survivors, uint32_t n,
                         bool prefer_known, std::vector<uint8_t>* taken, uint32_t* scan_from,
                         std::vector<uint32_t>* out) {
  out->clear();
  const uint32_t q = run->num_queries();
  while (*scan_from < q && (*taken)[*scan_from]) ++*scan_from;
  // The window: the next untaken positions. Plain order needs exactly n of them; preferring
  // known queries looks further (max(8n, n + 256) positions) so that cached queries a little
  // ahead can be found; the cost is one Known() call over survivors x window pairs.
  const uint64_t want = prefer_known ? std::max<uint64_t>(uint64_t{8} * n, uint64_t{n} + 256) : n;
  std::vector<uint32_t> window;
  for (uint32_t p = *scan_from; p < q && window.size() < want; ++p) {
    if (!(*taken)[p]) window.push_back(p);
  }
  if (prefer_known && window.size() > n && !survivors.empty()) {
    std::vector<EvalRequest> req;
    req.reserve(window.size() * survivors.size());
    for (uint32_t p : window) {
      for (uint32_t m : survivors) req.push_back({m, run->SharedQuery(p)});
    }
    std::vector<uint8_t> known(req.size(), 0);
    GEM_RETURN_IF_ERROR(run->Known(req, known));
    std::vector<uint32_t> count(window.size(), 0);
    for (size_t i = 0; i < req.size(); ++i) count[i / survivors.size()] += known[i] ? 1 : 0;
    std::vector<uint32_t> idx(window.size());
    std::iota(idx.begin(), idx.end(), 0u);
    // Most survivors known first; ties keep the evaluator's order.
    std::stable_sort(idx.begin(), idx.end(),
                     [&](uint32_t a, uint32_t b) { return count[a] > count[b]; });
    idx.resize(n);
    std::sort(idx.begin(), idx.end());
    std::vector<uint32_t> chosen;
    for (uint32_t i : idx) chosen.push_back(window[i]);
    window = std::move(chosen);
  }
  if (window.size() > n) window.resize(n);
  for (uint32_t p : window) {
    (*taken)[p] = 1;
    out->push_back(run->SharedQuery(p));
  }
  return Status::OK();
}

}  // namespace gem::search_internal
