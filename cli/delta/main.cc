// Copyright the gem authors. gem-delta: fine-tunes as delta checkpoints.
//
//   gem-delta make    --base DIR --finetune DIR --out DIR [--zstd-level 19]
//   gem-delta info    DIR [--json]
//   gem-delta rebuild --base DIR --checkpoint DIR --out DIR
//
// A model store keeps each fine-tune as its lossless delta against the base (a third of the disk
// for a typical bf16 fine-tune; the shipped demo tree is stored this way); `rebuild` gives back
// the Hugging Face directory, weights bit for bit, for transformers or any other tool. Tree
// manifests may name delta checkpoints directly (docs/MANIFEST.md). stdout carries the result;
// errors go to stderr. Exit codes: 0 success, 1 an error in the models or files, 2 usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "gem/delta_checkpoint.h"

namespace {

int Fail(const gem::Status& s) {
  std::cerr << "gem-delta: " << s.ToString() << "\n";
  return 1;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

void PrintInfo(const std::string& dir, const gem::DeltaCheckpointInfo& info, bool json) {
  const gem::DeltaStats& d = info.delta;
  if (json) {
    nlohmann::json j = {{"checkpoint", dir},
                        {"form", gem::DeltaFormName(d.form)},
                        {"model_digest", info.model_digest.Hex()},
                        {"base_digest", info.base_digest.Hex()},
                        {"delta_bytes", d.file_bytes},
                        {"finetune_bytes", d.finetune_bytes},
                        {"size_fraction", d.size_fraction()},
                        {"tensors_total", d.tensors_total},
                        {"tensors_stored", d.tensors_stored},
                        {"format_version", d.format_version},
                        {"files", info.files}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("delta checkpoint %s\n", dir.c_str());
  std::printf("  fine-tune weights digest  %s\n", info.model_digest.Hex().c_str());
  std::printf("  made against base digest  %s\n", info.base_digest.Hex().c_str());
  std::printf("  delta (%s, lossless)     %llu bytes = %.1f%% of the fine-tune's %llu\n",
              gem::DeltaFormName(d.form), static_cast<unsigned long long>(d.file_bytes),
              100 * d.size_fraction(), static_cast<unsigned long long>(d.finetune_bytes));
  std::printf("  tensors changed           %zu of %zu\n", d.tensors_stored, d.tensors_total);
  std::printf("  delta format version      %u (docs/DELTA_FORMAT.md)\n", d.format_version);
  std::printf("  other files               %s\n", Join(info.files).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Store a full fine-tune as a delta checkpoint (its config and small files plus "
      "model.gemdelta, its lossless delta against the base), inspect one, or rebuild the "
      "Hugging Face directory from one, weights bit for bit.",
      "gem-delta"};
  app.require_subcommand(1);
  app.footer(
      "A tree manifest may name a delta checkpoint wherever it names a fine-tune "
      "(docs/MANIFEST.md). Exit status: 0 success, 1 error, 2 usage.");

  std::string base, finetune, out, checkpoint;
  int level = 19;
  bool json = false;
  auto* make = app.add_subcommand(
      "make",
      "Write the fine-tune in --finetune (an HF directory of the base's architecture) "
      "as a delta checkpoint in --out");
  make->add_option("--base", base, "The base model's HF directory")->required();
  make->add_option("--finetune", finetune, "The fine-tune's HF directory")->required();
  make->add_option("--out", out, "Directory to write (created; same-named files replaced)")
      ->required();
  make->add_option("--zstd-level", level, "zstd level 1..19 (19: smallest, slower to write)")
      ->capture_default_str()
      ->check(CLI::Range(1, 19));
  make->add_flag("--json", json, "Print the result as one JSON object");

  std::string info_dir;
  auto* info = app.add_subcommand("info", "Describe a delta checkpoint (reads only its header)");
  info->add_option("checkpoint", info_dir, "The delta checkpoint directory")->required();
  info->add_flag("--json", json, "Print one JSON object");

  auto* rebuild =
      app.add_subcommand("rebuild",
                         "Rebuild the fine-tune of --checkpoint as an HF directory in --out "
                         "(model.safetensors checked against the delta's weights digest)");
  rebuild->add_option("--base", base, "The base model's HF directory")->required();
  rebuild->add_option("--checkpoint", checkpoint, "The delta checkpoint directory")->required();
  rebuild->add_option("--out", out, "Directory to write (created; same-named files replaced)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (make->parsed()) {
    auto r = gem::WriteDeltaCheckpoint(base, finetune, out, level);
    if (!r.ok()) return Fail(r.status());
    PrintInfo(out, *r, json);
  } else if (info->parsed()) {
    auto r = gem::ReadDeltaCheckpoint(info_dir);
    if (!r.ok()) return Fail(r.status());
    PrintInfo(info_dir, *r, json);
  } else if (rebuild->parsed()) {
    auto r = gem::RebuildDeltaCheckpoint(base, checkpoint, out);
    if (!r.ok()) return Fail(r.status());
    std::printf("rebuilt %s: weights digest %s (as the delta names)\n", out.c_str(),
                r->Hex().c_str());
  }
  return 0;
}
