// Query strings of the Tencent surface (`?sdkappid=…&identifier=…&usersig=…`), read the same way
// by the REST router and the client gateway's login-on-upgrade.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/query_params.h"  // for_each_param

namespace liveroom::api {

// Percent-decodes with Boost.URL, but only values that need it: real UserSigs use the URL-safe
// * - _ alphabet and arrive unescaped, and this runs on every request. A malformed escape is
// left as it is, for the checks to reject.
std::string percent_decoded(std::string_view raw);

// The SDKAppID of a `sdkappid` parameter: a uint32 in canonical decimal (digits only, no sign, no
// leading zero). nullopt otherwise: `01400000001` must not name app 1400000001 here while a proxy
// in front, or a log reader, takes it for another text.
std::optional<uint32_t> parse_sdkappid(std::string_view text);

// The parameters of Tencent's query string (spec §1.1), percent-decoded. Each may appear at most
// once: with `sdkappid=A&sdkappid=B` a proxy checking the first would see another app than the
// server serves, so a repeated one is refused (60002). Other parameters are ignored, as Tencent's
// gateway does.
struct TencentQuery {
  std::optional<std::string> sdkappid;
  std::optional<std::string> identifier;
  std::optional<std::string> usersig;
  std::optional<std::string> random;
  std::optional<std::string> contenttype;
};
Result<TencentQuery> read_tencent_query(std::string_view query);

}  // namespace liveroom::api
