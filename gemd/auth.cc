// Copyright the gem authors. CURVE keys and the ZAP handler (auth.h).
#include "auth.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <zmq_addon.hpp>

#include "gem/zap.h"

namespace gemd {

using gem::Result;
using gem::Status;

namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\r\n"));
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

Result<std::string> DecodeZ85(const std::string& z85, const std::string& where) {
  if (z85.size() != 40) {
    return Status::InvalidArgument(where, "expected a 40-character z85 CURVE key, got " +
                                              std::to_string(z85.size()) + " characters");
  }
  std::string bin(32, '\0');
  if (zmq_z85_decode(reinterpret_cast<uint8_t*>(bin.data()), z85.c_str()) == nullptr) {
    return Status::InvalidArgument(where, "not a valid z85 key");
  }
  return bin;
}

}  // namespace

Result<std::string> ReadZ85KeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError(path, "cannot read the key file");
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::string key = line.substr(0, line.find_first_of(" \t"));
    auto bin = DecodeZ85(key, path);
    if (!bin.ok()) return bin.status();
    return key;
  }
  return Status::InvalidArgument(path, "holds no key");
}

Result<AuthorizedKeys> LoadAuthorizedKeys(const std::string& path) {
  AuthorizedKeys keys;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.path().extension() != ".pub") continue;
      auto z85 = ReadZ85KeyFile(entry.path().string());
      if (!z85.ok()) return z85.status();
      auto bin = DecodeZ85(*z85, entry.path().string());
      if (!bin.ok()) return bin.status();
      keys[*bin] = entry.path().stem().string();
    }
    if (ec) return Status::IOError(path, ec.message());
    return keys;
  }
  std::ifstream in(path);
  if (!in) return Status::IOError(path, "cannot read the authorised keys (file or directory)");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string z85, name;
    fields >> z85 >> name;
    auto bin = DecodeZ85(z85, path + ":" + std::to_string(n));
    if (!bin.ok()) return bin.status();
    keys[*bin] = name.empty() ? "key" + std::to_string(n) : name;
  }
  return keys;
}

void AnswerZap(zmq::socket_t& zap, const AuthorizedKeys& keys) {
  try {
    gem::ZapRequest r;
    if (!gem::ReceiveZapRequest(zap, &r)) return;
    if (r.frames < 6 || r.version != "1.0") {
      gem::SendZapReply(zap, r, false, "malformed ZAP request");
    } else if (r.mechanism == "NULL") {
      gem::SendZapReply(zap, r, true, "OK");
    } else if (r.mechanism == "CURVE" && !r.curve_key.empty()) {
      auto it = keys.find(r.curve_key);
      if (it != keys.end()) {
        gem::SendZapReply(zap, r, true, "OK", it->second);
      } else {
        char z85[41] = {};
        zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(r.curve_key.data()), 32);
        spdlog::warn("refused CURVE client {} from {}: key not authorised", z85, r.address);
        gem::SendZapReply(zap, r, false, "not authorised");
      }
    } else {
      spdlog::warn("refused {} client from {}: only CURVE is accepted on tcp", r.mechanism,
                   r.address);
      gem::SendZapReply(zap, r, false, "not authorised");
    }
  } catch (const zmq::error_t& e) {
    spdlog::error("ZAP handler: {}", e.what());
  }
}

int64_t UidFromPeerAddress(const char* peer) {
  // "...:<uid>:<gid>:<pid>": the third field from the end.
  if (peer == nullptr) return -1;
  std::string s(peer);
  size_t p3 = s.rfind(':');
  if (p3 == std::string::npos || p3 == 0) return -1;
  size_t p2 = s.rfind(':', p3 - 1);
  if (p2 == std::string::npos || p2 == 0) return -1;
  size_t p1 = s.rfind(':', p2 - 1);
  if (p1 == std::string::npos) return -1;
  std::string uid = s.substr(p1 + 1, p2 - p1 - 1);
  if (uid.empty() || uid.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(uid);
}

}  // namespace gemd
