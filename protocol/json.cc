// Copyright the gem authors. Reply bodies as JSON (gemctl --json), walking the same field lists
// as the msgpack codec so that the names match the wire exactly.
#include <cmath>
#include <nlohmann/json.hpp>

#include "gem/protocol.h"
#include "protocol/codec.h"

namespace gem::protocol {
namespace {

using nlohmann::json;

template <class T>
json ToJson(const T& v);

struct JsonVisitor {
  json& j;
  template <class T>
  void Req(const char* key, T& v) {
    j[key] = ToJson(v);
  }
  template <class T>
  void Opt(const char* key, T& v) {
    j[key] = ToJson(v);
  }
};

template <class T>
json ToJson(const T& v) {
  if constexpr (codec::Message<T>) {
    json j = json::object();
    JsonVisitor jv{j};
    const_cast<T&>(v).Fields(jv);
    return j;
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::isfinite(v) ? json(v) : json(nullptr);
  } else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) {
    return json(v);
  } else if constexpr (requires { typename T::mapped_type; }) {
    json j = json::object();
    for (const auto& [k, x] : v) j[k] = ToJson(x);
    return j;
  } else {
    json j = json::array();
    for (const auto& x : v) j.push_back(ToJson(x));
    return j;
  }
}

}  // namespace

std::string ReplyBodyJson(const Reply& reply, int indent) {
  json j;
  if (!reply.status.ok()) {
    j["error"] = {{"code", static_cast<int>(reply.status.code())},
                  {"name", Status::CodeName(reply.status.code())},
                  {"message", reply.status.message()}};
  } else {
    j = std::visit([](const auto& body) { return ToJson(body); }, reply.body);
  }
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace gem::protocol
