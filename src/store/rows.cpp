#include "store/rows.h"

#include <fmt/format.h>

namespace liveroom::store {

namespace json = boost::json;

std::string encode_category(const std::vector<int64_t>& category) {
  json::array arr;
  for (int64_t c : category) arr.emplace_back(c);
  return json::serialize(arr);
}

std::string encode_metadata(const std::vector<domain::MetadataEntry>& metadata) {
  json::array arr;
  arr.reserve(metadata.size());
  for (const auto& [k, v] : metadata) {
    json::array pair;
    pair.reserve(2);
    pair.emplace_back(k);
    pair.emplace_back(v);
    arr.emplace_back(std::move(pair));
  }
  return json::serialize(arr);
}

std::string encode_profile(const domain::Account& account) {
  json::object obj;
  for (const auto& [tag, value] : account.profile) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      obj[tag] = *s;
    } else {
      obj[tag] = std::get<int64_t>(value);
    }
  }
  return json::serialize(obj);
}

std::string encode_commands(const std::vector<std::string>& commands) {
  json::array arr;
  for (const auto& cmd : commands) arr.emplace_back(cmd);
  return json::serialize(arr);
}

std::string encode_moderation(const domain::RoomModeration& m) {
  auto users = [](const std::vector<std::string>& list) {
    json::array a;
    for (const auto& u : list) a.emplace_back(json::string(u));
    return a;
  };
  auto restrictions = [](const std::vector<domain::Restriction>& list) {
    json::array a;
    for (const auto& r : list) {
      a.emplace_back(json::object{{"user", r.user_id}, {"until", r.until}, {"reason", r.reason}});
    }
    return a;
  };
  json::array seats;
  for (const auto& s : m.seats) {
    seats.emplace_back(json::object{{"member", s.member},
                                    {"taken_disabled", s.taken_disabled},
                                    {"video_disabled", s.video_disabled},
                                    {"audio_disabled", s.audio_disabled}});
  }
  return json::serialize(json::object{{"admins", users(m.admins)},
                                      {"bans", restrictions(m.bans)},
                                      {"mutes", restrictions(m.mutes)},
                                      {"robots", users(m.robots)},
                                      {"seats", std::move(seats)}});
}

json::value parse_column(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw StoreError(fmt::format("corrupt {} column: {}", what, ec.message()));
  return v;
}

void decode_category(std::string_view text, std::vector<int64_t>& out) {
  const json::value category = parse_column(text, "rooms.category");
  for (const auto& c : category.as_array()) out.push_back(c.as_int64());
}

void decode_metadata(std::string_view text, std::vector<domain::MetadataEntry>& out) {
  const json::value stored = parse_column(text, "room_metadata.entries");
  for (const auto& e : stored.as_array()) {
    const auto& pair = e.as_array();
    out.emplace_back(std::string(pair.at(0).as_string()), std::string(pair.at(1).as_string()));
  }
}

void decode_profile(std::string_view text, domain::Account& out) {
  const json::value profile = parse_column(text, "accounts.profile");
  for (const auto& [tag, value] : profile.as_object()) {
    if (value.is_string()) {
      out.profile.emplace(std::string(tag), std::string(value.get_string()));
    } else {
      out.profile.emplace(std::string(tag), value.to_number<int64_t>());
    }
  }
}

std::vector<std::string> decode_commands(std::string_view text) {
  std::vector<std::string> commands;
  const json::value stored = parse_column(text, "callback_config.commands");
  for (const auto& cmd : stored.as_array()) {
    commands.emplace_back(cmd.as_string());
  }
  return commands;
}

domain::RoomModeration decode_moderation(std::string_view text) {
  const json::value state = parse_column(text, "room_moderation.state");
  domain::RoomModeration m;
  const auto& o = state.as_object();
  for (const auto& u : o.at("admins").as_array()) m.admins.emplace_back(u.as_string());
  for (const auto& u : o.at("robots").as_array()) m.robots.emplace_back(u.as_string());
  auto restrictions = [&](std::string_view key, std::vector<domain::Restriction>& out) {
    for (const auto& v : o.at(key).as_array()) {
      const auto& r = v.as_object();
      out.push_back({std::string(r.at("user").as_string()), r.at("until").to_number<int64_t>(),
                     std::string(r.at("reason").as_string())});
    }
  };
  restrictions("bans", m.bans);
  restrictions("mutes", m.mutes);
  if (const auto* seats = o.if_contains("seats")) {
    for (const auto& v : seats->as_array()) {
      const auto& s = v.as_object();
      m.seats.push_back({std::string(s.at("member").as_string()), s.at("taken_disabled").as_bool(),
                         s.at("video_disabled").as_bool(), s.at("audio_disabled").as_bool()});
    }
  }
  return m;
}

