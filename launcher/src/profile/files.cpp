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
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate;
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

Catalog load_catalog(const ProfileLocations& locations) {
  Catalog catalog;
  FieldContext builtin{"built-in", locations.cwd, locations.home, nullptr};
  catalog.sources.push_back(parse_profile_source(builtin_profiles_json(), builtin));

  std::vector<fs::path> files{user_profile_file(locations)};
  if (auto team = find_team_file(locations.cwd)) files.push_back(*team);
  for (const auto& file : files) {
    if (auto text = read_file_if_present(file)) {
      // The name is shown in messages and in render --json's origins: its bytes must be UTF-8.
      FieldContext context{escape_invalid_utf8(file.string()), file.parent_path(), locations.home, &locations.env};
      catalog.sources.push_back(parse_profile_source(*text, context));
    }
  }
  return catalog;
}

} // namespace launcher::profile
