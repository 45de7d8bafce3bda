// Copyright the gem authors. Bit-level batch invariance of the forward pass: a row's logits are
// identical whether its sequence is prefilled at once, fed token by token, batched with other
// sequences, or run on another number of threads - for every weight type. (Generation's "batched ==
// one-at-a-time" ids follow from this; generate_test.cc checks the ids.)
#include <gtest/gtest.h>

#include "engine/engine_test_util.h"
#include "engine/model_impl.h"

namespace gem {
namespace {

std::vector<float> Prefill(Model::Impl* m, const std::vector<int32_t>& ids) {
  SeqCache c;
  std::vector<BatchSeq> b(1);
  b[0] = BatchSeq{&c, ids.data(), static_cast<int>(ids.size()), -1, 2};
  std::vector<float> out;
  EXPECT_TRUE(ForwardBatch(m, b, &out).ok());
  return out;
}

struct Case {
  std::string fixture;
  std::string weights;  // LoadOptions::weights
};

class InvarianceTest : public ::testing::TestWithParam<Case> {};

TEST_P(InvarianceTest, RowsAreBitIdenticalAcrossBatchings) {
  LoadOptions lo;
  lo.threads = 1;
  lo.weights = GetParam().weights;
  auto model = Model::Load(testing::FixtureDir(GetParam().fixture), lo);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Model::Impl* m = (*model)->impl();
  const int vocab = m->config.vocab_size;
  const std::vector<int32_t> a = {3, 64, 64, 7, 120, 33, 8, 91, 2, 17, 5};
  const std::vector<int32_t> b = {11, 12, 13, 14, 15, 16, 17};
  const std::vector<float> whole = Prefill(m, a);

  // Token by token.
  SeqCache c;
  std::vector<float> stepwise, step;
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<BatchSeq> one{BatchSeq{&c, &a[i], 1, -1, 1}};
    ASSERT_TRUE(ForwardBatch(m, one, &step).ok());
    stepwise.insert(stepwise.end(), step.begin(), step.end());
  }
  EXPECT_EQ(stepwise, whole) << "token-by-token differs from one prefill";

  // Batched with another sequence (before it), chunked 4 + 7.
  SeqCache ca, cb;
  std::vector<BatchSeq> two{BatchSeq{&cb, b.data(), 7, -1, 2}, BatchSeq{&ca, a.data(), 4, -1, 2}};
  std::vector<float> first, second;
  ASSERT_TRUE(ForwardBatch(m, two, &first).ok());
  std::vector<BatchSeq> rest{BatchSeq{&ca, a.data() + 4, 7, -1, 2}};
  ASSERT_TRUE(ForwardBatch(m, rest, &second).ok());
  std::vector<float> batched(first.begin() + 7 * vocab, first.end());
  batched.insert(batched.end(), second.begin(), second.end());
  EXPECT_EQ(batched, whole) << "batched/chunked differs from one prefill";
  EXPECT_EQ(std::vector<float>(first.begin(), first.begin() + 7 * vocab), Prefill(m, b));

  // Another thread count.
  (*model)->SetThreads(2);
  EXPECT_EQ(Prefill(m, a), whole) << "2 threads differ from 1";
}

std::vector<Case> Cases() {
  std::vector<Case> cases = {
      {"llama", "stored"},      {"llama3", "stored"},    {"mistral", "stored"},
      {"qwen2", "stored"},      {"tiny_gguf", "stored"}, {"tiny_gguf", "f32"},
      {"llama_bf16", "stored"}, {"llama_f16", "stored"}, {"tiny_gguf_k", "stored"}};
  // Every weight type: tiny_gguf_k holds Q4_K, Q6_K, Q5_0 and Q5_1; the others, the fixture's f32
  // matrices quantised at load.
  for (const char* t : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}) {
    cases.push_back({"llama", t});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InvarianceTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           return info.param.fixture + "_" + info.param.weights;
                         });

}  // namespace
}  // namespace gem
