// Copyright the gem authors. CURVE keys of the cluster: gemd's server key, one key pair per
// worker job, and the keyring the worker socket admits (docs/CLUSTER.md, "Security").
//
// Key files are the format `gemctl keygen` writes: '#' comment lines, then the 40-character z85
// key on a line of its own. A secret key file is created with mode 0600 before anything is
// written to it (never readable by others, not even for a moment).
//
// Each Slurm job gemd submits gets a fresh key pair: the secret key goes into the job's directory
// (readable by gemd's user only, which is the user the job runs as), the public key into the
// keyring. When the job ends gemd drops the key from the keyring and deletes the files, so a key
// that leaks is good for one job's lifetime, and for nothing but the worker protocol: the worker
// socket and gemd's client socket admit disjoint key sets.
//
// Thread-safety: the functions are reentrant; Keyring is thread-safe.
#ifndef GEM_CLUSTER_KEYS_H_
#define GEM_CLUSTER_KEYS_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "gem/status.h"

namespace gem::cluster {

struct KeyPair {
  std::string public_z85;  // 40 characters
  std::string secret_z85;  // 40 characters
};

// A fresh key pair (libzmq's zmq_curve_keypair). NotSupported when libzmq lacks CURVE.
Result<KeyPair> NewKeyPair();

// The public key of a secret key. InvalidArgument when `secret_z85` is not a z85 key.
Result<std::string> PublicKeyOf(const std::string& secret_z85);

// The key in a key file. IOError when unreadable, InvalidArgument (naming the file) when it holds
// no valid z85 key.
Result<std::string> ReadKeyFile(const std::string& path);

// Writes a key file: `comment` (one line), then the key. secret: created 0600 with O_EXCL (an
// existing file is an error: AlreadyExists as FailedPrecondition naming it); else 0644,
// replacing any file there.
Status WriteKeyFile(const std::string& path, const std::string& z85, bool secret,
                    const std::string& comment);

// gemd's server key pair from `secret_path`; when the file does not exist, a new pair is made
// and written there (and the public key beside it as <secret_path without .key>.pub).
Result<KeyPair> LoadOrCreateServerKey(const std::string& secret_path);

// z85 <-> the 32 raw bytes libzmq's ZAP requests carry. InvalidArgument when not a key.
Result<std::string> Z85ToBinary(const std::string& z85);
std::string BinaryToZ85(const std::string& binary);

// The public keys the worker socket admits, each with a name (the Slurm submission it belongs
// to, "s17"), which the ZAP handler returns as the connection's User-Id.
class Keyring {
 public:
  // Adds or replaces. InvalidArgument when z85 is not a key.
  Status Add(const std::string& name, const std::string& public_z85);
  void Remove(const std::string& name);
  // The name of an admitted key (32 raw bytes), or nullopt.
  std::optional<std::string> Find(const std::string& public_binary) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> by_key_;   // raw key -> name; guarded by mu_
  std::map<std::string, std::string> by_name_;  // name -> raw key; guarded by mu_
};

}  // namespace gem::cluster

#endif  // GEM_CLUSTER_KEYS_H_
