// Copyright the gem authors. Fuzz target: the replay CSVs gemd registers (accuracy trees and 0/1
// matrices, docs/GEMD.md), and a small simulation of whatever parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gem/population.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)gem::ParseMatrixCsv(text, "fuzz");
  for (const char* metric : {"gsm8k_pct", "acc"}) {
    gem::TreeCsvOptions opt;
    opt.metric = metric;
    opt.popularity_column = "diameter_pt";
    auto table = gem::ParseTreeCsv(text, opt, "fuzz");
    if (!table.ok() || table->size() > 2000) continue;
    gem::SimulationOptions so;
    so.num_queries = 16;
    (void)gem::SimulatePopulation(*table, so);
  }
  return 0;
}
