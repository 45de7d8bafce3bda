// Copyright the gem authors. Who may talk to gemd, and who they are.
//
// ipc:// — access is the socket file's permissions (ipc_mode, ipc_group; the systemd unit makes
//   /run/gemd group "gemd"). The peer's uid is read from the connection (libzmq puts
//   ":<uid>:<gid>:<pid>" from SO_PEERCRED into the "Peer-Address" message property) and
//   recorded with each job beside the user name the client claims.
// tcp:// — CURVE only (the server's secret key from curve_secret_key_file). A ZAP handler
//   (RFC 27) admits a client only when its public key is in curve_authorized_keys; everyone else
//   is refused during the handshake and never reaches the request loop. The key's name becomes
//   the connection's "User-Id" property and is recorded with each job.
//
// Key files: a secret or public key file holds the 40-character z85 key on its first line that
// is neither blank nor a '#' comment (gemctl keygen writes them). curve_authorized_keys is a
// file of '<z85 public key> <name>' lines, or a directory whose '<name>.pub' files hold one key.
#ifndef GEMD_AUTH_H_
#define GEMD_AUTH_H_

#include <map>
#include <string>
#include <zmq.hpp>

#include "gem/status.h"

namespace gemd {

// The z85 key in a key file. InvalidArgument naming the file when there is none.
gem::Result<std::string> ReadZ85KeyFile(const std::string& path);

// Binary (32-byte) public key -> name.
using AuthorizedKeys = std::map<std::string, std::string>;
gem::Result<AuthorizedKeys> LoadAuthorizedKeys(const std::string& path);

// Answers one pending ZAP request on `zap` (a REP socket bound to inproc://zeromq.zap.01).
// NULL-mechanism peers (the ipc socket) are admitted; CURVE peers only with an authorised key;
// anything else is refused. Never throws.
void AnswerZap(zmq::socket_t& zap, const AuthorizedKeys& keys);

// The uid in an ipc "Peer-Address" property (":uid:gid:pid"), or -1.
int64_t UidFromPeerAddress(const char* peer_address);

}  // namespace gemd

#endif  // GEMD_AUTH_H_
