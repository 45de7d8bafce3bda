// Copyright the gem authors. tree.register, tree.list, tree.show.
#include <spdlog/spdlog.h>

#include "handlers.h"

namespace gemd {

using gem::Status;
namespace proto = gem::protocol;

BodyResult HandleTree(Context& ctx, const PeerInfo& peer, const proto::Request& req) {
  if (auto* r = std::get_if<proto::TreeRegisterRequest>(&req.body)) {
    auto info = ctx.trees->Register(*r, OwnerName(peer, r->user));
    if (!info.ok()) return info.status();
    spdlog::info("tree {} registered by {} ({} models, tasks: {})", info->name, info->registered_by,
                 info->num_models, fmt::join(info->tasks, ", "));
    return proto::ReplyBody(proto::TreeReply{*info});
  }
  if (std::holds_alternative<proto::TreeListRequest>(req.body)) {
    return proto::ReplyBody(proto::TreeListReply{ctx.trees->List()});
  }
  if (auto* r = std::get_if<proto::TreeShowRequest>(&req.body)) {
    auto tree = ctx.trees->Get(r->name);
    if (!tree)
      return Status::NotFound("tree '" + r->name + "'", "not registered (gemctl tree list)");
    proto::TreeShowReply out;
    out.tree = InfoOf(tree->record());
    for (uint32_t i = 0; i < tree->num_models(); ++i) {
      const gem::SearchableModel& model = tree->models()[i];
      proto::TreeModel m;
      m.index = i;
      m.digest = model.digest.Hex();
      m.name = model.name;
      m.kind = model.kind;
      for (const auto& t : tree->tasks()) {
        if (i < t.population.accuracy.size()) m.accuracy[t.name] = t.population.accuracy[i];
      }
      m.popularity = model.popularity;
      out.models.push_back(std::move(m));
    }
    return proto::ReplyBody(std::move(out));
  }
  return Status::NotSupported("request type '" + req.type + "'");
}

}  // namespace gemd
