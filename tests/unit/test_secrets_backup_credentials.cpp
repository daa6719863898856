#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/read_file.hpp"
#include "secrets/backup_credentials.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::require_error;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

secrets::EnvironmentLookup environment_of(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
}

const std::string credentials_text = "# the team's keys\n"
                                     "[default]\n"
                                     "aws_access_key_id = AKIADEFAULT\n"
                                     "aws_secret_access_key=defaultsecret\n"
                                     "\n"
                                     "[team]\n"
                                     "aws_access_key_id = AKIATEAM\n"
                                     "aws_secret_access_key = teamsecret\n"
                                     "aws_session_token = teamtoken\n"
                                     "; a comment\n"
                                     "[broken]\n"
                                     "aws_access_key_id = AKIABROKEN\n";

secrets::CredentialSource source(const std::string& profile) { return {"/home/alice/.aws/credentials", "", profile}; }

} // namespace

TEST_CASE("credentials are looked up the AWS way: the profile's name, AWS_PROFILE, default, and the files' variables",
          "[secrets][backup]") {
  auto found = secrets::credential_source("", environment_of({}), "/home/alice");
  CHECK(found.credentials_file == "/home/alice/.aws/credentials");
  CHECK(found.config_file == "/home/alice/.aws/config");
  CHECK(found.profile == "default");
  found = secrets::credential_source("",
                                     environment_of({{"AWS_PROFILE", "ci"},
                                                     {"AWS_SHARED_CREDENTIALS_FILE", "/etc/keys"},
                                                     {"AWS_CONFIG_FILE", "/etc/aws-config"}}),
                                     "/home/alice");
  CHECK(found.credentials_file == "/etc/keys");
  CHECK(found.config_file == "/etc/aws-config");
  CHECK(found.profile == "ci");
  CHECK(secrets::credential_source("team", environment_of({{"AWS_PROFILE", "ci"}}), "/h").profile == "team");
}

TEST_CASE("one profile's keys are read from the INI file, and a missing profile or key names file and profile, never a "
          "value",
          "[secrets][backup]") {
  auto team = secrets::parse_aws_credentials(credentials_text, source("team"));
  CHECK(team.access_key_id == "AKIATEAM");
  CHECK(team.secret_access_key == "teamsecret");
  CHECK(team.session_token == "teamtoken");
  auto plain = secrets::parse_aws_credentials(credentials_text, source("default"));
  CHECK(plain.secret_access_key == "defaultsecret");
  CHECK(plain.session_token.empty());
  require_error([] { secrets::parse_aws_credentials(credentials_text, source("nope")); }, ExitCode::usage,
                "/home/alice/.aws/credentials has no profile [nope] for the backup's keys (the profile's "
                "backup/credentials names it, else AWS_PROFILE, else \"default\")");
  require_error([] { secrets::parse_aws_credentials(credentials_text, source("broken")); }, ExitCode::usage,
                "/home/alice/.aws/credentials: profile [broken] has no aws_secret_access_key for the backup");
}

TEST_CASE("the region comes from the config file's [profile NAME] or [default]", "[secrets][backup]") {
  const std::string config = "[default]\nregion = us-east-1\n[profile team]\nregion=eu-west-3\ns3 =\n  "
                             "region = nested-not-this\n";
  CHECK(secrets::parse_aws_region(config, "default") == "us-east-1");
  CHECK(secrets::parse_aws_region(config, "team") == "eu-west-3");
  CHECK(secrets::parse_aws_region(config, "other").empty());
}

TEST_CASE("a missing credentials file is one line naming it and the profile", "[secrets][backup]") {
  testing::TempDir temp;
  require_error(
      [&] {
        secrets::read_aws_credentials({temp.path / "none", temp.path / "config", "team"});
      },
      ExitCode::usage,
      (temp.path / "none").string() +
          " does not exist: the backup's keys go there as profile [team] (aws_access_key_id, "
          "aws_secret_access_key), or AWS_SHARED_CREDENTIALS_FILE names another file");
}

TEST_CASE("the keys are stored as launcher-init's JSON, mode 0600, in the env's secrets directory",
          "[secrets][backup]") {
  testing::TempDir temp;
  std::ofstream(temp.path / "credentials") << credentials_text;
  std::ofstream(temp.path / "config") << "[profile team]\nregion = eu-west-3\n";
  auto keys = secrets::read_aws_credentials({temp.path / "credentials", temp.path / "config", "team"});
  host::StateLayout layout = host::state_layout(EnvName::parse("train"), temp.path / "state");
  secrets::store_backup_credentials(layout, keys);
  CHECK(json::parse(read_file(layout.backup_credentials())) == json{{"aws_access_key_id", "AKIATEAM"},
                                                                    {"aws_secret_access_key", "teamsecret"},
                                                                    {"aws_session_token", "teamtoken"},
                                                                    {"region", "eu-west-3"}});
  struct stat file {};
  REQUIRE(stat(layout.backup_credentials().c_str(), &file) == 0);
  CHECK((file.st_mode & 0777) == 0600);
  // `down --purge` deletes it with the other secrets.
  auto secret_files = layout.secret_files();
  CHECK(std::find(secret_files.begin(), secret_files.end(), layout.backup_credentials()) != secret_files.end());
}
