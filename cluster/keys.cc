// Copyright the gem authors. CURVE keys of the cluster (keys.h).
#include "cluster/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace gem::cluster {

Result<KeyPair> NewKeyPair() {
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::NotSupported("zmq_curve_keypair", "this libzmq has no CURVE support");
  }
  return KeyPair{pub, sec};
}

Result<std::string> PublicKeyOf(const std::string& secret_z85) {
  if (secret_z85.size() != 40) {
    return Status::InvalidArgument(
        "secret key", "expected 40 z85 characters, got " + std::to_string(secret_z85.size()));
  }
  char pub[41] = {};
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0) {
    return Status::InvalidArgument("secret key", "not a z85 CURVE key");
  }
  return std::string(pub);
}

Result<std::string> Z85ToBinary(const std::string& z85) {
  if (z85.size() != 40) {
    return Status::InvalidArgument("CURVE key",
                                   "expected 40 z85 characters, got " + std::to_string(z85.size()));
  }
  std::string bin(32, '\0');
  if (zmq_z85_decode(reinterpret_cast<uint8_t*>(bin.data()), z85.c_str()) == nullptr) {
    return Status::InvalidArgument("CURVE key", "not valid z85");
  }
  return bin;
}

std::string BinaryToZ85(const std::string& binary) {
  char z85[41] = {};
  if (binary.size() != 32) return "";
  zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(binary.data()), 32);
  return z85;
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError(path, "cannot read the key file");
  std::string line;
  while (std::getline(in, line)) {
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line[0] == '#') continue;
    std::string key = line.substr(0, line.find_first_of(" \t"));
    auto bin = Z85ToBinary(key);
    if (!bin.ok()) return Status::InvalidArgument(path, bin.status().message());
    return key;
  }
  return Status::InvalidArgument(path, "holds no key");
}

Status WriteKeyFile(const std::string& path, const std::string& z85, bool secret,
                    const std::string& comment) {
  const std::string text = "# " + comment + "\n" + z85 + "\n";
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (secret ? O_EXCL : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, secret ? 0600 : 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Status::FailedPrecondition(path, "already exists");
    return Status::IOError(path, std::strerror(errno));
  }
  if (!secret) ::fchmod(fd, 0644);  // a replaced file keeps its old mode otherwise
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  if (!ok) return Status::IOError(path, std::string("cannot write: ") + std::strerror(saved));
  return Status::OK();
}

Result<KeyPair> LoadOrCreateServerKey(const std::string& secret_path) {
  std::error_code ec;
  if (std::filesystem::exists(secret_path, ec)) {
    auto sec = ReadKeyFile(secret_path);
    if (!sec.ok()) return sec.status();
    auto pub = PublicKeyOf(*sec);
    if (!pub.ok()) return Status::InvalidArgument(secret_path, pub.status().message());
    return KeyPair{*pub, *sec};
  }
  auto pair = NewKeyPair();
  if (!pair.ok()) return pair.status();
  std::filesystem::create_directories(std::filesystem::path(secret_path).parent_path(), ec);
  GEM_RETURN_IF_ERROR(WriteKeyFile(secret_path, pair->secret_z85, /*secret=*/true,
                                   "CURVE secret key of gemd's worker socket (keep private)"));
  std::string pub_path = secret_path;
  if (pub_path.size() > 4 && pub_path.ends_with(".key")) pub_path.resize(pub_path.size() - 4);
  GEM_RETURN_IF_ERROR(WriteKeyFile(pub_path + ".pub", pair->public_z85, /*secret=*/false,
                                   "CURVE public key of gemd's worker socket"));
  return pair;
}

Status Keyring::Add(const std::string& name, const std::string& public_z85) {
  auto bin = Z85ToBinary(public_z85);
  if (!bin.ok()) return bin.status();
  std::lock_guard<std::mutex> lock(mu_);
  auto old = by_name_.find(name);
  if (old != by_name_.end()) by_key_.erase(old->second);
  by_name_[name] = *bin;
  by_key_[*bin] = name;
  return Status::OK();
}

void Keyring::Remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  by_key_.erase(it->second);
  by_name_.erase(it);
}

std::optional<std::string> Keyring::Find(const std::string& public_binary) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(public_binary);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

size_t Keyring::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_name_.size();
}

}  // namespace gem::cluster
