#include "web/assets.h"

namespace liveroom::web {

namespace {

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js") || name.ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  if (name.ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace

std::optional<Asset> find_demo_asset(std::string_view path) {
  constexpr std::string_view kPrefix = "/demo/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  std::string_view name = path.substr(kPrefix.size());
  if (name.empty()) name = "index.html";
  for (const auto& file : demo_files()) {
    if (file.name == name) return Asset{file.body, content_type_of(name)};
  }
  return std::nullopt;
}

}  // namespace liveroom::web