namespace {

json::object encode_languages(const std::map<std::string, domain::LocalText, std::less<>>& texts) {
  json::object o;
  for (const auto& [language, text] : texts) {
    o[language] = json::array{json::string(text.name), json::string(text.desc)};
  }
  return o;
}

void decode_languages(const json::object& o,
                      std::map<std::string, domain::LocalText, std::less<>>& out) {
  for (const auto& [language, v] : o) {
    const auto& pair = v.as_array();
    out.emplace(std::string(language), domain::LocalText{std::string(pair.at(0).as_string()),
                                                         std::string(pair.at(1).as_string())});
  }
}

}  // namespace

std::string encode_gift(const domain::Gift& g) {
  json::object o;
  o["icon_url"] = g.icon_url;
  o["resource_url"] = g.resource_url;
  o["coins"] = g.coins;
  o["level"] = g.level;
  o["extension_info"] = g.extension_info;
  o["name"] = g.default_name;
  o["desc"] = g.default_desc;
  o["create_time"] = g.create_time;
  o["languages"] = encode_languages(g.languages);
  return json::serialize(o);
}

void decode_gift(std::string_view text, domain::Gift& out) {
  const json::value doc = parse_column(text, "gifts.doc");
  const auto& o = doc.as_object();
  out.icon_url = o.at("icon_url").as_string();
  out.resource_url = o.at("resource_url").as_string();
  out.coins = o.at("coins").to_number<int64_t>();
  out.level = o.at("level").to_number<int64_t>();
  out.extension_info = o.at("extension_info").as_string();
  out.default_name = o.at("name").as_string();
  out.default_desc = o.at("desc").as_string();
  out.create_time = o.at("create_time").to_number<int64_t>();
  decode_languages(o.at("languages").as_object(), out.languages);
}

std::string encode_gift_category(const domain::GiftCategory& c) {
  json::object o;
  o["extension_info"] = c.extension_info;
  o["name"] = c.default_name;
  o["desc"] = c.default_desc;
  o["create_time"] = c.create_time;
  o["languages"] = encode_languages(c.languages);
  json::array gifts;
  for (const auto& id : c.gift_ids) gifts.emplace_back(json::string(id));
  o["gift_ids"] = std::move(gifts);
  return json::serialize(o);
}

void decode_gift_category(std::string_view text, domain::GiftCategory& out) {
  const json::value doc = parse_column(text, "gift_categories.doc");
  const auto& o = doc.as_object();
  out.extension_info = o.at("extension_info").as_string();
  out.default_name = o.at("name").as_string();
  out.default_desc = o.at("desc").as_string();
  out.create_time = o.at("create_time").to_number<int64_t>();
  decode_languages(o.at("languages").as_object(), out.languages);
  for (const auto& id : o.at("gift_ids").as_array()) out.gift_ids.emplace_back(id.as_string());
}

std::string encode_gift_keys(const std::vector<GiftSendKey>& keys) {
  json::array a;
  for (const auto& k : keys) a.emplace_back(json::array{k.random, k.coins});
  return json::serialize(a);
}

std::vector<GiftSendKey> decode_gift_keys(std::string_view text) {
  std::vector<GiftSendKey> keys;
  const json::value stored = parse_column(text, "room_gift_senders.recent");
  for (const auto& v : stored.as_array()) {
    const auto& pair = v.as_array();
    keys.push_back({pair.at(0).to_number<uint32_t>(), pair.at(1).to_number<int64_t>()});
  }
  return keys;
}

std::string encode_battle(const domain::Battle& b) {
  json::array rooms;
  for (const auto& r : b.rooms) {
    rooms.emplace_back(json::object{{"room_id", r.room_id},
                                    {"owner", r.owner},
                                    {"state", static_cast<int64_t>(r.state)},
                                    {"score", r.score},
                                    {"invited_until_ms", r.invited_until_ms}});
  }
  json::object o;
  o["rooms"] = std::move(rooms);
  o["duration_ms"] = b.duration_ms;
  o["extension_info"] = b.extension_info;
  o["create_ms"] = b.create_ms;
  o["start_ms"] = b.start_ms;
  o["end_ms"] = b.end_ms;
  o["status"] = static_cast<int64_t>(b.status);
  o["end_reason"] = b.end_reason;
  return json::serialize(o);
}

void decode_battle(std::string_view text, domain::Battle& out) {
  const json::value doc = parse_column(text, "battles.doc");
  const auto& o = doc.as_object();
  for (const auto& v : o.at("rooms").as_array()) {
    const auto& r = v.as_object();
    out.rooms.push_back(
        {std::string(r.at("room_id").as_string()), std::string(r.at("owner").as_string()),
         static_cast<domain::BattleRoomState>(r.at("state").to_number<int>()),
         r.at("score").to_number<int64_t>(), r.at("invited_until_ms").to_number<int64_t>()});
  }
  out.duration_ms = o.at("duration_ms").to_number<int64_t>();
  out.extension_info = o.at("extension_info").as_string();
  out.create_ms = o.at("create_ms").to_number<int64_t>();
  out.start_ms = o.at("start_ms").to_number<int64_t>();
  out.end_ms = o.at("end_ms").to_number<int64_t>();
  out.status = static_cast<domain::BattleStatus>(o.at("status").to_number<int>());
  out.end_reason = o.at("end_reason").as_string();
}

}  // namespace liveroom::store
