// The REST calls a cluster follower answers itself (cluster::KeptReads): get_room_info, the
// cluster's most frequent call, from the leader's last answer for the same caller and body,
// while the leader says the room has not changed (docs/cluster.md, "Reads on followers").
// Everything else, and every call that would not be answered 0 here, goes to the leader, which
// alone decides errors: a follower gives again only answers the leader gave.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "api/caller_check.h"
#include "base/clock.h"
#include "cluster/link_client.h"
#include "config/config.h"
#include "metrics/registry.h"
#include "quota/quota_table.h"

namespace liveroom::api {

class FollowerReads final : public cluster::KeptReads {
 public:
  // `answered` counts the calls answered from a kept answer.
  FollowerReads(const config::Config& config, const Clock& clock, metrics::Counter& answered);

  // The tag of a room: what the leader's RoomWatcher names, and what tag_of() finds in an answer.
  static std::string room_tag(uint32_t sdkappid, std::string_view room_id);

  // A get_room_info whose UserSig passes here, of an app without a quota on it (a bucket is
  // the cluster's, on the leader): keyed by app, identifier, UserSig and body. The leader's
  // success for that key says the identifier is an App admin and the body names the room.
  std::optional<std::string> key_of(const server::HttpRequest& request) override;
  // The room a successful get_room_info answer is about; nullopt for any other answer.
  std::optional<std::string> tag_of(std::string_view key, std::string_view body) override;
  // The kept answer with a RequestId of this node's.
  server::HttpResponse replay(std::string_view body) override;

 private:
  CallerCheck callers_;
  std::unordered_set<uint32_t> unlimited_;  // the apps without a quota on get_room_info
  const Clock& clock_;
  metrics::Counter& answered_;
};

}  // namespace liveroom::api
