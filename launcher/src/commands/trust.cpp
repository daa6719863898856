#include "commands/trust.hpp"

#include <memory>
#include <ostream>

#include "commands/profile_request.hpp"
#include "core/error.hpp"
#include "profile/files.hpp"
#include "profile/trust.hpp"
#include "secrets/trusted_files.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;

namespace {

// The team file `launcher trust` approves: FILE, which must be the one the search finds from its
// own directory (approving a file the launcher never uses would mislead), or the one found from
// the working directory.
fs::path file_to_trust(const std::string& named, const profile::ProfileLocations& locations) {
  if (named.empty()) {
    profile::TeamFileSearch search = profile::find_team_file(locations);
    if (search.file) return *search.file;
    throw Error(ExitCode::usage, "no team file (launcher.json) is used from " + locations.cwd.string() +
                                     (search.warning.empty() ? "" : ": " + search.warning) +
                                     "; name the file: launcher trust FILE");
  }
  fs::path file = fs::absolute(named).lexically_normal();
  profile::TeamFileSearch search = profile::search_team_file(file.parent_path(), locations.uid, locations.paths);
  if (search.file == file) return file;
  std::string why = !search.warning.empty() ? search.warning
                    : search.file ? "from " + file.parent_path().string() + " the team file is " + search.file->string()
                                  : "only a file named launcher.json is a team file";
  throw Error(ExitCode::usage,
              "not approving " + file.string() + ", which the launcher never uses as a team file: " + why);
}

} // namespace

void add_trust_command(CLI::App& app, Context& context) {
  auto named = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(
      "trust", "approve a team file (launcher.json) that widens what an env may do: shows what it widens, then "
               "records its content's SHA-256 in your own state");
  command->add_option("FILE", *named, "the team file (default: the one found from the working directory)");
  command->callback([named, &context] {
    host::HostFacts host = host::read_host_facts();
    profile::ProfileLocations locations = profile_locations(host);
    fs::path file = file_to_trust(*named, locations);
    // The file is read, validated and judged as `up` from its directory reads it; what is
    // recorded is the hash of those very bytes.
    locations.cwd = file.parent_path();
    profile::Catalog catalog = profile::load_catalog(locations);
    if (!catalog.team || catalog.team->path != file)
      throw Error(ExitCode::failed, file.string() + " changed while it was read; run `launcher trust` again");
    profile::TeamFileTrust trust = *team_file_trust(catalog, team_profiles(catalog), host);
    if (trust.widens.empty()) {
      *context.out << file.string() << " widens nothing: it needs no approval\n";
    } else {
      *context.out << file.string() << " widens what an env may do:\n";
      for (const auto& widening : trust.widens)
        *context.out << "  " << widening.origin.pointer << ": " << widening.what << "\n";
    }
    std::vector<std::string> widenings;
    for (const auto& widening : trust.widens)
      widenings.push_back(widening.describe());
    secrets::record_trusted(host.state_home, file, trust.sha256, widenings);
    *context.out << "approved this content of " << file.string() << " (sha256 " << trust.sha256
                 << "); a change to it needs `launcher trust` again\n";
  });
}

} // namespace launcher::commands
