#include "cluster/link_host.h"

#include <atomic>
#include <chrono>

#include <spdlog/spdlog.h>

#include "base/log_throttle.h"
#include "cluster/link_records.h"

namespace liveroom::cluster {
namespace {

std::atomic<int64_t> g_calls_in_progress{0};
std::atomic<int64_t> g_links_open{0};

}  // namespace

size_t LinkHost::calls_in_progress() {
  return static_cast<size_t>(std::max<int64_t>(0, g_calls_in_progress.load()));
}

size_t LinkHost::links_open() {
  return static_cast<size_t>(std::max<int64_t>(0, g_links_open.load()));
}

// A client's connection as the gateway sees it: what it sends goes into the link, tagged with
// the client's id; the follower writes it to the client.
class LinkHost::ClientPeer final : public server::WebSocketPeer {
 public:
  ClientPeer(std::weak_ptr<LinkHost> host, std::shared_ptr<server::WebSocketPeer> link, uint64_t id,
             std::string remote)
      : host_(std::move(host)), link_(std::move(link)), id_(id), remote_(std::move(remote)) {}

  void send(std::shared_ptr<const std::string> text) override {
    auto host = host_.lock();
    if (!host) return;
    if (host->on_link_thread()) return host->write_here(id_, std::span(&text, 1));
    link_->post([weak = host_, id = id_, text = std::move(text)] {
      if (auto h = weak.lock()) h->write_here(id, std::span(&text, 1));
    });
  }
  void send_here(const std::shared_ptr<const std::string>& text) override {
    if (auto host = host_.lock()) host->write_here(id_, std::span(&text, 1));
  }
  void send_here(std::span<const std::shared_ptr<const std::string>> texts) override {
    if (auto host = host_.lock()) host->write_here(id_, texts);
  }
  void close(uint16_t code, std::string reason) override {
    link_->post([weak = host_, id = id_, code, reason = std::move(reason)] {
      if (auto h = weak.lock()) h->close_here(id, code, reason);
    });
  }
  void post(std::move_only_function<void()> fn) override { link_->post(std::move(fn)); }
  size_t worker() const override { return link_->worker(); }
  const std::string& remote_address() const override { return remote_; }
  server::SharedLink* shared_link() override { return host_.lock().get(); }
  uint64_t shared_link_id() const override { return id_; }

