// Copyright the gem authors. Batched greedy generation: waves of sequences, batched prefill, one
// batched decode step per new token.
#include "gem/generate.h"

#include <algorithm>

#include "engine/model_impl.h"

namespace gem {
namespace {

struct SeqState {
  const GenerateRequest* req = nullptr;
  GenerateResult* out = nullptr;
  SeqCache cache;
  std::vector<int32_t> stops;  // sorted
  bool done = false;
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
    s->done = true;
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
      s->done = true;
      out.finish = FinishReason::kStopString;
      out.text = text.substr(0, cut);
      return;
    }
  }
  const int max_pos = m.config.max_position_embeddings;
  if (static_cast<int>(out.tokens.size()) >= req.max_new_tokens) {
    s->done = true;
    out.finish = FinishReason::kLength;
  } else if (max_pos > 0 && s->cache.len + 1 > max_pos) {
    // The token just produced would sit at position cache.len: past the context.
    s->done = true;
    out.finish = FinishReason::kContext;
  }
  if (s->done && tk) out.text = tk->Decode(out.tokens);
}

Status RunWave(Model::Impl* m, std::vector<SeqState*>& wave, const GenerateOptions& opt,
               size_t* finished, size_t total) {
  const int vocab = m->config.vocab_size;
  const int kv = m->config.num_kv_heads * m->config.head_dim;
  for (SeqState* s : wave) {
    const size_t cap = (s->req->prompt.size() + s->req->max_new_tokens) * static_cast<size_t>(kv);
    s->cache.k.resize(m->config.num_layers);
    s->cache.v.resize(m->config.num_layers);
    for (int l = 0; l < m->config.num_layers; ++l) {
      s->cache.k[l].reserve(cap);
      s->cache.v[l].reserve(cap);
    }
  }
  // Prefill: pack whole prompts into batches of at most max_prefill_tokens; a longer prompt is
  // fed alone in chunks.
  const int budget = std::max(1, opt.max_prefill_tokens);
  std::vector<float> logits;
  size_t i = 0;
  while (i < wave.size()) {
    std::vector<BatchSeq> batch;
    std::vector<SeqState*> owners;
    int tokens = 0;
    const int first_len = static_cast<int>(wave[i]->req->prompt.size());
    if (first_len > budget) {
      SeqState* s = wave[i];
      for (int off = 0; off < first_len; off += budget) {
        BatchSeq b;
        b.cache = &s->cache;
        b.tokens = s->req->prompt.data() + off;
        b.n = std::min(budget, first_len - off);
        b.adapter_slot = s->req->adapter_slot;
        b.logits = off + b.n == first_len ? 1 : 0;
        std::vector<BatchSeq> one{b};
        GEM_RETURN_IF_ERROR(ForwardBatch(m, one, &logits));
      }
      owners.push_back(s);
      ++i;
    } else {
      while (i < wave.size() && tokens + static_cast<int>(wave[i]->req->prompt.size()) <= budget) {
        SeqState* s = wave[i];
        BatchSeq b;
        b.cache = &s->cache;
        b.tokens = s->req->prompt.data();
        b.n = static_cast<int>(s->req->prompt.size());
        b.adapter_slot = s->req->adapter_slot;
        b.logits = 1;
        tokens += b.n;
        batch.push_back(b);
        owners.push_back(s);
        ++i;
      }
      GEM_RETURN_IF_ERROR(ForwardBatch(m, batch, &logits));
    }
    for (size_t o = 0; o < owners.size(); ++o) {
      SeqState* s = owners[o];
      if (s->req->max_new_tokens == 0) {
        s->done = true;
        s->out->finish = FinishReason::kLength;
        ++*finished;
        continue;
      }
      Accept(*m, s, ArgMax(logits.data() + o * static_cast<size_t>(vocab), vocab));
      if (s->done) ++*finished;
    }
    if (opt.cancel != nullptr && opt.cancel->load()) return Status::Aborted("generation cancelled");
  }
  // Decode: one token for every unfinished sequence per step.
  for (;;) {
    std::vector<BatchSeq> batch;
    std::vector<SeqState*> owners;
    for (SeqState* s : wave) {
      if (s->done) continue;
      BatchSeq b;
      b.cache = &s->cache;
      b.tokens = &s->out->tokens.back();
      b.n = 1;
      b.adapter_slot = s->req->adapter_slot;
      b.logits = 1;
      batch.push_back(b);
      owners.push_back(s);
    }
    if (batch.empty()) break;
    GEM_RETURN_IF_ERROR(ForwardBatch(m, batch, &logits));
    for (size_t o = 0; o < owners.size(); ++o) {
      Accept(*m, owners[o], ArgMax(logits.data() + o * static_cast<size_t>(vocab), vocab));
      if (owners[o]->done) ++*finished;
    }
    if (opt.on_progress) opt.on_progress(*finished, total);
    if (opt.cancel != nullptr && opt.cancel->load()) return Status::Aborted("generation cancelled");
  }
  // Free the caches of the wave before the next one.
  for (SeqState* s : wave) s->cache = SeqCache();
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
  std::vector<SeqState> states(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    states[i].req = &requests[i];
    states[i].out = &(*results)[i];
    states[i].stops = requests[i].stop_ids;
    if (requests[i].stop_at_eos) {
      states[i].stops.insert(states[i].stops.end(), m->default_stop_ids.begin(),
                             m->default_stop_ids.end());
    }
    std::sort(states[i].stops.begin(), states[i].stops.end());
  }
  const size_t wave_size = static_cast<size_t>(std::max(1, options.max_batch_sequences));
  size_t finished = 0;
  for (size_t start = 0; start < states.size(); start += wave_size) {
    std::vector<SeqState*> wave;
    for (size_t i = start; i < std::min(states.size(), start + wave_size); ++i) {
      wave.push_back(&states[i]);
    }
    GEM_RETURN_IF_ERROR(RunWave(m, wave, options, &finished, states.size()));
  }
  return Status::OK();
}

}  // namespace gem
