// Copyright the gem authors. EngineEvaluator: per model, activate once, generate all its
// queries (both prompt variants) in one batched Generate() call, grade.
#include "gem/engine_evaluator.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <utility>

#include "gem/chat.h"
#include "gem/grader.h"
#include "gem/tokenizer.h"

namespace gem {

namespace {

struct Answer {
  uint8_t correct = 0;
  EvalDetail detail;
};

using PairKey = std::pair<uint32_t, uint32_t>;  // (model, query)

}  // namespace

struct EngineEvaluator::Impl {
  class View final : public Evaluator {
   public:
    View(Impl* impl, uint8_t v) : impl_(impl), v_(v) {}
    uint32_t num_models() const override { return static_cast<uint32_t>(impl_->cands.size()); }
    uint32_t num_queries() const override { return impl_->task->size(); }
    Status Evaluate(std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                    std::vector<EvalDetail>* details) override {
      return impl_->Evaluate(v_, requests, outcomes, details);
    }

   private:
    Impl* impl_;
    uint8_t v_;
  };

  Model* model = nullptr;
  const Tokenizer* tok = nullptr;
  ChatStyle style;
  std::vector<EngineCandidate> cands;
  std::shared_ptr<const Task> task;
  EngineEvalOptions options;
  std::unique_ptr<View> views[kNumPromptVariants];
  WorkingSet ws;
  int active = -1;  // candidate index whose weights the model runs; -1: unknown
  std::map<int, std::unique_ptr<DeltaFile>> deltas;
  std::map<int, std::unique_ptr<LoraAdapter>> adapters;
  // Results generated for the other variant, waiting for that variant's next Evaluate().
  std::map<PairKey, Answer> pending[kNumPromptVariants];
  Stats stats;
  // The delta being opened and decoded in the background for the next activation (one at a
  // time). The prefetch thread writes prefetch_opened only; both are read after joining it.
  int prefetch_model = -1;
  std::unique_ptr<DeltaFile> prefetch_opened;
  std::future<void> prefetch_done;

  ~Impl() { FinishPrefetch(); }

  // Starts decoding candidate m's delta on a background thread, unless m is not a delta, is
  // active, or a prefetch is running. Errors are left for Activate(m), which repeats the work.
  void StartPrefetch(int m) {
    if (m < 0 || options.prefetch_max_bytes == 0 || prefetch_model >= 0 || m == active ||
        cands[m].kind != EngineCandidate::Kind::kDelta) {
      return;
    }
    auto it = deltas.find(m);
    DeltaFile* open = it != deltas.end() ? it->second.get() : nullptr;
    prefetch_model = m;
    prefetch_done = std::async(std::launch::async, [this, open, path = cands[m].path,
                                                    budget = options.prefetch_max_bytes] {
      DeltaFile* d = open;
      if (d == nullptr) {
        auto r = DeltaFile::Open(path);
        if (!r.ok()) return;
        prefetch_opened = std::move(r).value();
        d = prefetch_opened.get();
      }
      (void)d->Prefetch(budget);  // on failure nothing is kept and Apply() reports it
    });
  }

  // Joins the prefetch; keeps the file it opened. Returns the candidate it was for (-1: none).
  int FinishPrefetch() {
    if (prefetch_model < 0) return -1;
    prefetch_done.get();
    const int m = prefetch_model;
    prefetch_model = -1;
    if (prefetch_opened) deltas[m] = std::move(prefetch_opened);
    return m;
  }

  Status Activate(int m) {
    if (active == m) return Status::OK();
    const int prefetched = FinishPrefetch();
    if (prefetched >= 0 && prefetched != m) {
      auto it = deltas.find(prefetched);
      if (it != deltas.end()) it->second->ReleasePrefetched();
    }
    const EngineCandidate& c = cands[m];
    active = -1;  // until this succeeds
    switch (c.kind) {
      case EngineCandidate::Kind::kBase:
        ws.Deactivate(model);
        break;
      case EngineCandidate::Kind::kDelta: {
        auto& d = deltas[m];
        if (!d) {
          auto r = DeltaFile::Open(c.path);
          if (!r.ok()) return r.status().WithContext("candidate '" + c.name + "'");
          d = std::move(r).value();
        }
        if (d->prefetched()) stats.prefetched++;
        Status s = ws.ActivateDelta(model, *d);
        d->ReleasePrefetched();  // applied: the decoded copy is no longer needed
        GEM_RETURN_IF_ERROR(s.WithContext("candidate '" + c.name + "'"));
        break;
      }
      case EngineCandidate::Kind::kMergedLora: {
        auto& a = adapters[m];
        if (!a) {
          auto r = LoraAdapter::Load(c.path);
          if (!r.ok()) return r.status().WithContext("candidate '" + c.name + "'");
          a = std::move(r).value();
        }
        GEM_RETURN_IF_ERROR(
            ws.ActivateMergedLora(model, *a).WithContext("candidate '" + c.name + "'"));
        break;
      }
    }
    active = m;
    stats.activations++;
    return Status::OK();
  }

