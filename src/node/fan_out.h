// Placement by room (docs/cluster.md): a call about the whole of an app that each slot's host
// answers for its own rooms (the webhook dead letters, which each host's dispatcher keeps), asked
// of every slot and answered as one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "server/http_server.h"

namespace liveroom::node {

// The answers of every slot of an app to one call, as one answer, once all have come (each may
// come later, over a link, or wait for durability). `merge` makes the answer from their bodies,
// in slot order.
server::HttpResponse gather(std::vector<server::HttpResponse> parts,
                            std::function<std::string(std::vector<std::string>&)> merge);

// The dead letters of every slot (liveroom_webhooks/get_dead_letters) by Id, or the sum of what
// each replayed (replay_dead_letters); the first failure if any slot failed.
std::string merge_webhook_answers(std::vector<std::string>& bodies);

}  // namespace liveroom::node
