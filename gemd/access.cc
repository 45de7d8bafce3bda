// Copyright the gem authors. Identities, roles and the authorization policy (access.h).
#include "access.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

const char* RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kReader:
      return "reader";
    case Role::kMember:
      return "member";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

Status ParseRole(std::string_view name, Role* role) {
  for (Role r : {Role::kNone, Role::kReader, Role::kMember, Role::kAdmin}) {
    if (name == RoleName(r)) {
      *role = r;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("role '" + std::string(name) + "'",
                                 "must be none, reader, member or admin");
}

std::string PeerInfo::Principal() const {
  if (transport == "tcp") return curve_user.empty() ? "" : "key:" + curve_user;
  return uid >= 0 ? "uid:" + std::to_string(uid) : "";
}

std::string PeerInfo::Describe() const {
  if (transport == "tcp") return "curve key " + (curve_user.empty() ? "?" : curve_user);
  if (uid >= 0) return "uid " + std::to_string(uid) + (user.empty() ? "" : " (" + user + ")");
  return transport.empty() ? "unknown" : transport + " peer";
}

Role RequiredRole(std::string_view type) {
  static const std::map<std::string_view, Role> kRoles = {
      {"health", Role::kNone},          {"tree.list", Role::kReader},
      {"tree.show", Role::kReader},     {"search.status", Role::kReader},
      {"search.watch", Role::kReader},  {"search.result", Role::kReader},
      {"search.list", Role::kReader},   {"cache.stats", Role::kReader},
      {"cache.export", Role::kReader},  {"tree.register", Role::kMember},
      {"search.start", Role::kMember},  {"search.cancel", Role::kMember},
      {"search.resume", Role::kMember}, {"cache.import", Role::kMember},
      {"info", Role::kReader},          {"report.tree", Role::kReader},
      {"report.search", Role::kReader}, {"cluster.status", Role::kReader},
      {"shutdown", Role::kAdmin},
  };
  auto it = kRoles.find(type);
  return it == kRoles.end() ? Role::kAdmin : it->second;
}

bool LookupUser(int64_t uid, std::string* name, std::vector<std::string>* groups) {
  name->clear();
  groups->clear();
  if (uid < 0) return false;
  struct passwd pw, *res = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &res) != 0 || !res) {
    return false;
  }
  *name = pw.pw_name;
  int n = 64;
  std::vector<gid_t> gids(static_cast<size_t>(n));
  if (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) {
    gids.resize(static_cast<size_t>(n));
    if (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) n = 0;
  }
  gids.resize(static_cast<size_t>(std::max(n, 0)));
  // The primary group first (getgrouplist puts it there too, but not on every libc).
  gids.erase(std::remove(gids.begin(), gids.end(), pw.pw_gid), gids.end());
  gids.insert(gids.begin(), pw.pw_gid);
  std::vector<char> gbuf(16384);
  for (gid_t g : gids) {
    struct group gr, *gres = nullptr;
    if (getgrgid_r(g, &gr, gbuf.data(), gbuf.size(), &gres) == 0 && gres) {
      groups->push_back(gr.gr_name);
    }
  }
  return true;
}

std::string JobOwner(const proto::JobInfo& job) {
  if (!job.curve_key.empty()) return "key:" + job.curve_key;
  return job.uid >= 0 ? "uid:" + std::to_string(job.uid) : "";
}

Status AccessPolicy::ParseEntries(const std::vector<std::string>& list, const char* setting,
                                  std::vector<Entry>* out) {
  for (const std::string& s : list) {
    Entry e;
    auto bad = [&](const char* why) {
      return Status::InvalidArgument(std::string("access.") + setting + " entry '" + s + "'", why);
    };
    if (s == "*") {
      e.kind = Entry::kAll;
    } else if (s.rfind("@", 0) == 0 && s.size() > 1) {
      e.kind = Entry::kGroup;
      e.name = s.substr(1);
    } else if (s.rfind("uid:", 0) == 0) {
      e.kind = Entry::kUid;
      const std::string n = s.substr(4);
      int64_t v = -1;
      auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
      if (n.empty() || ec != std::errc() || p != n.data() + n.size() || v < 0) {
        return bad("must be uid:<number>");
      }
      e.uid = v;
    } else if (s.rfind("key:", 0) == 0 && s.size() > 4) {
      e.kind = Entry::kKey;
      e.name = s.substr(4);
    } else if (!s.empty() && s.find_first_of(":@ \t") == std::string::npos) {
      e.kind = Entry::kUser;
      e.name = s;
    } else {
      return bad("must be a login name, @group, uid:<n>, key:<name> or *");
    }
    out->push_back(std::move(e));
  }
  return Status::OK();
}

gem::Result<AccessPolicy> AccessPolicy::FromConfig(const Config& c) {
  AccessPolicy p;
  GEM_RETURN_IF_ERROR(ParseEntries(c.access_admins, "admins", &p.admins_));
  GEM_RETURN_IF_ERROR(ParseEntries(c.access_members, "members", &p.members_));
  GEM_RETURN_IF_ERROR(ParseEntries(c.access_readers, "readers", &p.readers_));
  GEM_RETURN_IF_ERROR(ParseEntries(c.access_trusted_importers, "trusted_importers", &p.trusted_));
  GEM_RETURN_IF_ERROR(ParseRole(c.access_default_role, &p.default_role_));
  p.own_uid_ = static_cast<int64_t>(::geteuid());
  return p;
}

