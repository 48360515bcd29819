// The Tencent reply envelope: always HTTP 200, the outcome in the body:
//   {"ActionStatus":"OK"|"FAIL","ErrorCode":n,"ErrorInfo":"...","RequestId":"Id-<32
//   hex>-O-Seq-<n>",
//    "Response":{...}}
#pragma once

#include <string>
#include <string_view>

#include "api/command.h"

namespace liveroom::api {

// Unique per request: 128 random bits per request plus a process-wide sequence number.
std::string next_request_id();

// How every success begins: its RequestId follows, then '"' and the rest. (A cluster follower
// giving a kept answer again puts its own RequestId there: follower_reads.cpp.)
inline constexpr std::string_view kSuccessPrefix =
    R"({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":")";
std::string encode_success(const std::string& request_id, const Reply& reply);
std::string encode_failure(const std::string& request_id, const Error& error);

}  // namespace liveroom::api
