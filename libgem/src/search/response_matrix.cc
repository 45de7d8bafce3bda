// Copyright the gem authors.
#include <bit>

#include "gem/population.h"

namespace gem {

ResponseMatrix::ResponseMatrix(uint32_t num_models, uint32_t num_queries)
    : num_models_(num_models),
      num_queries_(num_queries),
      words_((static_cast<size_t>(num_queries) + 63) / 64),
      bits_(static_cast<size_t>(num_models) * words_, 0) {}

void ResponseMatrix::Set(uint32_t model, uint32_t query, bool correct) {
  uint64_t& w = bits_[static_cast<size_t>(model) * words_ + (query >> 6)];
  const uint64_t bit = uint64_t{1} << (query & 63);
  w = correct ? (w | bit) : (w & ~bit);
}

uint32_t ResponseMatrix::RowCount(uint32_t model) const {
  uint32_t n = 0;
  const uint64_t* row = &bits_[static_cast<size_t>(model) * words_];
  for (size_t i = 0; i < words_; ++i) n += static_cast<uint32_t>(std::popcount(row[i]));
  return n;
}

double ResponseMatrix::RowMean(uint32_t model) const {
  return num_queries_ == 0 ? 0.0 : static_cast<double>(RowCount(model)) / num_queries_;
}

uint32_t ResponseMatrix::BothCorrect(uint32_t a, uint32_t b) const {
  uint32_t n = 0;
  const uint64_t* ra = &bits_[static_cast<size_t>(a) * words_];
  const uint64_t* rb = &bits_[static_cast<size_t>(b) * words_];
  for (size_t i = 0; i < words_; ++i) n += static_cast<uint32_t>(std::popcount(ra[i] & rb[i]));
  return n;
}

}  // namespace gem