  std::vector<int32_t> PromptIds(const Query& q, uint8_t variant) const {
    TaskPrompt p = MakePrompt(q, variant, style.default_system);
    // The format, not the style: variant 0 must not get the template's implicit default.
    std::string text = RenderChat(style.format, p.chat, /*add_generation_prompt=*/true);
    // A raw prompt carries no BOS text; add the tokenizer's BOS as HF's encode would.
    const bool add_bos = style.format == ChatFormat::kRaw && tok->add_bos_default();
    return tok->Encode(text, add_bos, /*parse_special=*/true);
  }

  Status Evaluate(uint8_t v, std::span<const EvalRequest> requests, std::span<EvalOutcome> outcomes,
                  std::vector<EvalDetail>* details) {
    const size_t n = requests.size();
    if (details) details->assign(n, EvalDetail{});
    std::map<PairKey, Answer> mine;
    // Requests answered by the other variant's generation need no model.
    std::map<uint32_t, std::vector<uint32_t>> by_model;  // model -> distinct queries to run
    for (const auto& r : requests) {
      PairKey k{r.model, r.query};
      if (mine.count(k)) continue;
      auto it = pending[v].find(k);
      if (it != pending[v].end()) {
        mine[k] = std::move(it->second);
        pending[v].erase(it);
        stats.answered_from_pending++;
        continue;
      }
      auto& qs = by_model[r.model];
      if (std::find(qs.begin(), qs.end(), r.query) == qs.end()) qs.push_back(r.query);
    }
    // The active model first (no switch), then in index order.
    std::vector<uint32_t> order;
    if (active >= 0 && by_model.count(active)) order.push_back(active);
    for (const auto& [m, qs] : by_model) {
      if (static_cast<int>(m) != active) order.push_back(m);
    }
    for (size_t i = 0; i < order.size(); ++i) {
      const int next = i + 1 < order.size() ? static_cast<int>(order[i + 1]) : -1;
      GEM_RETURN_IF_ERROR(RunModel(v, order[i], next, by_model[order[i]], &mine));
    }
    for (size_t i = 0; i < n; ++i) {
      const Answer& a = mine.at({requests[i].model, requests[i].query});
      outcomes[i].correct = a.correct;
      outcomes[i].from_cache = 0;
      if (details) (*details)[i] = a.detail;
    }
    // What the other variant left for us and we did not ask for is stale now.
    pending[v].clear();
    return Status::OK();
  }

