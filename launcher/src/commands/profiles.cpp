#include "commands/profiles.hpp"

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/profile_request.hpp"
#include "core/error.hpp"

namespace launcher::commands {

nlohmann::json profiles_json(const profile::Catalog& catalog) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& name : catalog.profile_names()) {
    nlohmann::json entry{{"name", name}, {"sources", catalog.sources_defining(name)}};
    try {
      profile::Sourced merged = profile::merge_profile(catalog, name);
      entry["service"] = merged.fields.value("service", "shell");
      entry["description"] = merged.fields.value("description", "");
    } catch (const Error& error) {
      entry["error"] = error.what(); // one broken profile must not hide the others
    }
    list.push_back(entry);
  }
  return list;
}

void add_profiles_command(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("profiles", "list every profile and the files that define it");
  command->add_flag("--json", *json, "print the list as JSON");
  command->callback([json, &context] {
    nlohmann::json list = profiles_json(profile::load_catalog(profile_locations(host::read_host_facts())));
    if (*json) {
      *context.out << list.dump(2) << "\n";
      return;
    }
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
    }
  });
}

} // namespace launcher::commands
