// The records a node link carries. A follower holds one WebSocket to the leader for all of its
// clients' gateway connections and the REST calls it forwards; each record names the client
// connection or the call (an id the follower chose) it is about:
//
//   follower → leader  O id  payload = the client's address, '\n', the upgrade's target
//                      D id  payload = a message from the client
//                      C id  the client closed
//                      R id  payload = "<method> <target> <client address>\n<body>": a REST call
//                      K n   a barrier: which kept answers are stale? (n counts the barriers)
//                      P 0   keep-alive (nothing else to send)
//   leader → follower  P 0   the link is accepted: sent once, before any record is read
//                      D id  payload = messages to the client (joined by '\n')
//                      B ids payload = the same, to every listed client (ids joined by ',')
//                      C id  payload = "<close code> <reason>": close the client
//                      A id  payload = "<status> <content type>\n<body>": the answer to R id
//                      K n   payload = the tags of what changed since the link's previous
//                            barrier, joined by '\n', or "*" (anything may have: forget all)
//
// A record is "<kind> <ids> <payload length>\n<payload>". A WebSocket message holds one or more
// records, optionally separated by '\n' (the transport joins queued messages with one).
//
// What a follower may send to the next leader is what this leader says it did not carry out:
// an answer with status kNotCarriedOut, or every call of a link it closed with
// kLinkNotLeading.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::cluster {

// The status of the answer to a call the leader did not carry out because it is stepping down.
// (421 Misdirected Request: the API itself never answers it.)
inline constexpr unsigned kNotCarriedOut = 421;
// Close codes of a link the leader refuses after the handshake, before reading any record:
// a follower of another version (kLinkRefused), or a node that does not lead, not yet or no
// longer (kLinkNotLeading, "try again later").
inline constexpr uint16_t kLinkRefused = 1008;
inline constexpr uint16_t kLinkNotLeading = 1013;

struct LinkRecord {
  char kind = 0;
  std::string_view ids;  // one id, or several joined by ','
  std::string_view payload;
};

void append_record(std::string& out, char kind, uint64_t id, std::string_view payload);
// One record whose payload is `texts` joined by '\n', for one id or several.
void append_record(std::string& out, char kind, std::span<const uint64_t> ids,
                   std::span<const std::shared_ptr<const std::string>> texts);

// The payload of a barrier's answer (K) that makes a follower forget every answer it kept.
inline constexpr std::string_view kEverythingChanged = "*";

// A REST call (R) and its answer (A).
struct LinkCall {
  std::string_view method, target, client_address, body;
};
struct LinkAnswer {
  unsigned status = 0;
  std::string_view content_type, body;
};
// A close (C) from the leader: the close code and reason the client gets.
struct LinkClose {
  uint16_t code = 1011;
  std::string_view reason;
};
void append_close(std::string& out, uint64_t id, const LinkClose& close);
// A payload without a valid code reads as 1011 (server error) with the payload as reason.
LinkClose parse_close(std::string_view payload);

void append_call(std::string& out, uint64_t id, const LinkCall& call);
void append_answer(std::string& out, uint64_t id, const LinkAnswer& answer);
// nullopt when the payload is not an R's (A's).
std::optional<LinkCall> parse_call(std::string_view payload);
std::optional<LinkAnswer> parse_answer(std::string_view payload);

// Calls `visit` for each record of `message`; false (having visited the well-formed ones
// before) when a record is malformed.
bool parse_records(std::string_view message, const std::function<void(const LinkRecord&)>& visit);
// One id; nullopt unless it is a decimal number.
std::optional<uint64_t> parse_link_id(std::string_view id);
// "12" or "3,4,5"; nullopt unless every id is a decimal number.
std::optional<std::vector<uint64_t>> parse_link_ids(std::string_view ids);

}  // namespace liveroom::cluster
