#include "commands/profiles.hpp"

#include <algorithm>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/profile_request.hpp"
#include "core/error.hpp"

namespace launcher::commands {

nlohmann::json profiles_json(const profile::Catalog& catalog, const host::HostFacts& host) {
  nlohmann::json list = nlohmann::json::array();
  // Per profile the team file defines: what of it the team file widens, and whether approved.
  std::vector<std::pair<std::size_t, profile::TeamFileTrust>> judged;
  for (const auto& name : catalog.profile_names()) {
    std::vector<std::string> sources = catalog.sources_defining(name);
    nlohmann::json entry{{"name", name}, {"sources", sources}};
    try {
      profile::Sourced merged = profile::merge_profile(catalog, name);
      entry["service"] = merged.fields.value("service", "shell");
      entry["description"] = merged.fields.value("description", "");
      if (catalog.team && std::find(sources.begin(), sources.end(), catalog.team->source) != sources.end())
        judged.emplace_back(list.size(), *team_file_trust(catalog, {merged}, host));
    } catch (const Error& error) {
      entry["error"] = error.what(); // one broken profile must not hide the others
    }
    list.push_back(entry);
  }
  for (const auto& [index, trust] : judged)
    list[index]["team_file"] = profile::trust_json(trust);
  return list;
}

void add_profiles_command(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command =
      app.add_subcommand("profiles", "list every profile, the files that define it and the team file's trust");
  command->add_flag("--json", *json, "print the list as JSON");
  command->callback([json, &context] {
    host::HostFacts host = host::read_host_facts();
    profile::Catalog catalog = profile::load_catalog(profile_locations(host));
    if (!catalog.team_search_warning.empty())
      *context.err << "launcher: warning: " << catalog.team_search_warning << "\n";
    nlohmann::json list = profiles_json(catalog, host);
    if (*json) {
      *context.out << list.dump(2) << "\n";
      return;
    }
    if (auto trust = team_file_trust(catalog, team_profiles(catalog), host))
      *context.out << "team file: " << trust->path.string() << " (" << profile::trust_status(*trust) << ")\n";
    *context.out << fmt::format("{:<16} {:<8} {}\n", "PROFILE", "SERVICE", "DEFINED IN");
    for (const auto& entry : list) {
      std::string sources;
      for (const auto& source : entry["sources"])
        sources += (sources.empty() ? "" : " < ") + source.get<std::string>();
      *context.out << fmt::format("{:<16} {:<8} {}\n", entry["name"].get<std::string>(), entry.value("service", "-"),
                                  sources);
      if (entry.contains("error"))
        *context.out << "  error: " << entry["error"].get<std::string>() << "\n";
      else if (!entry["description"].get<std::string>().empty())
        *context.out << "  " << entry["description"].get<std::string>() << "\n";
      if (entry.contains("team_file") && entry["team_file"]["needs_approval"] == true)
        *context.out << "  not approved: " << entry["team_file"]["widens"][0]["key"].get<std::string>() << ": "
                     << entry["team_file"]["widens"][0]["what"].get<std::string>() << " (`launcher trust`)\n";
    }
  });
}

} // namespace launcher::commands
