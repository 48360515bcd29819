#include "api/fields.h"

#include <fmt/format.h>

#include "domain/room.h"

namespace liveroom::api {

namespace json = boost::json;

std::string_view json_type_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return "String";
    case json::kind::int64:
    case json::kind::uint64:
      return "Integer";
    case json::kind::double_:
      return "Number";
    case json::kind::bool_:
      return "Bool";
    case json::kind::array:
      return "Array";
    case json::kind::object:
      return "Object";
    case json::kind::null:
      return "null";
  }
  return "value";
}

std::string Fields::name(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

const json::value* Fields::find(std::string_view key) const {
  const json::value* v = object_.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

Error Fields::invalid(std::string_view key, std::string_view rule) const {
  return Error{Code::kInvalidParameter, fmt::format("{} {}", name(key), rule)};
}

namespace {

std::unexpected<Error> wrong_type(const Fields& f, std::string_view key, std::string_view want,
                                  const json::value& got) {
  return std::unexpected(
      f.invalid(key, fmt::format("must be {}, not {}", want, json_type_name(got))));
}

std::optional<int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

}  // namespace

Result<std::optional<std::string_view>> Fields::text(std::string_view key, size_t max_bytes) const {
  const json::value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) return wrong_type(*this, key, "a String", *v);
  std::string_view s = v->get_string();
  if (s.size() > max_bytes) {
    return std::unexpected(invalid(key, fmt::format("exceeds {} bytes", max_bytes)));
  }
  return s;
}

Result<std::string_view> Fields::required_text(std::string_view key, size_t max_bytes) const {
  auto s = text(key, max_bytes);
  if (!s) return std::unexpected(s.error());
  if (!*s) return std::unexpected(invalid(key, "is required"));
  return **s;
}

Result<std::optional<std::string_view>> Fields::account(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    return fail(Code::kAccountNotString, fmt::format("{} must be a String account id, not {}",
                                                     name(key), json_type_name(*v)));
  }
  return std::string_view(v->get_string());
}

Result<std::string_view> Fields::required_account(std::string_view key) const {
  auto s = account(key);
  if (!s) return std::unexpected(s.error());
  if (!*s) return std::unexpected(invalid(key, "is required"));
  return **s;
}

Result<std::optional<bool>> Fields::boolean(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) return wrong_type(*this, key, "a Bool (true or false)", *v);
  return v->get_bool();
}

Result<std::optional<int64_t>> Fields::integer(std::string_view key, int64_t min,
                                               int64_t max) const {
  const json::value* v = find(key);
  if (!v) return std::nullopt;
  auto n = as_int64(*v);
  // An Integer beyond int64 is out of range, not of the wrong type.
  if (!n && !v->is_uint64()) return wrong_type(*this, key, "an Integer", *v);
  if (!n || *n < min || *n > max) {
    return std::unexpected(invalid(key, fmt::format("must be between {} and {}", min, max)));
  }
  return *n;
}

namespace {

// The shared part of the array readers: absent → nullopt; not an Array, or more than
// `max_items`, → 100002; then `item(i, value)` decodes each element or fails.
template <typename T, typename ItemFn>
Result<std::optional<std::vector<T>>> read_array(const Fields& f, std::string_view key,
                                                 std::string_view what, size_t max_items,
                                                 ItemFn&& item) {
  const json::value* v = f.find(key);
  if (!v) return std::nullopt;
  if (!v->is_array()) return wrong_type(f, key, what, *v);
  const auto& arr = v->get_array();
  if (arr.size() > max_items) {
    return std::unexpected(f.invalid(key, fmt::format("has more than {} items", max_items)));
  }
  std::vector<T> out;
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    Result<T> decoded = item(i, arr[i]);
    if (!decoded) return std::unexpected(decoded.error());
    out.push_back(std::move(*decoded));
  }
  return out;
}

}  // namespace

Result<std::optional<std::vector<int64_t>>> Fields::integer_array(std::string_view key,
                                                                  size_t max_items) const {
  return read_array<int64_t>(
      *this, key, "an Array of Integers", max_items,
      [&](size_t i, const json::value& v) -> Result<int64_t> {
        if (auto n = as_int64(v)) return *n;
        return std::unexpected(
            invalid(key, fmt::format("[{}] must be an Integer, not {}", i, json_type_name(v))));
      });
}

Result<std::optional<std::vector<std::string>>> Fields::text_array(std::string_view key,
                                                                   size_t max_items,
                                                                   size_t max_bytes) const {
  return read_array<std::string>(
      *this, key, "an Array of Strings", max_items,
      [&](size_t i, const json::value& v) -> Result<std::string> {
        if (!v.is_string()) {
          return std::unexpected(
              invalid(key, fmt::format("[{}] must be a String, not {}", i, json_type_name(v))));
        }
        if (v.get_string().size() > max_bytes) {
          return std::unexpected(invalid(key, fmt::format("[{}] exceeds {} bytes", i, max_bytes)));
        }
        return std::string(v.get_string());
      });
}

Result<std::optional<std::vector<std::string>>> Fields::account_array(std::string_view key,
                                                                      size_t max_items) const {
  return read_array<std::string>(*this, key, "an Array of account ids", max_items,
                                 [&](size_t i, const json::value& v) -> Result<std::string> {
                                   if (v.is_string()) return std::string(v.get_string());
                                   return fail(
                                       Code::kAccountNotString,
                                       fmt::format("{}[{}] must be a String account id, not {}",
                                                   name(key), i, json_type_name(v)));
                                 });
}

Result<std::optional<std::vector<Fields>>> Fields::object_array(std::string_view key,
                                                                size_t max_items) const {
  return read_array<Fields>(
      *this, key, "an Array of Objects", max_items,
      [&](size_t i, const json::value& v) -> Result<Fields> {
        if (!v.is_object()) {
          return std::unexpected(
              invalid(key, fmt::format("[{}] must be an Object, not {}", i, json_type_name(v))));
        }
        return Fields(v.get_object(), fmt::format("{}[{}]", name(key), i));
      });
}

Result<Fields> Fields::required_object(std::string_view key) const {
  const json::value* v = find(key);
  if (!v) return std::unexpected(invalid(key, "is required"));
  if (!v->is_object()) return wrong_type(*this, key, "an Object", *v);
  return Fields(v->get_object(), name(key));
}

Result<std::string_view> room_id_field(const Fields& fields) {
  auto id = fields.required_text("RoomId", SIZE_MAX);
  if (!id) return id;
  if (auto ok = domain::check_room_id(*id, fields.name("RoomId")); !ok) {
    return std::unexpected(ok.error());
  }
  return id;
}

}  // namespace liveroom::api
