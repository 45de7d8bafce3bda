// Copyright the gem authors. Request handlers: decoded request in, reply body out.
//
// Handlers run on the server thread and must return quickly: they read or change state, queue
// jobs, and never run a search (workers do). Each returns a reply body or a Status that names the
// problem; Dispatch turns either into the reply. search.watch is not here: it is a stream, kept
// by the server (server.cc).
#ifndef GEMD_HANDLERS_H_
#define GEMD_HANDLERS_H_

#include <cstdint>
#include <string>

#include "access.h"
#include "context.h"
#include "gem/protocol.h"

namespace gemd {

// Runs one decoded, authorised request. Never throws: an exception from a library (bad_alloc,
// filesystem_error, ...) is caught here and answered as ResourceExhausted or Internal, so no
// request can end gemd.
gem::protocol::Reply Dispatch(Context& ctx, const PeerInfo& peer,
                              const gem::protocol::Request& request);

// Per-group handlers (handlers_*.cc).
using BodyResult = gem::Result<gem::protocol::ReplyBody>;
BodyResult HandleHealth(Context& ctx, const PeerInfo& peer);
BodyResult HandleInfo(const Context& ctx);
BodyResult HandleTree(Context& ctx, const PeerInfo& peer, const gem::protocol::Request& request);
BodyResult HandleSearch(Context& ctx, const PeerInfo& peer, const gem::protocol::Request& request);
BodyResult HandleCache(Context& ctx, const PeerInfo& peer, const gem::protocol::Request& request);
BodyResult HandleReport(Context& ctx, const PeerInfo& peer, const gem::protocol::Request& request);
BodyResult HandleCluster(Context& ctx, const PeerInfo& peer, const gem::protocol::Request& request);

// The name a job or tree records for its owner: the client's claim, else what the socket says
// (the claim is for display; jobs also record the uid or key, which access control uses).
std::string OwnerName(const PeerInfo& peer, const std::string& claimed);

}  // namespace gemd

#endif  // GEMD_HANDLERS_H_