 private:
  std::weak_ptr<LinkHost> host_;
  std::shared_ptr<server::WebSocketPeer> link_;
  const uint64_t id_;
  const std::string remote_;
};

LinkHost::LinkHost(std::shared_ptr<server::WebSocketPeer> link, server::WebSocketOpener open_client,
                   server::Handler handle, Current current)
    : link_(std::move(link)),
      open_client_(std::move(open_client)),
      handle_(std::move(handle)),
      current_(std::move(current)),
      thread_(std::this_thread::get_id()) {
  g_links_open.fetch_add(1);
  // The follower keeps what its clients sent until it hears this: until then, the link may
  // yet be refused without a record read, and the clients routed to another leader.
  std::string accepted;
  append_record(accepted, 'P', 0, {});
  link_->send(std::make_shared<const std::string>(std::move(accepted)));
}

void LinkHost::on_text(std::string_view text) {
  const bool well_formed = parse_records(text, [this](const LinkRecord& record) {
    const auto parsed = parse_link_id(record.ids);
    if (!parsed) return;
    const uint64_t id = *parsed;
    switch (record.kind) {
      case 'O':
        open_here(id, record.payload);
        break;
      case 'R':
        call_here(id, record.payload);
        break;
      case 'K':
        barrier_here(id);
        break;
      case 'D':
        if (auto it = clients_.find(id); it != clients_.end()) {
          auto session = it->second;  // on_text may close it (and erase the entry)
          session->on_text(record.payload);
        }
        break;
      case 'C':
        if (auto it = clients_.find(id); it != clients_.end()) {
          auto session = std::move(it->second);
          clients_.erase(it);
          session->on_close();
        }
        break;
      default:  // 'P': keep-alive
        break;
    }
  });
  if (!well_formed) {
    spdlog::warn("cluster: a malformed record on the link from {}; closing it",
                 link_->remote_address());
    link_->close(1002, "malformed link record");
  }
}

void LinkHost::open_here(uint64_t id, std::string_view payload) {
  if (closed_ || clients_.contains(id)) return;
  const size_t eol = payload.find('\n');
  if (eol == std::string_view::npos) return;
  auto peer = std::make_shared<ClientPeer>(weak_from_this(), link_, id,
                                           std::string(payload.substr(0, eol)));
  server::HttpRequest upgrade{
      "GET", std::string(payload.substr(eol + 1)), {}, peer->remote_address()};
  // In the map before the opener runs: a login in the query may be answered at once.
  auto& session = clients_[id];
  session = open_client_(upgrade, peer);
  if (!session) {
    clients_.erase(id);
    append_close(pending_, id, {1008, "refused"});
    flush_soon();
  }
}

void LinkHost::call_here(uint64_t id, std::string_view payload) {
  g_calls_in_progress.fetch_add(1);  // until finish() gives its answer
  calls_here_.fetch_add(1);
  const auto call = parse_call(payload);
  if (!call) {
    answer_here(id, {400, "text/plain", "malformed forwarded call", {}, {}});
    return;
  }
  finish(weak_from_this(), id,
         handle_(server::HttpRequest{std::string(call->method), std::string(call->target),
                                     std::string(call->body), std::string(call->client_address)}));
}

void LinkHost::finish(std::weak_ptr<LinkHost> weak, uint64_t id, server::HttpResponse response) {
  // As the transport does: a later answer replaces the response (and may have a gate of its
  // own), a gate holds it until it opens (durability); from whichever thread, the answer then
  // goes into the link on its own thread.
  if (response.later) {
    auto later = std::move(response.later);
    later->start([weak, id](server::HttpResponse&& ready) { finish(weak, id, std::move(ready)); });
    return;
  }
  if (response.gate) {
    auto gate = std::move(response.gate);
    gate([weak, id, response = std::move(response)]() mutable {
      finish(weak, id, std::move(response));
    });
    return;
  }
  auto host = weak.lock();
  if (!host) {
    g_calls_in_progress.fetch_sub(1);
    return;
  }
  if (host->on_link_thread()) return host->answer_here(id, response);
  host->link_->post([weak, id, response = std::move(response)] {
    if (auto h = weak.lock()) {
      h->answer_here(id, response);
    } else {
      g_calls_in_progress.fetch_sub(1);
    }
  });
}

void LinkHost::answer_here(uint64_t id, const server::HttpResponse& response) {
  g_calls_in_progress.fetch_sub(1);
  calls_here_.fetch_sub(1);
  if (closed_) return;
  append_answer(pending_, id, {response.status, response.content_type, response.body});
  flush_soon();
}

void ChangedTags::add(std::string_view tag) {
  std::lock_guard lock(mu_);
  if (everything_) return;
  if (tags_.size() >= kMax) {
    everything_ = true;
    tags_.clear();
    return;
  }
  tags_.emplace(tag);
}

std::string ChangedTags::take() {
  std::lock_guard lock(mu_);
  std::string out;
  if (everything_) {
    out = kEverythingChanged;
  } else {
    for (const std::string& tag : tags_) {
      if (!out.empty()) out += '\n';
      out += tag;
    }
  }
  tags_.clear();
  everything_ = false;
  return out;
}

void LinkHost::barrier_here(uint64_t n) {
  // Every change made before this moment was recorded before it: the answer names it, or an
  // earlier answer did. The follower serves what it kept only after this answer arrives, so
  // nothing acknowledged before its read began can be missing from what it serves.
  std::string changed = changed_->take();
  if (!current_()) changed = kEverythingChanged;
  if (closed_) return;
  append_record(pending_, 'K', n, changed);
  flush_soon();
}

void LinkHost::write_here(uint64_t id, std::span<const std::shared_ptr<const std::string>> texts) {
  if (closed_ || texts.empty() || !clients_.contains(id)) return;
  append_record(pending_, 'D', std::span(&id, 1), texts);
  flush_soon();
}

void LinkHost::multicast_here(std::span<const uint64_t> peers,
                              std::span<const std::shared_ptr<const std::string>> texts) {
  if (closed_ || peers.empty() || texts.empty()) return;
  append_record(pending_, 'B', peers, texts);
  flush_soon();
}

void LinkHost::close_here(uint64_t id, uint16_t code, const std::string& reason) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  auto session = std::move(it->second);
  clients_.erase(it);
  if (!closed_) {
    append_close(pending_, id, {code, reason});
    flush_soon();
  }
  session->on_close();  // as the transport does once a connection it closed is gone
}

void LinkHost::flush_soon() {
  // Records written while handling one thing leave together, in one message.
  if (flush_posted_) return;
  flush_posted_ = true;
  link_->post([self = shared_from_this()] {
    self->flush_posted_ = false;
    if (self->closed_ || self->pending_.empty()) return;
    self->link_->send_here(std::make_shared<const std::string>(std::exchange(self->pending_, {})));
  });
}

void LinkHost::close_link(uint16_t code, std::string reason) {
  link_->post([self = shared_from_this(), code, reason = std::move(reason)]() mutable {
    if (self->closed_) return;
    if (!self->pending_.empty()) {
      self->link_->send_here(
          std::make_shared<const std::string>(std::exchange(self->pending_, {})));
    }
    self->link_->close(code, std::move(reason));
  });
}

void LinkHost::on_close() {
  if (!closed_) g_links_open.fetch_sub(1);
  closed_ = true;
  auto clients = std::exchange(clients_, {});
  for (auto& [id, session] : clients) session->on_close();
}

namespace {

class RefusedLink final : public server::WebSocketSession {
 public:
  explicit RefusedLink(bool counted) : counted_(counted) {
    if (counted_) g_links_open.fetch_add(1);
  }
  ~RefusedLink() override { on_close(); }
  void on_text(std::string_view) override {}
  void on_close() override {
    if (counted_ && !closed_) g_links_open.fetch_sub(1);
    closed_ = true;
  }

 private:
  const bool counted_;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<server::WebSocketSession> refuse_link(std::shared_ptr<server::WebSocketPeer> peer,
                                                      uint16_t code, std::string why) {
  if (code != kLinkRefused) {
    peer->close(code, std::move(why));
    return std::make_shared<RefusedLink>(true);
  }
  // A follower of another version retries with every call it carries: say it now and then.
  static LogThrottle throttle(std::chrono::seconds(10));
  if (const auto held_back = throttle.allow()) {
    spdlog::warn("cluster: refused the link from {}: {} ({} more refused since the last report)",
                 peer->remote_address(), why, *held_back);
  }
  peer->close(code, std::move(why));
  return std::make_shared<RefusedLink>(false);
}

}  // namespace liveroom::cluster
