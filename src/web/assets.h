// The demo page (web/demo/) and the client module (clients/js/liveroom.js), compiled into the
// binary so `/demo/` works from any working directory and a package needs no extra files.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace liveroom::web {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "index.html"
  std::string_view body;
};

// Generated at build time (cmake/embed_assets.cmake).
std::span<const EmbeddedFile> demo_files();

struct Asset {
  std::string_view body;
  std::string_view content_type;
};

// The file served at `path` ("/demo/" is index.html), if any.
std::optional<Asset> find_demo_asset(std::string_view path);

}  // namespace liveroom::web
