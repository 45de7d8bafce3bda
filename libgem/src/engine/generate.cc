// Copyright the gem authors. Batched greedy generation: continuous batching over the slots of the
// KV cache, prompts prefilled in the same forward batches as other sequences' decoding steps,
// shared prompt prefixes prefilled once.
#include "gem/generate.h"

#include <algorithm>

#include "engine/model_impl.h"
#include "engine/prefix_groups.h"

namespace gem {
namespace {

// Where a sequence is in its life.
enum class Phase : uint8_t {
  kWaiting,     // not started
  kWaitPrefix,  // holds a slot; waits for its group's shared prefix to be prefilled
  kPrefill,     // prefilling its prompt (from `fed` on)
  kDecode,      // generating, one token per step
  kDone,
};

struct SeqState {
  size_t index = 0;
  const GenerateRequest* req = nullptr;
  GenerateResult* out = nullptr;
  std::vector<int32_t> stops;  // sorted
  Phase phase = Phase::kWaiting;
  int slot = -1;
  SeqCache* cache = nullptr;  // the slot's cache
  int fed = 0;                // prompt tokens in the cache
  int group = -1;             // shared prefix group, -1: none
  bool done() const { return phase == Phase::kDone; }
};

// A group's shared prefix: prefilled once into its own cache, then copied into each member's.
struct PrefixState {
  int length = 0;
  const int32_t* tokens = nullptr;  // the first member's prompt
  int32_t adapter_slot = -1;
  SeqCache cache;
  int fed = 0;
  bool started = false;
  size_t uncopied = 0;             // members that have not copied it yet; freed at 0
  std::vector<SeqState*> waiting;  // admitted members, kWaitPrefix
};

// The KV cache's slots: a fixed set of per-sequence caches, reused as sequences finish, so that
// their memory is allocated once per call rather than once per sequence.
class KvSlots {
 public:
  KvSlots(size_t count, int layers) : caches_(count), used_(count, false) {
    for (SeqCache& c : caches_) {
      c.k.resize(layers);
      c.v.resize(layers);
    }
  }
  // The lowest free slot, emptied, with room for `floats` values per layer.
  int Acquire(size_t floats) {
    const int slot = static_cast<int>(std::find(used_.begin(), used_.end(), false) - used_.begin());
    used_[slot] = true;
    SeqCache& c = caches_[slot];
    c.len = 0;
    for (size_t l = 0; l < c.k.size(); ++l) {
      c.k[l].clear();  // keeps the capacity of the slot's previous sequence
      c.v[l].clear();
      c.k[l].reserve(floats);
      c.v[l].reserve(floats);
    }
    return slot;
  }
  void Release(int slot) { used_[slot] = false; }
  SeqCache* cache(int slot) { return &caches_[slot]; }

