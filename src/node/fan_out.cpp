#include "node/fan_out.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include <boost/json.hpp>

namespace liveroom::node {

server::HttpResponse gather(std::vector<server::HttpResponse> parts,
                            std::function<std::string(std::vector<std::string>&)> merge) {
  struct Gathering {
    std::mutex mu;
    std::vector<std::string> bodies;
    size_t left = 0;
    server::Answer answer;
    std::function<std::string(std::vector<std::string>&)> merge;
  };
  auto later = std::make_shared<server::Later>();
  later->start = [parts = std::move(parts),
                  merge = std::move(merge)](server::Answer answer) mutable {
    auto g = std::make_shared<Gathering>();
    g->bodies.resize(parts.size());
    g->left = parts.size();
    g->answer = std::move(answer);
    g->merge = std::move(merge);
    const auto done = [g](size_t i, std::string body) {
      std::unique_lock lock(g->mu);
      g->bodies[i] = std::move(body);
      if (--g->left > 0) return;
      lock.unlock();
      g->answer(server::HttpResponse{200, "application/json", g->merge(g->bodies), {}});
    };
    for (size_t i = 0; i < parts.size(); ++i) {
      server::HttpResponse& part = parts[i];
      const auto through_gate = [done, i](server::HttpResponse&& ready) {
        if (!ready.gate) return done(i, std::move(ready.body));
        auto gate = std::move(ready.gate);
        gate([done, i, body = std::move(ready.body)]() mutable { done(i, std::move(body)); });
      };
      if (part.later) {
        auto inner = std::move(part.later);
        inner->start(through_gate);
      } else {
        through_gate(std::move(part));
      }
    }
  };
  server::HttpResponse out;
  out.later = std::move(later);
  return out;
}

std::string merge_webhook_answers(std::vector<std::string>& bodies) {
  boost::json::object merged;
  boost::json::array letters;
  int64_t replayed = 0;
  for (const std::string& body : bodies) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return body;
    boost::json::object& o = v.get_object();
    const boost::json::value* code = o.if_contains("ErrorCode");
    if (code == nullptr || !code->is_int64() || code->get_int64() != 0) return body;
    const boost::json::value* response = o.if_contains("Response");
    if (response && response->is_object()) {
      if (const auto* list = response->get_object().if_contains("DeadLetters");
          list && list->is_array()) {
        for (const auto& letter : list->get_array()) letters.push_back(letter);
      }
      if (const auto* n = response->get_object().if_contains("Replayed"); n && n->is_int64()) {
        replayed += n->get_int64();
      }
    }
    if (merged.empty()) merged = std::move(o);
  }
  if (merged.empty()) return bodies.empty() ? std::string() : bodies.front();
  boost::json::object& response = merged["Response"].as_object();
  if (response.contains("DeadLetters")) {
    std::ranges::sort(letters, {}, [](const boost::json::value& letter) {
      const auto* id = letter.is_object() ? letter.get_object().if_contains("Id") : nullptr;
      return id && id->is_int64() ? id->get_int64() : int64_t{0};
    });
    response["DeadLetters"] = std::move(letters);
  }
  if (response.contains("Replayed")) response["Replayed"] = replayed;
  return boost::json::serialize(merged);
}

}  // namespace liveroom::node
