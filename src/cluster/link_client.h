// A follower's end of its node link to the leader (link_records.h): one WebSocket carries every
// client connection this node accepts and every REST call it forwards, so the leader keeps one
// connection per node instead of one per client, calls travel in batches, and a broadcast to a
// room's members here crosses once; this node writes it to each of them. It knows nothing of
// rooms or of the Tencent API. It runs on the HTTP server's I/O threads, one link per thread: a
// call or a client is carried by the link of the thread its connection lives on, so nothing it
// carries changes threads on this node (a thread of its own cost a follower two wake-ups per
// call, half its CPU; docs/performance.md).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/link_records.h"
#include "server/http_server.h"
#include "server/websocket.h"

namespace liveroom::cluster {

// Which calls a follower may answer itself from an answer of the leader's it kept, and how: the
// application's rules (the link knows nothing of the API). A kept answer is given again only
// after a barrier: the follower asks the leader what changed since its previous one, forgets
// the answers about those tags, and serves the calls that arrived before it asked (link_host.h).
class KeptReads {
 public:
  virtual ~KeptReads() = default;
  // The key the answer to `request` is kept under, or nullopt: the call goes to the leader.
  // Called on the server's I/O threads.
  virtual std::optional<std::string> key_of(const server::HttpRequest& request) = 0;
  // What the leader's answer `body` to the call kept under `key` is about (the tag the leader
  // names when it changes), or nullopt: it is not kept.
  virtual std::optional<std::string> tag_of(std::string_view key, std::string_view body) = 0;
  // The response that gives a kept answer again.
  virtual server::HttpResponse replay(std::string_view body) = 0;
};

class LinkClient {
 public:
  // Renders the answer to a call the leader could not answer (the link broke, or it timed out):
  // the transport cannot render the application's envelope itself.
  using Unreachable = std::function<server::HttpResponse(std::string_view why)>;
  // What to answer to a call the leader never carried out: the link to it could not be opened,
  // or it answered kNotCarriedOut (it is stepping down). The call may go to the next leader.
  using Reroute = std::function<server::HttpResponse(server::HttpRequest&&, std::string_view why)>;
  // Told (on an I/O thread) that the leader at this URL may be gone: a link to it broke or
  // could not be opened, or it is stepping down.
  using LeaderGone = std::function<void(const std::string& leader_url)>;

  // `node_id` and `secret` (the cluster's, from PostgreSQL) identify this node to the leader.
  // `server` lends its I/O threads: a link to the leader per thread (the leader's acceptor
  // spreads them over its own threads), so every core of both nodes shares the work. Create it
  // before server.start(); stop() it after server.drain_and_stop().
  // `kept`, if any, says which calls this node may answer from what it kept (it must outlive
  // this). `shard`, if not empty, names what the links are for (with placement by app, the app:
  // a node hosting several routes each link to the right one; link_shard() reads it).
  LinkClient(std::string node_id, std::string secret, Unreachable unreachable,
             std::chrono::milliseconds call_timeout, server::HttpServer& server,
             LeaderGone leader_gone = {}, KeptReads* kept = nullptr, std::string shard = {});
  ~LinkClient();
  LinkClient(const LinkClient&) = delete;
  LinkClient& operator=(const LinkClient&) = delete;

  // Told, on the client's thread, whether the leader gets a client: true once its link is
  // open, false if the link died before it ever opened (the client is then left open).
  using Settled = std::function<void(bool carried)>;

  // Carries a client's gateway connection to the leader at `leader_url` (http://host:port): the
  // leader sees its address and the upgrade's target (and so its login), the client sees the
  // leader's messages and close code. If the link goes, the client is closed with 1012, unless
  // it never opened and `settled` is given: then `settled(false)`.
  std::shared_ptr<server::WebSocketSession> open(const std::string& leader_url,
                                                 const server::HttpRequest& upgrade,
                                                 std::shared_ptr<server::WebSocketPeer> peer,
                                                 Settled settled = {});
  // Answers (later) with what the leader at `leader_url` answers to `request`; with what
  // `unreachable` (the constructor's if empty) renders if the leader does not answer; with what
  // `reroute` answers if the leader never carried the call out (none: as unreachable). Called
  // on one of the server's I/O threads (a Handler), it carries the call on that thread's link.
  server::HttpResponse forward(const std::string& leader_url, server::HttpRequest&& request,
                               Unreachable unreachable = {}, Reroute reroute = {});
  // Answers (later) what `then` answers to `request` after `delay`: a call held on an I/O
  // thread's timer while no leader can take it.
  server::HttpResponse after(std::chrono::milliseconds delay, server::HttpRequest&& request,
                             std::function<server::HttpResponse(server::HttpRequest&&)> then);
  // A client connection routed by `route` (this node's gateway, or a link's session, which
  // must call `settled`), now and, while it gives none or its link dies before opening, again
  // every `step`; each route gets what the client sent so far, in order, until a leader has
  // it. At `until`, or past kMaxHeldBytes held, the client is closed with 1013 and reconnects.
  // Called by the transport's opener, on the peer's thread.
  using ClientRoute = std::function<std::shared_ptr<server::WebSocketSession>(
      const server::HttpRequest& upgrade, std::shared_ptr<server::WebSocketPeer> peer,
      Settled settled)>;
  std::shared_ptr<server::WebSocketSession> hold(const server::HttpRequest& upgrade,
                                                 std::shared_ptr<server::WebSocketPeer> peer,
                                                 std::chrono::milliseconds step,
                                                 std::chrono::steady_clock::time_point until,
                                                 ClientRoute route);
  static constexpr size_t kMaxHeldBytes = 64 * 1024;

  // The node at `leader_url` no longer leads (the lease names another): its links are closed,
  // as if they had broken, saying `why`. Their calls are answered as unreachable (the old
  // leader may have carried them out before it was replaced), or held for the next leader if
  // the link never opened; their clients reconnect. Without it a leader that froze (a stalled
  // VM) would keep them until it wakes up or its silence times out. A link whose handshake the
  // old leader answered but that it has not accepted yet is left to end by itself: the node
  // was alive a moment ago, its refusal (a node that handed the app over refuses every link,
  // so nothing on it was carried out) or its acceptance is on the way. Any thread.
  void abandon(const std::string& leader_url, const std::string& why);
  // Closes every link (their calls are answered as unreachable, their clients told to
  // reconnect). Only once the server's I/O threads have stopped (after drain_and_stop), since it
  // touches what lives on them; the destructor does nothing more.
  void stop();

  // For /metrics: client connections carried, and calls waiting for the leader's answer.
  size_t carried_clients() const;
  size_t calls_in_flight() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The path the leader serves node links on, and whether `target` (its query string) carries
// `secret`.
inline constexpr std::string_view kLinkPath = "/cluster/link";
bool link_secret_matches(std::string_view target, std::string_view secret);
// The shard a link's `target` names (LinkClient's `shard`), empty if none.
std::string link_shard(std::string_view target);

// The form and meaning of the link's records (link_records.h); raised whenever either changes,
// so that nodes of two versions (a rolling upgrade) refuse each other's links with a reason
// instead of misreading them. A follower names it in the link's query string.
inline constexpr int kLinkProtocol = 3;
// Why the leader must refuse a link whose `target` names another protocol (or none); nullopt
// when it names this one.
std::optional<std::string> link_protocol_mismatch(std::string_view target);

}  // namespace liveroom::cluster