 private:
  std::vector<SeqCache> caches_;
  std::vector<bool> used_;
};

int32_t ArgMax(const float* v, int n) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

// Appends `tok` and decides whether the sequence is finished (order: stop id, stop string,
// length, context), filling text when it is.
void Accept(const Model::Impl& m, SeqState* s, int32_t tok) {
  GenerateResult& out = *s->out;
  const GenerateRequest& req = *s->req;
  out.tokens.push_back(tok);
  const Tokenizer* tk = m.tokenizer.get();
  if (std::binary_search(s->stops.begin(), s->stops.end(), tok)) {
    s->phase = Phase::kDone;
    out.finish = FinishReason::kStopId;
    if (tk) out.text = tk->Decode(std::span(out.tokens).first(out.tokens.size() - 1));
    return;
  }
  if (!req.stop_strings.empty()) {
    std::string text = tk->Decode(out.tokens);
    size_t cut = std::string::npos;
    for (const std::string& stop : req.stop_strings) {
      if (stop.empty()) continue;
      cut = std::min(cut, text.find(stop));
    }
    if (cut != std::string::npos) {
      s->phase = Phase::kDone;
      out.finish = FinishReason::kStopString;
      out.text = text.substr(0, cut);
      return;
    }
  }
  const int max_pos = m.config.max_position_embeddings;
  if (static_cast<int>(out.tokens.size()) >= req.max_new_tokens) {
    s->phase = Phase::kDone;
    out.finish = FinishReason::kLength;
  } else if (max_pos > 0 && s->cache->len + 1 > max_pos) {
    // The token just produced would sit at position cache.len: past the context.
    s->phase = Phase::kDone;
    out.finish = FinishReason::kContext;
  } else {
    s->phase = Phase::kDecode;
  }
  if (s->done() && tk) out.text = tk->Decode(out.tokens);
}

// Gives `s` its group's prefilled prefix: a copy of the prefix's keys and values.
void CopyPrefix(PrefixState* p, SeqState* s, GenerateStats* st) {
  for (size_t l = 0; l < s->cache->k.size(); ++l) {
    s->cache->k[l] = p->cache.k[l];  // into the slot's reserved storage
    s->cache->v[l] = p->cache.v[l];
  }
  s->cache->len = p->length;
  s->fed = p->length;
  s->phase = Phase::kPrefill;
  st->shared_prefix_tokens += p->length;
  if (--p->uncopied == 0) p->cache = SeqCache();
}

// One slice of a step's forward batch: a sequence's tokens, or a shared prefix's.
struct Slice {
  SeqState* seq = nullptr;
  PrefixState* prefix = nullptr;
};

// Runs every sequence to its end (see "Scheduling" in gem/generate.h).
Status Run(Model::Impl* m, std::vector<SeqState>& seqs, std::vector<PrefixState>& prefixes,
           const GenerateOptions& opt, GenerateStats* st) {
  const size_t total = seqs.size();
  const size_t max_active =
      std::min(total, static_cast<size_t>(std::max(1, opt.max_batch_sequences)));
  const int budget_max = std::max(1, opt.max_prefill_tokens);
  const int vocab = m->config.vocab_size;
  const size_t kv = static_cast<size_t>(m->config.num_kv_heads) * m->config.head_dim;
  KvSlots slots(max_active, m->config.num_layers);
  std::vector<SeqState*> active;         // in admission order
  std::vector<PrefixState*> prefilling;  // started prefixes not yet complete
  std::vector<float> logits;
  size_t next = 0, finished = 0;
  while (finished < total) {
    // Admit waiting requests into free slots (kWaves: only when the last wave is over).
    if (opt.schedule == Schedule::kContinuous || active.empty()) {
      while (next < total && active.size() < max_active) {
        SeqState* s = &seqs[next++];
        s->slot = slots.Acquire((s->req->prompt.size() + s->req->max_new_tokens) * kv);
        s->cache = slots.cache(s->slot);
        st->slots = std::max<uint64_t>(st->slots, s->slot + 1);
        if (opt.on_admit) opt.on_admit(s->index, s->slot);
        active.push_back(s);
        s->phase = Phase::kPrefill;
        if (s->group < 0) continue;
        PrefixState* p = &prefixes[s->group];
        if (!p->started) {
          p->started = true;
          prefilling.push_back(p);
        }
        if (p->fed == p->length) {
          CopyPrefix(p, s, st);
        } else {
          s->phase = Phase::kWaitPrefix;
          p->waiting.push_back(s);
        }
      }
    }
    // One forward batch: a row per decoding sequence, then prompt tokens up to the budget
    // (shared prefixes first: their groups wait for them).
    std::vector<BatchSeq> batch;
    std::vector<Slice> slices;
    for (SeqState* s : active) {
      if (s->phase != Phase::kDecode) continue;
      batch.push_back({s->cache, &s->out->tokens.back(), 1, s->req->adapter_slot, 1});
      slices.push_back({s, nullptr});
      st->decode_rows++;
    }
    int budget = budget_max;
    for (PrefixState* p : prefilling) {
      if (budget == 0) break;
      const int n = std::min(p->length - p->fed, budget);
      batch.push_back({&p->cache, p->tokens + p->fed, n, p->adapter_slot, 0});
      slices.push_back({nullptr, p});
      budget -= n;
    }
    for (SeqState* s : active) {
      if (budget == 0) break;
      if (s->phase != Phase::kPrefill) continue;
      const int len = static_cast<int>(s->req->prompt.size());
      const int n = std::min(len - s->fed, budget);
      const bool last = s->fed + n == len;
      batch.push_back({s->cache, s->req->prompt.data() + s->fed, n, s->req->adapter_slot,
                       last && s->req->max_new_tokens > 0 ? 1 : 0});
      slices.push_back({s, nullptr});
      budget -= n;
    }
    if (batch.empty()) return Status::Internal("generate: no work while sequences wait");
    GEM_RETURN_IF_ERROR(ForwardBatch(m, batch, &logits));
    st->forward_steps++;
    size_t row = 0;  // logits rows come in batch order
    for (size_t i = 0; i < batch.size(); ++i) {
      if (PrefixState* p = slices[i].prefix) {
        p->fed += batch[i].n;
        st->prefill_tokens += batch[i].n;
        if (p->fed == p->length) {
          for (SeqState* w : p->waiting) CopyPrefix(p, w, st);
          p->waiting.clear();
          prefilling.erase(std::find(prefilling.begin(), prefilling.end(), p));
        }
        continue;
      }
      SeqState* s = slices[i].seq;
      if (s->phase == Phase::kPrefill) {
        s->fed += batch[i].n;
        st->prefill_tokens += batch[i].n;
        if (s->fed < static_cast<int>(s->req->prompt.size())) continue;
        if (s->req->max_new_tokens == 0) {  // prefill only
          s->phase = Phase::kDone;
          s->out->finish = FinishReason::kLength;
          continue;
        }
      }
      Accept(*m, s, ArgMax(logits.data() + row++ * static_cast<size_t>(vocab), vocab));
    }
    // Free the slots of finished sequences.
    for (SeqState* s : active) {
      if (!s->done()) continue;
      slots.Release(s->slot);
      s->cache = nullptr;
      ++finished;
    }
    std::erase_if(active, [](const SeqState* s) { return s->done(); });
    if (opt.on_progress) opt.on_progress(finished, total);
    if (opt.cancel != nullptr && opt.cancel->load()) return Status::Aborted("generation cancelled");
  }
  return Status::OK();
}

}  // namespace

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kLength:
      return "length";
    case FinishReason::kStopId:
      return "stop_id";
    case FinishReason::kStopString:
      return "stop_string";
    case FinishReason::kContext:
      return "context";
  }
  return "?";
}

