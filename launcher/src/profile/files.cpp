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

TeamFileSearch find_team_file(const ProfileLocations& locations) {
  return search_team_file(locations.cwd, locations.uid, locations.paths);
}

Catalog load_catalog(const ProfileLocations& locations) {
  Catalog catalog;
  FieldContext builtin{"built-in", locations.cwd, locations.home, nullptr};
  catalog.sources.push_back(parse_profile_source(builtin_profiles_json(), builtin));

  TeamFileSearch search = find_team_file(locations);
  catalog.team_search_warning = search.warning;
  std::vector<std::pair<fs::path, bool>> files{{user_profile_file(locations), false}};
  if (search.file) files.emplace_back(*search.file, true);
  for (const auto& [file, team] : files) {
    std::optional<std::string> text = team ? read_file(file) : read_file_if_present(file);
    if (text) {
      // The name is shown in messages and in render --json's origins: its bytes must be UTF-8.
      std::vector<VariableRead> reads;
      FieldContext context{escape_invalid_utf8(file.string()), file.parent_path(), locations.home, &locations.env,
                           team ? &reads : nullptr};
      catalog.sources.push_back(parse_profile_source(*text, context));
      // The hash is of the very bytes parsed: approval covers what is used, not a later read.
      if (team) catalog.team = TeamFile{file, context.source, content_sha256(*text), std::move(reads)};
    }
  }
  return catalog;
}

} // namespace launcher::profile
