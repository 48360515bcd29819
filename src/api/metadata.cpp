// Room metadata commands of live_engine_http_srv (spec §2.1): set_room_metadata (upsert),
// get_room_metadata, del_room_metadata. The limits live in domain::upsert_metadata.
#include <array>

#include <fmt/format.h>

#include "api/command.h"
#include "api/fields.h"

namespace liveroom::api {

namespace json = boost::json;

namespace {

// More entries than a room can hold is already an error; the bound keeps a hostile body cheap.
constexpr size_t kMaxEntriesPerCall = 100;

Result<Reply> set_room_metadata(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto items = f.object_array("Metadata", kMaxEntriesPerCall);
  if (!items) return std::unexpected(items.error());
  if (!*items) return std::unexpected(f.invalid("Metadata", "is required"));
  std::vector<domain::MetadataEntry> entries;
  entries.reserve((*items)->size());
  for (const Fields& item : **items) {
    // Lengths are checked in the domain, against the room's totals.
    auto key = item.required_text("Key", SIZE_MAX);
    if (!key) return std::unexpected(key.error());
    auto value = item.required_text("Value", SIZE_MAX);
    if (!value) return std::unexpected(value.error());
    entries.emplace_back(std::string(*key), std::string(*value));
  }
  auto ok = s.engine.set_metadata(call.sdkappid, *room_id, entries, call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

Result<Reply> get_room_metadata(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto keys = f.text_array("Keys", kMaxEntriesPerCall, SIZE_MAX);
  if (!keys) return std::unexpected(keys.error());
  auto metadata =
      s.engine.read_room(call.sdkappid, *room_id, call.fence, [&](const domain::Room& room) {
        json::array out(call.storage);
        for (const auto& [key, value] : room.metadata) {
          const bool wanted = !*keys || (*keys)->empty() ||
                              std::find((*keys)->begin(), (*keys)->end(), key) != (*keys)->end();
          if (!wanted) continue;
          json::object entry(call.storage);
          entry["Key"] = key;
          entry["Value"] = value;
          out.emplace_back(std::move(entry));
        }
        return out;
      });
  if (!metadata) return std::unexpected(metadata.error());
  Reply reply{json::object(call.storage)};
  reply.fields["Metadata"] = std::move(*metadata);
  return reply;
}

Result<Reply> del_room_metadata(Services& s, Call& call) {
  Fields f(call.body);
  auto room_id = room_id_field(f);
  if (!room_id) return std::unexpected(room_id.error());
  auto keys = f.text_array("Keys", kMaxEntriesPerCall, SIZE_MAX);
  if (!keys) return std::unexpected(keys.error());
  if (!*keys) return std::unexpected(f.invalid("Keys", "is required"));
  auto ok = s.engine.delete_metadata(call.sdkappid, *room_id, **keys, call.fence, call.actor());
  if (!ok) return std::unexpected(ok.error());
  return Reply{json::object(call.storage)};
}

constexpr std::array<CommandSpec, 3> kCommands{{
    {"live_engine_http_srv/set_room_metadata", set_room_metadata},
    {"live_engine_http_srv/get_room_metadata", get_room_metadata},
    {"live_engine_http_srv/del_room_metadata", del_room_metadata},
}};

}  // namespace

std::span<const CommandSpec> metadata_commands() {
  return kCommands;
}

}  // namespace liveroom::api