bool AccessPolicy::Matches(const std::vector<Entry>& list, const PeerInfo& peer) {
  const bool ipc = peer.transport != "tcp";
  for (const Entry& e : list) {
    switch (e.kind) {
      case Entry::kAll:
        return true;
      case Entry::kUser:
        if (ipc && !peer.user.empty() && peer.user == e.name) return true;
        break;
      case Entry::kGroup:
        if (ipc && std::find(peer.groups.begin(), peer.groups.end(), e.name) != peer.groups.end())
          return true;
        break;
      case Entry::kUid:
        if (ipc && peer.uid >= 0 && peer.uid == e.uid) return true;
        break;
      case Entry::kKey:
        if (!ipc && !peer.curve_user.empty() && peer.curve_user == e.name) return true;
        break;
    }
  }
  return false;
}

Role AccessPolicy::RoleOf(const PeerInfo& peer) const {
  const bool ipc = peer.transport != "tcp";
  if (ipc && peer.uid >= 0 && (peer.uid == 0 || peer.uid == own_uid_)) return Role::kAdmin;
  if (ipc && peer.uid < 0) return Role::kNone;  // an ipc peer whose uid we could not read
  if (!ipc && peer.curve_user.empty()) return Role::kNone;
  if (Matches(admins_, peer)) return Role::kAdmin;
  if (Matches(members_, peer)) return Role::kMember;
  if (Matches(readers_, peer)) return Role::kReader;
  return default_role_;
}

void AccessPolicy::Identify(PeerInfo* peer) const {
  if (peer->transport != "tcp") LookupUser(peer->uid, &peer->user, &peer->groups);
  peer->role = RoleOf(*peer);
}

bool AccessPolicy::PeerOfPrincipal(std::string_view principal, PeerInfo* p) const {
  *p = PeerInfo();
  if (principal.rfind("key:", 0) == 0 && principal.size() > 4) {
    p->transport = "tcp";
    p->curve_user = std::string(principal.substr(4));
  } else if (principal.rfind("uid:", 0) == 0) {
    p->transport = "ipc";
    std::string_view n = principal.substr(4);
    int64_t v = -1;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || v < 0) return false;
    p->uid = v;
  } else {
    return false;
  }
  Identify(p);
  return true;
}

Role AccessPolicy::RoleOfPrincipal(std::string_view principal) const {
  PeerInfo p;
  return PeerOfPrincipal(principal, &p) ? p.role : Role::kNone;
}

Status AccessPolicy::Authorize(const PeerInfo& peer, const proto::Request& req) const {
  const Role need = RequiredRole(req.type);
  if (peer.role >= need) return Status::OK();
  return Status::PermissionDenied(
      "request " + req.type, peer.Describe() + " has role " + RoleName(peer.role) + "; it needs " +
                                 RoleName(need) + " (docs/SECURITY.md: access settings)");
}

Status AccessPolicy::AuthorizeJobChange(const PeerInfo& peer, const proto::JobInfo& job,
                                        std::string_view action) const {
  if (peer.role >= Role::kAdmin) return Status::OK();
  const std::string owner = JobOwner(job);
  if (peer.role >= Role::kMember && !owner.empty() && owner == peer.Principal()) {
    return Status::OK();
  }
  return Status::PermissionDenied(
      std::string(action) + " job " + std::to_string(job.id),
      "it belongs to " + (owner.empty() ? std::string("nobody recorded") : owner) + " (user '" +
          job.user + "'); " + peer.Describe() + " (" + RoleName(peer.role) +
          ") may change only its own jobs; admins may change any");
}

std::function<bool(const gem::CachedResult&)> AccessPolicy::ResultFilter(std::string owner) const {
  // Lookups of importers' roles are cached for the search (one NSS lookup per importer).
  struct State {
    std::mutex mu;
    std::map<std::string, bool, std::less<>> trusted;  // guarded by mu
  };
  auto state = std::make_shared<State>();
  return [this, owner = std::move(owner), state](const gem::CachedResult& r) {
    if (r.source == gem::ResultSource::kEvaluated) return true;
    const std::string& by = r.imported_by;
    if (!owner.empty() && by == owner) return true;
    std::lock_guard<std::mutex> lock(state->mu);
    auto it = state->trusted.find(by);
    if (it != state->trusted.end()) return it->second;
    // Imports from before access control carry no importer: trusted only when an admin lists
    // "unknown" (or "*") in trusted_importers.
    bool ok = false;
    if (by.empty()) {
      ok = std::any_of(trusted_.begin(), trusted_.end(), [](const Entry& e) {
        return e.kind == Entry::kAll || (e.kind == Entry::kUser && e.name == "unknown");
      });
    } else if (PeerInfo p; PeerOfPrincipal(by, &p)) {
      ok = p.role >= Role::kAdmin || Matches(trusted_, p);
    }
    state->trusted.emplace(by, ok);
    return ok;
  };
}

}  // namespace gemd
