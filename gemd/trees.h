// Copyright the gem authors. The tree registry: the trees gemd serves, by name.
//
// The trees themselves are libgem's (gem/searchable_tree.h): registration (a manifest tree's
// deltas, a replay file's simulation), the tree record, the cache digests, the evaluator stack.
// The registry keeps the open trees by name, stores each record once (gem::StoreTree, the store's
// "trees" family) and reopens every stored tree at start-up with gemd's settings (data dir,
// tasks dir, replay defaults, the shared resident bases).
//
// Thread-safety: thread-safe; a tree is immutable once registered.
#ifndef GEMD_TREES_H_
#define GEMD_TREES_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "gem/cache.h"
#include "gem/protocol.h"
#include "gem/searchable_tree.h"
#include "gem/status.h"

namespace gemd {

class TreeRegistry {
 public:
  // REQUIRES: cache and bases outlive the registry.
  TreeRegistry(gem::Cache* cache, const Config& config, gem::ResidentBases* bases);

  // Opens every tree stored in the store ("model load" stage; manifest trees load their base
  // model here). A record that no longer opens is logged and skipped (it stays in the store).
  // Fails only when the store cannot be read.
  gem::Status LoadAll();

  // Registers a new tree (gem::SearchableTree::Register, whose errors it returns) and stores
  // it. An empty request name takes the source's own (the manifest's name, the file's stem);
  // FailedPrecondition when the name is taken. Registration converts every fine-tune of a
  // manifest tree into a delta, which for large models takes minutes: the server calls it on a
  // thread of its own. Manifest registrations run one at a time (they write into the data dir).
  gem::Result<gem::protocol::TreeInfo> Register(const gem::protocol::TreeRegisterRequest& request,
                                                const std::string& registered_by);

  // nullptr when unknown.
  std::shared_ptr<const gem::SearchableTree> Get(std::string_view name) const;
  std::vector<gem::protocol::TreeInfo> List() const;  // by name
  size_t size() const;

 private:
  gem::SearchableOptions Options() const;
  gem::Status Taken(const std::string& name) const;  // FailedPrecondition when it is

  gem::Cache* cache_;
  Config config_;
  gem::ResidentBases* bases_;
  std::mutex register_mu_;  // serialises manifest registrations
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const gem::SearchableTree>, std::less<>>
      trees_;  // guarded by mu_
};

// The wire form of a tree record (tree.register, tree.list, tree.show).
gem::protocol::TreeInfo InfoOf(const gem::TreeRecord& record);

}  // namespace gemd

#endif  // GEMD_TREES_H_
