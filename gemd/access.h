// Copyright the gem authors. Who may do what: identities, roles and the authorization policy.
//
// The socket is the first gate (ipc: the socket file's mode and group; tcp: an authorised CURVE
// key). Behind it every request is authorised against the caller's role (docs/SECURITY.md):
//
//   reader   health, tree.list/show, search.status/watch/result/list, cache.stats/export
//   member   + tree.register, search.start, cache.import (their imports stay private to them
//            unless an admin trusts them), search.cancel/resume of their own jobs
//   admin    + shutdown, search.cancel/resume of anyone's job, and (when they exist) tree removal
//            and cache erasure; an admin's imports are used by every search
//
// Identity is what the connection proves, never what the client claims: over ipc the peer's uid
// (SO_PEERCRED, read by libzmq), from which gemd looks up the login name and groups; over tcp the
// name of the authorised CURVE key. Its principal, the stable name stored with jobs and imported
// results, is "uid:<n>" or "key:<name>".
//
// Roles come from the [access] settings (docs/GEMD.md): lists of entries, each a login name, a
// "@group" (a Unix group, the primary one included), "uid:<n>", "key:<name>" or "*" (everyone).
// The highest role whose list matches wins; an identity no list names gets `default_role`.
// Root and gemd's own uid are always admins: they can stop or read gemd whatever it says.
//
// Thread-safety: an AccessPolicy is immutable after construction; every method is const and
// may be called from any thread.
#ifndef GEMD_ACCESS_H_
#define GEMD_ACCESS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "gem/cache.h"
#include "gem/protocol.h"
#include "gem/status.h"

namespace gemd {

// Ordered: a higher role may do everything a lower one may. Persisted nowhere.
enum class Role : uint8_t { kNone = 0, kReader = 1, kMember = 2, kAdmin = 3 };
const char* RoleName(Role role);                           // "none", "reader", ...
gem::Status ParseRole(std::string_view name, Role* role);  // InvalidArgument when unknown

// Who sent a request, as far as the connection proves it.
struct PeerInfo {
  std::string transport;            // "ipc" or "tcp"
  int64_t uid = -1;                 // ipc: the peer process's uid (SO_PEERCRED), -1 unknown
  std::string curve_user;           // tcp: the authorised key's name
  std::string user;                 // ipc: the uid's login name ("" when it has none)
  std::vector<std::string> groups;  // ipc: the login's groups, primary first
  Role role = Role::kNone;          // set by AccessPolicy::Identify

  // "uid:1000" or "key:alice" ("" when unknown): how jobs and imports record their owner.
  std::string Principal() const;
  // For logs and replies: "uid 1000 (alice)", "curve key alice".
  std::string Describe() const;
};

// The role a request type needs (kAdmin for a type this build does not know).
Role RequiredRole(std::string_view request_type);

class AccessPolicy {
 public:
  // Checks every entry's form; InvalidArgument naming the setting and entry otherwise.
  static gem::Result<AccessPolicy> FromConfig(const Config& config);
  AccessPolicy() = default;  // everyone a member; root and our own uid admins

  // Fills peer->user, groups and role from peer->transport/uid/curve_user.
  void Identify(PeerInfo* peer) const;
  // The role of a stored principal ("uid:1000", "key:alice"), looked up now.
  Role RoleOfPrincipal(std::string_view principal) const;

  // OK, or PermissionDenied naming the request, the caller, its role and the role needed.
  gem::Status Authorize(const PeerInfo& peer, const gem::protocol::Request& request) const;
  // Whether `peer` may cancel or resume `job`: its owner, or an admin.
  gem::Status AuthorizeJobChange(const PeerInfo& peer, const gem::protocol::JobInfo& job,
                                 std::string_view action) const;

  // The results a search owned by `owner` (a principal) may use: everything gemd evaluated,
  // and imports by `owner` itself, by an admin, or by a principal in trusted_importers.
  std::function<bool(const gem::CachedResult&)> ResultFilter(std::string owner) const;

 private:
  struct Entry {
    enum Kind { kUser, kGroup, kUid, kKey, kAll } kind = kAll;
    std::string name;
    int64_t uid = -1;
  };
  static gem::Status ParseEntries(const std::vector<std::string>& list, const char* setting,
                                  std::vector<Entry>* out);
  static bool Matches(const std::vector<Entry>& list, const PeerInfo& peer);
  Role RoleOf(const PeerInfo& peer) const;
  // A PeerInfo for a stored principal, identified now; false when it is not one.
  bool PeerOfPrincipal(std::string_view principal, PeerInfo* peer) const;

  std::vector<Entry> admins_, members_, readers_, trusted_;
  Role default_role_ = Role::kMember;
  int64_t own_uid_ = -1;
};

// The principal of a job's owner ("uid:<n>", "key:<name>", or "" for jobs created before
// access control, which only admins may change).
std::string JobOwner(const gem::protocol::JobInfo& job);

// Looks up a login name and its groups (NSS); false when the uid has no passwd entry.
bool LookupUser(int64_t uid, std::string* name, std::vector<std::string>* groups);

}  // namespace gemd

#endif  // GEMD_ACCESS_H_
