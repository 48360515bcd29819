#include "api/caller_check.h"

#include <fmt/format.h>

#include "api/envelope.h"
#include "api/query.h"

namespace liveroom::api {

CallerCheck::CallerCheck(const std::vector<config::AppConfig>& apps) {
  for (const auto& app : apps) secret_keys_.emplace(app.sdkappid, app.secret_key);
}

Result<CallerCheck::Caller> CallerCheck::check(std::string_view query, int64_t now_unix_seconds) {
  auto read = read_tencent_query(query);
  if (!read) return std::unexpected(read.error());
  TencentQuery& cred = *read;
  if (!cred.sdkappid || cred.sdkappid->empty()) {
    return fail(Code::kSdkAppIdMissing, "sdkappid is missing from the URL query");
  }
  // Text that is not a canonical uint32 names no app (`abc`, `01400000001`): 60006, as an
  // unknown number is.
  auto sdkappid = parse_sdkappid(*cred.sdkappid);
  if (!sdkappid) {
    return fail(Code::kSdkAppIdInvalid,
                fmt::format("sdkappid '{}' is not a decimal uint32 without sign or leading zeros",
                            *cred.sdkappid));
  }
  auto key = secret_keys_.find(*sdkappid);
  if (key == secret_keys_.end()) {
    return fail(Code::kSdkAppIdInvalid,
                fmt::format("sdkappid '{}' is not an application of this server", *cred.sdkappid));
  }
  Caller caller{*sdkappid, std::move(cred.identifier).value_or(""),
                std::move(cred.usersig).value_or("")};
  if (auto ok = verifier_.verify(caller.sdkappid, caller.identifier, caller.usersig, key->second,
                                 now_unix_seconds);
      !ok) {
    return std::unexpected(ok.error());
  }
  return caller;
}

}  // namespace liveroom::api
