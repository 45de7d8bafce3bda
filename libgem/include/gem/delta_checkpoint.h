// Copyright the gem authors. Delta checkpoints: a full fine-tune stored as a directory that holds
// its lossless delta against a base instead of its weights (docs/DELTA_FORMAT.md, "Delta
// checkpoints").
//
//   ft-dir/config.json      the fine-tune's own config (always)
//   ft-dir/model.gemdelta   the xor (lossless) delta file against the base
//   ft-dir/...              the fine-tune's other small files (tokenizer, generation config,
//                           model card) where the base lacks them or holds them differently
//
// A model store that keeps fine-tunes this way needs a fraction of the disk (a third for a
// typical bf16 fine-tune), and the weights come back bit for bit: RebuildDeltaCheckpoint writes
// an ordinary Hugging Face directory that transformers loads. A tree manifest may name a delta
// checkpoint wherever it may name a fine-tune (docs/MANIFEST.md); registration rebuilds it,
// checks its digest, and goes on as for any fine-tune. The command-line tool is gem-delta.
//
// Failure: every function returns a Status naming the directory or file and the problem; a
// fine-tune that does not fit the base ends with "(maybe the wrong base model?)".
// Thread-safety: free functions, reentrant for distinct output directories.
#ifndef GEM_DELTA_CHECKPOINT_H_
#define GEM_DELTA_CHECKPOINT_H_

#include <string>
#include <vector>

#include "gem/delta.h"
#include "gem/digest.h"
#include "gem/status.h"

namespace gem {

// The delta file's name inside a delta checkpoint directory.
inline constexpr const char* kDeltaCheckpointFile = "model.gemdelta";

// True when `dir` holds model.gemdelta and no safetensors weights (a directory holding both is
// an ordinary model directory: its safetensors are the weights).
bool IsDeltaCheckpoint(const std::string& dir);

struct DeltaCheckpointInfo {
  DeltaStats delta;                // the xor delta written (or read)
  Digest model_digest;             // WeightsDigest of the fine-tune
  Digest base_digest;              // WeightsDigest of the base it is against
  std::vector<std::string> files;  // the other files of the checkpoint, sorted
};

// Writes the fine-tune in `finetune_dir` (an HF model directory that fits the base, as
// CheckFinetuneFitsBase checks) as a delta checkpoint in `out_dir` (created; files of the same
// names replaced). Before returning it rebuilds the weights' digest from the file just written
// and compares it with the fine-tune's, so a checkpoint that would not reproduce the fine-tune
// is never left behind. A tensor in another dtype than the base's is stored as the fine-tune's
// own words (so an f16 fine-tune of a bf16 base comes back f16). InvalidArgument when the
// fine-tune does not fit the base.
Result<DeltaCheckpointInfo> WriteDeltaCheckpoint(const std::string& base_dir,
                                                 const std::string& finetune_dir,
                                                 const std::string& out_dir, int zstd_level = 19);

// Reads a delta checkpoint's delta header and file list without rebuilding anything.
// Corruption for a damaged delta file; NotFound when `dir` is not a delta checkpoint.
Result<DeltaCheckpointInfo> ReadDeltaCheckpoint(const std::string& dir);

// Rebuilds the fine-tune of the delta checkpoint `checkpoint_dir` against `base_dir` as a
// Hugging Face model directory in `out_dir`: model.safetensors (the fine-tune's weights, bit
// for bit; their digest is checked against the delta's), the checkpoint's own files, and the
// base's small files the checkpoint does not hold (its tokenizer, typically). Returns the model
// digest. InvalidArgument when the delta was made against another base or is lossy;
// Corruption when the rebuilt weights do not match the digest the delta names.
Result<Digest> RebuildDeltaCheckpoint(const std::string& base_dir,
                                      const std::string& checkpoint_dir,
                                      const std::string& out_dir);

}  // namespace gem

#endif  // GEM_DELTA_CHECKPOINT_H_
