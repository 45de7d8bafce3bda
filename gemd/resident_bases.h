// Copyright the gem authors. The base models gemd keeps resident: loaded once, shared by every
// manifest tree on that base, kept until gemd stops.
//
// A search on a manifest tree turns the resident base into each candidate in turn (tensor
// overrides, gem/tree.h), so a base serves one search at a time: a job holds ResidentBase::mu
// for its whole run, and jobs of trees on the same base wait for each other (other bases, and
// replay trees, run in parallel on the other workers).
//
// Thread-safety: ResidentBases is thread-safe. A ResidentBase's model is used only under its mu.
#ifndef GEMD_RESIDENT_BASES_H_
#define GEMD_RESIDENT_BASES_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gem/digest.h"
#include "gem/model.h"
#include "gem/status.h"

namespace gemd {

struct ResidentBase {
  std::string path;
  gem::Digest digest;  // the base's weights digest (gem::RegisteredTree::base_digest)
  std::mutex mu;       // held by the job using the model
  std::unique_ptr<gem::Model> model;
};

class ResidentBases {
 public:
  ResidentBases(int threads, std::string weights)
      : threads_(threads), weights_(std::move(weights)) {}

  // The resident base of that digest, loading it from `path` the first time (with its
  // tokenizer; `threads` engine threads; weights held as `weights` says, gem::LoadOptions).
  // Errors are the loader's (they name the file).
  gem::Result<std::shared_ptr<ResidentBase>> Get(const std::string& path,
                                                 const gem::Digest& digest);

  size_t size() const;

 private:
  const int threads_;
  const std::string weights_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ResidentBase>> bases_;  // by digest hex; guarded by mu_
};

}  // namespace gemd

#endif  // GEMD_RESIDENT_BASES_H_
