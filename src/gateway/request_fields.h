// Reading a gateway request's fields: the REST readers (api::Fields) with the client SDK's
// parameter code. Shared by the files of the gateway's requests.
#pragma once

#include <utility>

#include "api/fields.h"
#include "base/error.h"

namespace liveroom::gateway {

// Parameter errors of the REST readers (100002, 60015) are the SDK's -1001 on the gateway.
inline Error client_parameter_error(Error e) {
  if (e.code == Code::kInvalidParameter || e.code == Code::kAccountNotString) {
    e.code = Code::kClientBadParameter;
  }
  return e;
}

template <typename T>
Result<T> param(Result<T> r) {
  if (!r) return std::unexpected(client_parameter_error(std::move(r.error())));
  return r;
}

// The `Accept` of a respond request (seat requests, co-hosting, battles): required, a boolean.
inline Result<bool> required_accept(const api::Fields& f) {
  auto accept = param(f.boolean("Accept"));
  if (!accept) return std::unexpected(accept.error());
  if (!*accept) return fail(Code::kClientBadParameter, "Accept is required (true or false)");
  return **accept;
}

}  // namespace liveroom::gateway
