// The leader's end of a node link (link_records.h): every client connection a follower carries
// over it becomes a session of this node's gateway, as if the client had connected here, with a
// peer that writes into the link. Broadcasts to the link's clients cross it once (SharedLink).
// REST calls forwarded over it go to the node's handler and their answers back, each when it is
// ready (an answer that waits for its write to be durable does not hold up the others).
// Everything runs on the link's I/O thread, as the transport calls a session.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "cluster/link_records.h"
#include "server/http_server.h"
#include "server/websocket.h"

namespace liveroom::cluster {

// What changed since a link's previous barrier: tags the application names (rooms). Shared by
// the link and whatever tells it of changes, which may do so under locks of its own: it only
// records, and its end is trivial.
class ChangedTags {
 public:
  // From any thread, before the change can be acknowledged.
  void add(std::string_view tag);
  // The payload of a barrier's answer: the tags joined by '\n', or kEverythingChanged beyond
  // kMax of them; empties the set.
  std::string take();
  static constexpr size_t kMax = 4096;

 private:
  std::mutex mu_;
  std::unordered_set<std::string> tags_;
  bool everything_ = false;
};

class LinkHost final : public server::WebSocketSession,
                       public server::SharedLink,
                       public std::enable_shared_from_this<LinkHost> {
 public:
  // True while this node's memory is the cluster's truth (it leads and its lease holds).
  using Current = std::function<bool()>;
  // `open_client` is the gateway's opener and `handle` the REST handler: what a direct
  // connection to this node would get. A barrier is answered with what changed only while
  // `current()`; otherwise with "everything", so the follower asks again.
  LinkHost(std::shared_ptr<server::WebSocketPeer> link, server::WebSocketOpener open_client,
           server::Handler handle, Current current);

  // Where to record what changed (a room: the application's tag): the follower hears it in
  // the answer to its next barrier.
  const std::shared_ptr<ChangedTags>& changed_tags() const { return changed_; }

  void on_text(std::string_view text) override;
  void on_close() override;
  void multicast_here(std::span<const uint64_t> peers,
                      std::span<const std::shared_ptr<const std::string>> texts) override;

  // Sends what is pending, then closes the link with `code` and `reason`; from any thread. A
  // leader stepping down does this once the calls the link carried have their answers.
  void close_link(uint16_t code, std::string reason);
  // Across every link of this process: calls received and not answered yet, and links open
  // (those refused with a close code other than kLinkRefused included, until their close
  // handshake ends: a drain would cut it, and the follower could not tell they carried nothing).
  static size_t calls_in_progress();
  static size_t links_open();
  // This link's calls received and not answered yet (a leader handing one app over waits for
  // its own links' calls, not those of its other apps).
  size_t calls_in_progress_here() const {
    return static_cast<size_t>(std::max<int64_t>(0, calls_here_.load()));
  }

  // For the peers of the link's clients (on the link's I/O thread).
  bool on_link_thread() const { return std::this_thread::get_id() == thread_; }
  void write_here(uint64_t id, std::span<const std::shared_ptr<const std::string>> texts);
  void close_here(uint64_t id, uint16_t code, const std::string& reason);

 private:
  class ClientPeer;  // (its session holds it)
  void open_here(uint64_t id, std::string_view payload);
  void call_here(uint64_t id, std::string_view payload);
  void answer_here(uint64_t id, const server::HttpResponse& response);
  void barrier_here(uint64_t n);
  // Sends `response` once it is final (its later answer arrived, its gate opened).
  static void finish(std::weak_ptr<LinkHost> weak, uint64_t id, server::HttpResponse response);
  void flush_soon();

  std::shared_ptr<server::WebSocketPeer> link_;
  server::WebSocketOpener open_client_;
  server::Handler handle_;
  const Current current_;
  const std::shared_ptr<ChangedTags> changed_ = std::make_shared<ChangedTags>();
  const std::thread::id thread_;
  std::unordered_map<uint64_t, std::shared_ptr<server::WebSocketSession>> clients_;  // by id
  std::string pending_;  // records written since the last flush
  bool flush_posted_ = false;
  bool closed_ = false;
  std::atomic<int64_t> calls_here_{0};
};

// A link the leader will not serve, closed with `code` (link_records.h) and `why`; what arrives
// meanwhile is ignored, so nothing it carried was carried out. kLinkRefused: a follower of
// another version (it answers its calls with `why`); kLinkNotLeading: this node does not lead
// (not yet, or no longer), so the follower holds its calls for the leader.
std::shared_ptr<server::WebSocketSession> refuse_link(std::shared_ptr<server::WebSocketPeer> peer,
                                                      uint16_t code, std::string why);

}  // namespace liveroom::cluster
