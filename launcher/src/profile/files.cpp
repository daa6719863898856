#include "profile/files.hpp"

#include "core/read_file.hpp"
#include "core/text.hpp"
#include "profile/builtin.hpp"

namespace launcher::profile {

namespace fs = std::filesystem;

fs::path user_profile_file(const ProfileLocations& locations) {
  auto config = locations.env("XDG_CONFIG_HOME");
  fs::path base =
      (config && !config->empty() && fs::path(*config).is_absolute()) ? fs::path(*config) : locations.home / ".config";
  return base / "launcher" / "profiles.json";
}

std::optional<fs::path> find_team_file(const fs::path& start) {
  for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
    fs::path candidate = dir / "launcher.json";
    // Whatever is there is the team's file: a directory, device, dangling link or link loop is
    // reported when it is read, never skipped for a parent's file.
    std::error_code error;
    fs::file_status status = fs::symlink_status(candidate, error);
    if (status.type() != fs::file_type::not_found) return candidate;
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

Catalog load_catalog(const ProfileLocations& locations) {
  Catalog catalog;
  FieldContext builtin{"built-in", locations.cwd, locations.home, nullptr};
  catalog.sources.push_back(parse_profile_source(builtin_profiles_json(), builtin));

  std::vector<std::pair<fs::path, bool>> files{{user_profile_file(locations), false}};
  if (auto team = find_team_file(locations.cwd)) files.emplace_back(*team, true);
  for (const auto& [file, required] : files) {
    std::optional<std::string> text = required ? read_file(file) : read_file_if_present(file);
    if (text) {
      // The name is shown in messages and in render --json's origins: its bytes must be UTF-8.
      FieldContext context{escape_invalid_utf8(file.string()), file.parent_path(), locations.home, &locations.env};
      catalog.sources.push_back(parse_profile_source(*text, context));
    }
  }
  return catalog;
}

} // namespace launcher::profile