  // Activates m, starts decoding `next` (the model after it, -1: none) in the background, and
  // generates and grades m's queries.
  Status RunModel(uint8_t v, uint32_t m, int next, const std::vector<uint32_t>& queries,
                  std::map<PairKey, Answer>* mine) {
    GEM_RETURN_IF_ERROR(Activate(static_cast<int>(m)));
    StartPrefetch(next);
    std::vector<uint8_t> variants = {v};
    if (options.both_variants) variants.push_back(static_cast<uint8_t>(1 - v));
    std::vector<GenerateRequest> reqs;
    std::vector<std::pair<uint32_t, uint8_t>> what;  // (query, variant) of each request
    for (uint32_t q : queries) {
      const Query& query = task->query(q);
      for (uint8_t w : variants) {
        GenerateRequest g;
        g.prompt = PromptIds(query, w);
        g.max_new_tokens = static_cast<int>(query.max_new_tokens);
        g.stop_strings = query.stop;
        reqs.push_back(std::move(g));
        what.emplace_back(q, w);
      }
    }
    if (options.progress) {
      options.progress(cands[m].name + ": generating " + std::to_string(reqs.size()) +
                       " sequences");
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<GenerateResult> results;
    GEM_RETURN_IF_ERROR(Generate(*model, reqs, options.generate, &results)
                            .WithContext("candidate '" + cands[m].name + "'"));
    const double gen_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stats.generate_calls++;
    stats.sequences += reqs.size();
    for (size_t i = 0; i < reqs.size(); ++i) {
      const auto [q, w] = what[i];
      const Query& query = task->query(q);
      const auto g0 = std::chrono::steady_clock::now();
      const std::string text = CutAtStop(results[i].text, query.stop);
      auto grade = GradeOutput(query, text, options.sandbox);
      if (!grade.ok()) return grade.status().WithContext("grading " + query.id);
      Answer a;
      a.correct = grade->correct ? 1 : 0;
      a.detail.output = text;
      a.detail.reason = grade->reason;
      a.detail.tokens_in = static_cast<uint32_t>(reqs[i].prompt.size());
      a.detail.tokens_out = static_cast<uint32_t>(results[i].tokens.size());
      a.detail.seconds = static_cast<float>(
          gen_seconds / reqs.size() +
          std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count());
      a.detail.variant = w;
      stats.tokens_out += results[i].tokens.size();
      if (w == v) {
        (*mine)[{m, q}] = std::move(a);
      } else {
        pending[w][{m, q}] = std::move(a);
      }
    }
    return Status::OK();
  }
};

EngineEvaluator::EngineEvaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EngineEvaluator::~EngineEvaluator() = default;

Result<std::unique_ptr<EngineEvaluator>> EngineEvaluator::Create(
    Model* base, std::vector<EngineCandidate> candidates, std::shared_ptr<const Task> task,
    EngineEvalOptions options) {
  if (base == nullptr) return Status::InvalidArgument("engine evaluator: no model");
  if (base->tokenizer() == nullptr) {
    return Status::InvalidArgument(base->source(), "has no tokenizer; prompts need one");
  }
  if (candidates.empty()) return Status::InvalidArgument("engine evaluator: no candidates");
  if (!task || task->size() == 0) return Status::InvalidArgument("engine evaluator: empty task");
  auto impl = std::make_unique<Impl>();
  impl->model = base;
  impl->tok = base->tokenizer();
  impl->style = DetectChatStyle(impl->tok->chat_template());
  impl->cands = std::move(candidates);
  impl->task = std::move(task);
  impl->options = std::move(options);
  for (uint8_t v = 0; v < kNumPromptVariants; ++v) {
    impl->views[v] = std::make_unique<Impl::View>(impl.get(), v);
  }
  return std::unique_ptr<EngineEvaluator>(new EngineEvaluator(std::move(impl)));
}

Evaluator* EngineEvaluator::variant(uint8_t v) {
  return impl_->views[v < kNumPromptVariants ? v : 0].get();
}

EvalConfig EngineEvaluator::config(uint8_t v) const {
  EvalConfig c;
  c.engine_version = std::string("gem-engine ") + GEM_VERSION;
  c.prompt_template = impl_->tok->chat_template();
  c.system_prompt = v == kWithSystemPrompt ? impl_->style.default_system : "";
  c.extra = "prompt_variant=" + std::to_string(v) + "\n";
  // Integer weight types compute other logits than the f32 path (f32/f16/bf16 give its bits):
  // their answers are keyed apart.
  const std::string numerics = impl_->model->NumericsId();
  if (!numerics.empty()) c.extra += "weights=" + numerics + "\n";
  // Another backend's kernels give close but not identical logits (docs/GPU.md, "Cache sharing
  // between backends"): its answers are keyed apart too. The CPU backend's keys are unchanged.
  const std::string backend = impl_->model->backend_name();
  if (backend == "cuda") {
    c.extra += "numerics=cuda.v1\n";  // engine/cuda/backend_cuda.h kCudaNumericsId
  } else if (backend != "cpu") {
    c.extra += "numerics=" + backend + "\n";
  }
  return c;
}

std::vector<Digest> EngineEvaluator::model_digests() const {
  std::vector<Digest> d;
  for (const auto& c : impl_->cands) d.push_back(c.digest);
  return d;
}

std::vector<Digest> EngineEvaluator::query_digests() const {
  std::vector<Digest> d;
  for (const auto& q : impl_->task->queries()) d.push_back(q.digest);
  return d;
}

const std::vector<EngineCandidate>& EngineEvaluator::candidates() const { return impl_->cands; }

EngineEvaluator::Stats EngineEvaluator::stats() const { return impl_->stats; }

}  // namespace gem
