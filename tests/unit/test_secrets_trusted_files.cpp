// The record of approved team files (`launcher trust`): the user's own state, 0600, never the
// project's; a changed file is not approved.
#include <catch2/catch.hpp>

#include "doctor/checks.hpp"
#include "file_mode.hpp"
#include "secrets/trusted_files.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::mode_of;
namespace fs = std::filesystem;
using launcher::testing::TempDir;

TEST_CASE("trusted files: a file's content is approved, with what it widened, until it changes", "[secrets][trust]") {
  TempDir state;
  fs::path record = secrets::trusted_files_record(state.path);
  CHECK(record == state.path / "launcher/trusted-files.json");
  CHECK_FALSE(secrets::approved_widenings(state.path, "/work/launcher.json", "aa"));

  const std::vector<std::string> sudo{"/work/launcher.json:/profiles/dev/sudo: \"sudo\": true (root inside the env)"};
  secrets::record_trusted(state.path, "/work/launcher.json", "aa", sudo);
  CHECK(secrets::approved_widenings(state.path, "/work/launcher.json", "aa") == sudo);
  CHECK_FALSE(secrets::approved_widenings(state.path, "/work/launcher.json", "bb"));  // changed content
  CHECK_FALSE(secrets::approved_widenings(state.path, "/other/launcher.json", "aa")); // another file, same content
  CHECK(mode_of(record) == 0600);
  CHECK(mode_of(record.parent_path()) == 0700);

  // A new approval replaces the file's old one and keeps the others.
  secrets::record_trusted(state.path, "/other/launcher.json", "cc", {});
  secrets::record_trusted(state.path, "/work/launcher.json", "bb", sudo);
  CHECK(secrets::approved_widenings(state.path, "/work/launcher.json", "bb") == sudo);
  CHECK_FALSE(secrets::approved_widenings(state.path, "/work/launcher.json", "aa"));
  CHECK(secrets::approved_widenings(state.path, "/other/launcher.json", "cc") == std::vector<std::string>{});
  // The same file named another way is the same record.
  CHECK(secrets::approved_widenings(state.path, "/work/./sub/../launcher.json", "bb") == sudo);
}

TEST_CASE("trusted files: approved content that widens more than it did then is not approved, and says what",
          "[profile][trust]") {
  const profile::Widening sudo{{"/work/launcher.json", "/profiles/dev/sudo"}, "\"sudo\": true (root inside the env)"};
  const profile::Widening data{{"/work/launcher.json", "/profiles/dev/volumes/0"},
                               "mounts /work/data -> /root/.ssh, outside the project directory /work"};
  profile::TeamFileTrust trust{"/work/launcher.json", "aa", false, {sudo}};
  profile::judge_approval(trust, std::nullopt);
  CHECK_FALSE(trust.approved);
  profile::judge_approval(trust, std::vector<std::string>{sudo.describe()});
  CHECK(trust.approved);
  // The same bytes, after ./data was made a link out of the project from inside an env.
  trust.widens = {sudo, data};
  profile::judge_approval(trust, std::vector<std::string>{sudo.describe()});
  CHECK_FALSE(trust.approved);
  CHECK(trust.widens.front() == data);
  CHECK(profile::refusal_message(trust) ==
        "/work/launcher.json:/profiles/dev/volumes/0: mounts /work/data -> /root/.ssh, outside the project directory "
        "/work (and 1 more value(s) that widen what an env may do): this team file is not approved (new, changed "
        "since it was, or widening more than it did then); read it, then approve it with `launcher trust "
        "/work/launcher.json`");
}

TEST_CASE("doctor: the team file check says which file and whether it is approved", "[doctor][trust]") {
  profile::TeamFileTrust trust{"/work/launcher.json", "ab", false, {}};
  CHECK(doctor::team_file_check(trust) ==
        doctor::CheckResult{"team-file", doctor::Status::ok,
                            "team file /work/launcher.json: widens nothing (no approval needed)", ""});
  trust.widens.push_back({{"/work/launcher.json", "/profiles/jupyter/sudo"}, "\"sudo\": true (root inside the env)"});
  CHECK(doctor::team_file_check(trust) ==
        doctor::CheckResult{"team-file", doctor::Status::warn,
                            "team file /work/launcher.json: not approved: widens what an env may do "
                            "(/profiles/jupyter/sudo); `launcher trust` approves it; `launcher up` refuses it "
                            "(/work/launcher.json:/profiles/jupyter/sudo: \"sudo\": true (root inside the env))",
                            "read the file, then approve it: launcher trust /work/launcher.json"});
  trust.approved = true;
  CHECK(doctor::team_file_check(trust) ==
        doctor::CheckResult{"team-file", doctor::Status::ok, "team file /work/launcher.json: approved", ""});
}
