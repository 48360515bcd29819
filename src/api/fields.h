// Typed access to the fields of a request body. Every reader checks the JSON type and the rule
// (length in bytes, range, item count) and fails with 100002 and an ErrorInfo naming the field by
// its path (e.g. "RoomInfo.RoomName exceeds 100 bytes"). Account fields that are not strings fail
// with 60015, as Tencent's gateway does. Absent keys and JSON null read as "not sent"; unknown
// keys are never looked at, so they are ignored.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "base/error.h"

namespace liveroom::api {

class Fields {
 public:
  explicit Fields(const boost::json::object& object, std::string prefix = {})
      : object_(object), prefix_(std::move(prefix)) {}

  // "RoomInfo.RoomName" for key "RoomName" under prefix "RoomInfo".
  std::string name(std::string_view key) const;
  const boost::json::value* find(std::string_view key) const;

  Result<std::optional<std::string_view>> text(std::string_view key, size_t max_bytes) const;
  Result<std::string_view> required_text(std::string_view key, size_t max_bytes) const;
  Result<std::optional<std::string_view>> account(std::string_view key) const;
  Result<std::string_view> required_account(std::string_view key) const;
  Result<std::optional<bool>> boolean(std::string_view key) const;
  Result<std::optional<int64_t>> integer(std::string_view key,
                                         int64_t min = std::numeric_limits<int64_t>::min(),
                                         int64_t max = std::numeric_limits<int64_t>::max()) const;
  Result<std::optional<std::vector<int64_t>>> integer_array(std::string_view key,
                                                            size_t max_items) const;
  Result<std::optional<std::vector<std::string>>> text_array(std::string_view key, size_t max_items,
                                                             size_t max_bytes) const;
  Result<std::optional<std::vector<std::string>>> account_array(std::string_view key,
                                                                size_t max_items) const;
  // An array of objects, each handed back as a Fields named "Key[i]".
  Result<std::optional<std::vector<Fields>>> object_array(std::string_view key,
                                                          size_t max_items) const;
  Result<Fields> required_object(std::string_view key) const;

  Error invalid(std::string_view key, std::string_view rule) const;

 private:
  const boost::json::object& object_;
  std::string prefix_;
};

// The RoomId field every room command carries: 1..48 bytes of printable ASCII.
Result<std::string_view> room_id_field(const Fields& fields);

// The JSON type name Tencent's docs use, for messages ("String", "Integer", ...).
std::string_view json_type_name(const boost::json::value& value);

}  // namespace liveroom::api
