#include "secrets/default_image.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "secrets/state.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path default_image_record(const fs::path& state_home) { return state_home / "launcher" / "default-image.json"; }

std::optional<std::string> recorded_default_image(const fs::path& state_home) {
  fs::path record = default_image_record(state_home);
  std::optional<std::string> text = read_private_file(record);
  if (!text) return std::nullopt;
  json document = json::parse(*text, nullptr, false);
  if (!document.is_object() || document.value("version", 0) != 1 || !document.contains("image") ||
      !document["image"].is_string())
    throw Error(ExitCode::failed, record.string() +
                                      ": not a record of the default image ({\"version\": 1, \"image\": \"...\"}); "
                                      "record one with `launcher default-image IMAGE`, or remove the file");
  return document["image"].get<std::string>();
}

void record_default_image(const fs::path& state_home, const std::string& image) {
  fs::path record = default_image_record(state_home);
  ensure_private_dir(record.parent_path());
  write_private_file(record, json{{"version", 1}, {"image", image}}.dump(2) + "\n");
}

} // namespace launcher::secrets