Status Generate(Model& model, std::span<const GenerateRequest> requests,
                const GenerateOptions& options, std::vector<GenerateResult>* results) {
  Model::Impl* m = model.impl();
  const ModelConfig& c = m->config;
  for (size_t i = 0; i < requests.size(); ++i) {
    const GenerateRequest& r = requests[i];
    const std::string where = "request " + std::to_string(i);
    if (r.prompt.empty()) return Status::InvalidArgument(where, "empty prompt");
    for (int32_t id : r.prompt) {
      if (id < 0 || id >= c.vocab_size) {
        return Status::InvalidArgument(where, "prompt id " + std::to_string(id) + " outside [0, " +
                                                  std::to_string(c.vocab_size) + ")");
      }
    }
    if (r.max_new_tokens < 0) return Status::InvalidArgument(where, "negative max_new_tokens");
    if (!r.stop_strings.empty() && !m->tokenizer) {
      return Status::InvalidArgument(where, "stop strings need a tokenizer; the model has none");
    }
    if (c.max_position_embeddings > 0 &&
        static_cast<int>(r.prompt.size()) > c.max_position_embeddings) {
      return Status::InvalidArgument(where, "prompt of " + std::to_string(r.prompt.size()) +
                                                " tokens exceeds the context of " +
                                                std::to_string(c.max_position_embeddings));
    }
  }
  results->assign(requests.size(), GenerateResult());
  GenerateStats local_stats;
  GenerateStats* st = options.stats != nullptr ? options.stats : &local_stats;
  *st = GenerateStats();
  std::vector<int> group_of;
  const std::vector<PrefixGroup> groups =
      FindPrefixGroups(requests, options.min_shared_prefix, &group_of);
  std::vector<PrefixState> prefixes(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const GenerateRequest& first = requests[groups[g].members.front()];
    prefixes[g].length = groups[g].length;
    prefixes[g].tokens = first.prompt.data();
    prefixes[g].adapter_slot = first.adapter_slot;
    prefixes[g].uncopied = groups[g].members.size();
  }
  st->prefix_groups = groups.size();
  std::vector<SeqState> states(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    states[i].index = i;
    states[i].req = &requests[i];
    states[i].out = &(*results)[i];
    states[i].group = group_of[i];
    states[i].stops = requests[i].stop_ids;
    if (requests[i].stop_at_eos) {
      states[i].stops.insert(states[i].stops.end(), m->default_stop_ids.begin(),
                             m->default_stop_ids.end());
    }
    std::sort(states[i].stops.begin(), states[i].stops.end());
    st->prompt_tokens += requests[i].prompt.size();
  }
  return Run(m, states, prefixes, options, st);
}

}  // namespace gem
