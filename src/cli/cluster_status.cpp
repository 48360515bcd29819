#include "cli/cluster_status.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "base/clock.h"
#include "base/json_writer.h"
#include "cluster/leadership.h"
#include "cluster/redis_client.h"
#include "config/config.h"
#include "store/store.h"

namespace liveroom::cli {

namespace json = boost::json;

namespace {

struct Lease {
  std::string node_id;
  std::string advertise_url;
  int64_t ms_left = 0;
};

// A node of the registry's set: its entry, or none once it expired (the node stopped, or could
// not reach Redis for lease_ms).
struct NodeEntry {
  std::string node_id;
  std::optional<json::object> entry;
};

// Placement by app: an app's lease (who hosts it) and its epoch row.
struct AppHost {
  uint32_t sdkappid = 0;
  std::optional<Lease> lease;
  uint64_t epoch = 0;  // 0: no node ever hosted it
  std::string epoch_node_id;
};

// Placement by room: a slot's lease (who hosts its rooms) and its epoch row.
struct SlotHost {
  uint32_t sdkappid = 0;
  uint32_t slot = 0;
  std::optional<Lease> lease;
  uint64_t epoch = 0;  // 0: no node ever hosted it
  std::string epoch_node_id;
};

struct Status {
  std::string key_prefix;
  bool by_app = false;          // placement = "app": the leases are the apps', not the cluster's
  bool by_room = false;         // placement = "room": the leases are the slots', not the cluster's
  std::optional<Lease> lease;   // placement by cluster
  std::vector<AppHost> apps;    // placement by app, by sdkappid
  std::vector<SlotHost> slots;  // placement by room, by sdkappid then slot
  std::vector<NodeEntry> nodes;
  store::PostgresClusterSummary pg;
  bool serving = false;  // the lease holder's entry says it leads with a valid lease
};

std::string text_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t number_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

// Who holds the lease at `key` and for how long yet; none if nobody does.
std::optional<Lease> read_lease(cluster::RedisClient& redis, const std::string& key) {
  const cluster::RedisReply holder = redis.command({"GET", key});
  // A released lease (its leader stopped cleanly, or handed it to a node that has not taken it
  // yet) names nobody: no leader, as if absent.
  const auto* v = std::get_if<std::string>(&holder);
  if (!v || v->starts_with(cluster::kReleasedLease)) return std::nullopt;
  auto [node_id, advertise_url] = cluster::parse_lease_value(*v);
  Lease lease{std::move(node_id), std::move(advertise_url)};
  const cluster::RedisReply ttl = redis.command({"PTTL", key});
  if (const auto* ms = std::get_if<long long>(&ttl)) lease.ms_left = std::max<long long>(0, *ms);
  return lease;
}

Status read_status(const config::Config& cfg) {
  const config::ClusterConfig& cluster = *cfg.cluster;
  Status s;
  s.key_prefix = cluster.key_prefix;
  s.by_app = cluster.placement == config::ClusterConfig::Placement::kApp;
  s.by_room = cluster.placement == config::ClusterConfig::Placement::kRoom;
  cluster::RedisClient redis(cluster::parse_redis_url(cluster.redis_url),
                             std::chrono::milliseconds(2000));
  redis.connect();
  if (s.by_app) {
    for (const auto& app : cfg.apps) {
      s.apps.push_back(
          {.sdkappid = app.sdkappid,
           .lease = read_lease(redis, cluster::app_lease_key(cluster.key_prefix, app.sdkappid))});
    }
    std::ranges::sort(s.apps, {}, &AppHost::sdkappid);
  } else if (s.by_room) {
    // Every slot of every app of the config, hosted or not: a slot nobody holds is one whose
    // rooms do not answer.
    for (const auto& app : cfg.apps) {
      for (uint32_t slot = 0; slot < cluster.room_slots; ++slot) {
        s.slots.push_back(
            {.sdkappid = app.sdkappid,
             .slot = slot,
             .lease = read_lease(redis,
                                 cluster::slot_lease_key(cluster.key_prefix, app.sdkappid, slot))});
      }
    }
    std::ranges::sort(s.slots, {}, [](const SlotHost& h) { return std::pair(h.sdkappid, h.slot); });
  } else {
    s.lease = read_lease(redis, cluster::lease_key(cluster.key_prefix));
  }
  const cluster::RedisReply ids =
      redis.command({"SMEMBERS", cluster::registry_set_key(cluster.key_prefix)});
  if (const auto* list = std::get_if<std::vector<std::string>>(&ids)) {
    for (const auto& id : *list) {
      NodeEntry node{id, std::nullopt};
      const cluster::RedisReply entry =
          redis.command({"GET", cluster::registry_entry_key(cluster.key_prefix, id)});
      if (const auto* text = std::get_if<std::string>(&entry)) {
        boost::system::error_code ec;
        json::value parsed = json::parse(*text, ec);
        if (!ec && parsed.is_object()) node.entry = std::move(parsed.as_object());
      }
      s.nodes.push_back(std::move(node));
    }
  }
  std::ranges::sort(s.nodes, {}, &NodeEntry::node_id);
  for (const auto& node : s.nodes) {
    if (s.lease && node.node_id == s.lease->node_id && node.entry &&
        text_of(*node.entry, "role") == "leader") {
      const json::value* valid = node.entry->if_contains("lease_valid");
      s.serving = valid && valid->is_bool() && valid->as_bool();
    }
  }
  s.pg = store::postgres_cluster_summary(cluster.postgres_url);
  if (s.by_app) {
    for (const auto& row : store::postgres_app_leaderships(cluster.postgres_url)) {
      auto it = std::ranges::find(s.apps, row.sdkappid, &AppHost::sdkappid);
      if (it == s.apps.end()) continue;  // an app no longer in the config
      it->epoch = row.epoch;
      it->epoch_node_id = row.node_id;
    }
  }
  if (s.by_room) {
    for (const auto& row : store::postgres_slot_leaderships(cluster.postgres_url)) {
      auto it = std::ranges::find_if(s.slots, [&](const SlotHost& h) {
        return h.sdkappid == row.sdkappid && h.slot == row.slot;
      });
      // An app no longer in the config, or a slot beyond room_slots (it was lowered).
      if (it == s.slots.end()) continue;
      it->epoch = row.epoch;
      it->epoch_node_id = row.node_id;
    }
  }
  return s;
}

// Placement by app: every app of the config has a host.
bool every_app_hosted(const Status& s) {
  return std::ranges::all_of(s.apps, [](const AppHost& a) { return a.lease.has_value(); });
}

// Placement by room: every slot of every app of the config has a host.
bool every_slot_hosted(const Status& s) {
  return std::ranges::all_of(s.slots, [](const SlotHost& h) { return h.lease.has_value(); });
}

std::string duration_text(int64_t ms) {
  const int64_t seconds = std::max<int64_t>(0, ms / 1000);
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m {}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h {}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d {}h", seconds / 86400, seconds % 86400 / 3600);
}

void print_text(const Status& s, int64_t now_ms) {
  std::cout << fmt::format("cluster \"{}\"\n", s.key_prefix);
  if (s.by_app || s.by_room) {
    // The cluster's lease and epoch are not used: each app, or each slot, has its own (listed
    // below).
    std::cout << fmt::format("schema version {}\n", s.pg.schema_version);
  } else {
    if (s.lease) {
      std::cout << fmt::format("leader: {} at {}, lease {} ms left{}\n", s.lease->node_id,
                               s.lease->advertise_url, s.lease->ms_left,
                               s.serving ? "" : " (not serving yet: taking over, or paused)");
    } else {
      std::cout << "leader: none (no node holds the lease: the cluster does not answer)\n";
    }
    std::cout << fmt::format("epoch {} (last raised by {}, {} ago), schema version {}\n",
                             s.pg.epoch,
                             s.pg.leader_node_id.empty() ? "nobody" : s.pg.leader_node_id,
                             duration_text(now_ms - s.pg.leader_since_ms), s.pg.schema_version);
  }
  std::cout << fmt::format("rooms {}; webhooks {} queued, {} dead letters\n\n", s.pg.rooms,
                           s.pg.webhooks_pending, s.pg.webhooks_dead);
  if (s.by_app) {
    std::cout << "apps (placement by app):\n";
    for (const auto& app : s.apps) {
      if (app.lease) {
        std::cout << fmt::format("{}  {} at {}, lease {} ms left, epoch {}\n", app.sdkappid,
                                 app.lease->node_id, app.lease->advertise_url, app.lease->ms_left,
                                 app.epoch);
      } else {
        std::cout << fmt::format("{}  no host (no node holds its lease), epoch {}\n", app.sdkappid,
                                 app.epoch);
      }
    }
    std::cout << "\n";
  }
  if (s.by_room) {
    std::cout << "slots (placement by room):\n";
    for (const auto& slot : s.slots) {
      if (slot.lease) {
        std::cout << fmt::format("{}/{}  {} at {}, lease {} ms left, epoch {}\n", slot.sdkappid,
                                 slot.slot, slot.lease->node_id, slot.lease->advertise_url,
                                 slot.lease->ms_left, slot.epoch);
      } else {
        std::cout << fmt::format("{}/{}  no host (no node holds its lease), epoch {}\n",
                                 slot.sdkappid, slot.slot, slot.epoch);
      }
    }
    std::cout << "\n";
  }
  std::cout << fmt::format("{:<12} {:<12} {:<28} {:>8} {:>11}  {}\n", "node", "role", "address",
                           "up", "connections", "load");
  for (const auto& node : s.nodes) {
    if (!node.entry) {
      std::cout << fmt::format("{:<12} {:<12} (no entry: stopped, or out of touch with Redis)\n",
                               node.node_id, "-");
      continue;
    }
    const json::object& e = *node.entry;
    const std::string role = text_of(e, "role");
    std::string load;
    if (const json::value* slots = e.if_contains("slots"); slots && slots->is_array()) {
      // With placement by room a node hosts some slots ("<sdkappid>:<slot>") and carries the
      // others' calls.
      std::string ids;
      for (const auto& slot : slots->as_array()) {
        ids += (ids.empty() ? "" : ", ") +
               (slot.is_string() ? std::string(slot.as_string()) : json::serialize(slot));
      }
      load = fmt::format("hosts slots [{}] with {} rooms; {} clients and {} calls carried", ids,
                         number_of(e, "rooms"), number_of(e, "carried_clients"),
                         number_of(e, "carried_calls"));
    } else if (const json::value* apps = e.if_contains("apps"); apps && apps->is_array()) {
      // With placement by app a node hosts some apps and carries the others' calls.
      std::string ids;
      for (const auto& app : apps->as_array()) {
        ids += (ids.empty() ? "" : ", ") + json::serialize(app);
      }
      load = fmt::format("hosts apps [{}] with {} rooms; {} clients and {} calls carried", ids,
                         number_of(e, "rooms"), number_of(e, "carried_clients"),
                         number_of(e, "carried_calls"));
    } else if (role == "leader") {
      load = fmt::format("{} rooms", number_of(e, "rooms"));
    } else {
      load = fmt::format("{} clients and {} calls carried to the leader",
                         number_of(e, "carried_clients"), number_of(e, "carried_calls"));
    }
    std::cout << fmt::format(
        "{:<12} {:<12} {:<28} {:>8} {:>11}  {}\n", node.node_id, role, text_of(e, "advertise_url"),
        duration_text(now_ms - number_of(e, "started_ms")), number_of(e, "connections"), load);
  }
}

// An app's or a slot's host in the JSON output: who holds its lease (null for nobody), for how
// long yet, and who raised its epoch last.
void write_host(JsonWriter& w, const std::optional<Lease>& lease, uint64_t epoch,
                const std::string& epoch_node_id) {
  if (lease) {
    w.field("leader", lease->node_id).field("leader_url", lease->advertise_url);
  } else {
    w.key("leader").raw("null").key("leader_url").raw("null");
  }
  w.field("lease_ms_left", lease ? lease->ms_left : int64_t{0})
      .field("epoch", static_cast<int64_t>(epoch))
      .field("epoch_node_id", epoch_node_id);
}

void print_json(const Status& s) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .field("key_prefix", s.key_prefix)
      .field("placement", s.by_app    ? "app"
                          : s.by_room ? "room"
                                      : "cluster");
  if (s.by_app) {
    // The cluster's lease and epoch are not used: no leader, serving or epoch fields.
    w.key("apps").begin_array();
    for (const auto& app : s.apps) {
      w.begin_object().field("sdkappid", app.sdkappid);
      write_host(w, app.lease, app.epoch, app.epoch_node_id);
      w.end_object();
    }
    w.end_array();
  } else if (s.by_room) {
    // As by app, per slot.
    w.key("slots").begin_array();
    for (const auto& slot : s.slots) {
      w.begin_object().field("sdkappid", slot.sdkappid).field("slot", slot.slot);
      write_host(w, slot.lease, slot.epoch, slot.epoch_node_id);
      w.end_object();
    }
    w.end_array();
  } else {
    w.key("leader");
    if (s.lease) {
      w.begin_object()
          .field("node_id", s.lease->node_id)
          .field("advertise_url", s.lease->advertise_url)
          .field("lease_ms_left", s.lease->ms_left)
          .end_object();
    } else {
      w.raw("null");
    }
    w.field("serving", s.serving)
        .field("epoch", static_cast<int64_t>(s.pg.epoch))
        .field("epoch_node_id", s.pg.leader_node_id)
        .field("epoch_since_ms", s.pg.leader_since_ms);
  }
  w.field("schema_version", s.pg.schema_version)
      .field("rooms", s.pg.rooms)
      .key("webhooks")
      .begin_object()
      .field("pending", s.pg.webhooks_pending)
      .field("dead", s.pg.webhooks_dead)
      .end_object()
      .key("nodes")
      .begin_array();
  for (const auto& node : s.nodes) {
    json::object o = node.entry.value_or(json::object{});
    o["node_id"] = node.node_id;
    o["running"] = node.entry.has_value();
    w.raw(json::serialize(o));
  }
  w.end_array().end_object();
  std::cout << out << "\n";
}

}  // namespace

int print_cluster_status(const std::string& config_path, bool json_output) {
  try {
    const config::Config cfg = config::load_config_file(config_path);
    if (!cfg.cluster) {
      std::cerr << "liveroomd: " << config_path << " has no [cluster] table\n";
      return 2;
    }
    const Status status = read_status(cfg);
    if (json_output) {
      print_json(status);
    } else {
      print_text(status, SystemClock{}.unix_millis());
    }
    if (status.by_app) return every_app_hosted(status) ? 0 : 1;
    if (status.by_room) return every_slot_hosted(status) ? 0 : 1;
    return status.serving ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "liveroomd: cannot read the cluster's status: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace liveroom::cli
