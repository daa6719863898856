// Trust for team files (issue 25): the search for launcher.json never passes a directory another
// user could write, and what a team file widens needs the user's approval of its content.
#include <catch2/catch.hpp>

#include "profile/catalog.hpp"
#include "profile/trust.hpp"
#include "support.hpp"

using namespace launcher;
namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakePaths;

namespace {

constexpr unsigned alice = 1000;
constexpr unsigned directory = 040000;
constexpr unsigned regular = 0100000;
constexpr unsigned link_type = 0120000;

// A tree under /t: /t/shared/proj/src is where the command runs.
FakePaths tree() {
  FakePaths paths;
  paths.existing = {"/", "/t", "/t/shared", "/t/shared/proj", "/t/shared/proj/src"};
  paths.links.clear();
  for (const auto& dir : paths.existing)
    paths.facts[dir] = {alice, directory | 0755};
  paths.facts["/"] = {0, directory | 0755};
  return paths;
}

void add_file(FakePaths& paths, const std::string& path, host::FileFacts facts = {alice, regular | 0644}) {
  paths.existing.insert(path);
  paths.facts[path] = facts;
}

profile::TeamFileSearch search(const FakePaths& paths, const std::string& start = "/t/shared/proj/src") {
  return profile::search_team_file(start, alice, paths.probe());
}

// The widenings of profile `name` of this team file (in /home/alice/project), over the built-ins.
std::vector<std::string> widened(const std::string& team, const std::string& name, const FakePaths& paths = {},
                                 const std::vector<profile::Sourced>& overrides = {}) {
  profile::Catalog catalog{{testing::builtin_source(), testing::team_source(team)}};
  profile::Sourced merged = profile::merge_profile(catalog, name, overrides);
  std::vector<std::string> found;
  for (const auto& widening : profile::widenings(merged, "launcher.json", "/home/alice/project", paths.probe()))
    found.push_back(widening.origin.describe() + ": " + widening.what);
  return found;
}

std::string team_with(const json& profile) { return json{{"version", 1}, {"profiles", {{"dev", profile}}}}.dump(); }

profile::TeamFileTrust untrusted(std::size_t keys, const std::string& path = "/work/launcher.json") {
  profile::TeamFileTrust trust{path, "ab12", false, {}};
  trust.widens.push_back({{path, "/profiles/jupyter/sudo"}, "\"sudo\": true (root inside the env)"});
  for (std::size_t i = 1; i < keys; ++i)
    trust.widens.push_back(
        {{path, "/profiles/jupyter/allow/" + std::to_string(i - 1)}, "\"allow\" opts in to \"mount-docker-socket\""});
  return trust;
}

} // namespace

TEST_CASE("trust: a directory or file another user could write is unsafe, and says why", "[profile][trust]") {
  CHECK(profile::unsafe_because({alice, directory | 0755}, alice).empty());
  CHECK(profile::unsafe_because({0, directory | 0755}, alice).empty());
  CHECK(profile::unsafe_because({0, directory | 01755}, alice).empty());
  CHECK(profile::unsafe_because({1001, directory | 0755}, alice) ==
        "is owned by uid 1001, neither you (uid 1000) nor root");
  CHECK(profile::unsafe_because({0, directory | 01777}, alice) == "is writable by every user (mode 1777)");
  CHECK(profile::unsafe_because({alice, directory | 0775}, alice) == "is writable by its group (mode 0775)");
  CHECK(profile::unsafe_because({alice, regular | 0666}, alice) == "is writable by every user (mode 0666)");
  CHECK(profile::unsafe_because({alice, regular | 0664}, alice) == "is writable by its group (mode 0664)");
  // A link's mode is always 0777; a device's is reported when the file is read.
  CHECK(profile::unsafe_because({alice, link_type | 0777}, alice).empty());
  CHECK(profile::unsafe_because({0, 020000 | 0666}, alice).empty());
  // Root's own files are root's.
  CHECK(profile::unsafe_because({0, regular | 0644}, 0).empty());
  CHECK(profile::unsafe_because({1001, regular | 0644}, 0) == "is owned by uid 1001, neither you (uid 0) nor root");
}

TEST_CASE("trust: the search finds the nearest launcher.json in safe directories", "[profile][trust]") {
  FakePaths paths = tree();
  add_file(paths, "/t/shared/proj/launcher.json");
  add_file(paths, "/t/launcher.json");
  profile::TeamFileSearch found = search(paths);
  CHECK(found.file == fs::path("/t/shared/proj/launcher.json"));
  CHECK(found.warning.empty());
  CHECK_FALSE(search(tree()).file);
  CHECK(search(tree()).warning.empty());
}

TEST_CASE("trust: a launcher.json planted in a world-writable parent is ignored, with one warning",
          "[profile][trust]") {
  FakePaths paths = tree();
  paths.facts["/t/shared"] = {0, directory | 01777};
  add_file(paths, "/t/shared/launcher.json", {1001, regular | 0644});
  profile::TeamFileSearch found = search(paths);
  CHECK_FALSE(found.file);
  CHECK(found.warning == "not using /t/shared/launcher.json: the search for a team file stops at /t/shared, which is "
                         "writable by every user (mode 1777), so another user could have put it there");

  SECTION("one above the unsafe directory is named too") {
    paths.existing.erase("/t/shared/launcher.json");
    paths.facts.erase("/t/shared/launcher.json");
    add_file(paths, "/launcher.json");
    CHECK(search(paths).warning == "not using /launcher.json: the search for a team file stops at /t/shared, which is "
                                   "writable by every user (mode 1777), so another user could have put it there");
  }
  SECTION("nothing left unused, nothing said") {
    paths.existing.erase("/t/shared/launcher.json");
    paths.facts.erase("/t/shared/launcher.json");
    CHECK(search(paths).warning.empty());
    CHECK_FALSE(search(paths).file);
  }
  SECTION("the project's own file below it is still used") {
    add_file(paths, "/t/shared/proj/launcher.json");
    CHECK(search(paths).file == fs::path("/t/shared/proj/launcher.json"));
    CHECK(search(paths).warning.empty());
  }
}

TEST_CASE("trust: a group-writable, foreign or unreadable directory stops the search where it is", "[profile][trust]") {
  FakePaths paths = tree();
  add_file(paths, "/t/shared/proj/launcher.json");
  SECTION("the working directory itself") {
    paths.facts["/t/shared/proj"] = {alice, directory | 02775};
    CHECK_FALSE(search(paths, "/t/shared/proj").file);
    CHECK(search(paths, "/t/shared/proj").warning ==
          "not using /t/shared/proj/launcher.json: the search for a team file stops at /t/shared/proj, which is "
          "writable by its group (mode 2775), so another user could have put it there");
  }
  SECTION("owned by another user") {
    paths.facts["/t/shared/proj"] = {1001, directory | 0755};
    CHECK(search(paths).warning == "not using /t/shared/proj/launcher.json: the search for a team file stops at "
                                   "/t/shared/proj, which is owned by uid 1001, neither you (uid 1000) nor root, so "
                                   "another user could have put it there");
  }
  SECTION("one that cannot be examined") {
    paths.facts.erase("/t/shared/proj/src");
    paths.existing.erase("/t/shared/proj/src");
    CHECK_FALSE(search(paths).file);
    CHECK(search(paths).warning == "not using /t/shared/proj/launcher.json: the search for a team file stops at "
                                   "/t/shared/proj/src, which cannot be examined, so another user could have put it "
                                   "there");
  }
}

TEST_CASE("trust: a launcher.json another user owns or may write is not used", "[profile][trust]") {
  FakePaths paths = tree();
  SECTION("owned by another user") {
    add_file(paths, "/t/shared/proj/launcher.json", {1001, regular | 0644});
    CHECK_FALSE(search(paths).file);
    CHECK(search(paths).warning == "not using /t/shared/proj/launcher.json: it is owned by uid 1001, neither you "
                                   "(uid 1000) nor root, so another user could have written it");
  }
  SECTION("writable by every user") {
    add_file(paths, "/t/shared/proj/launcher.json", {alice, regular | 0666});
    CHECK(search(paths).warning == "not using /t/shared/proj/launcher.json: it is writable by every user (mode "
                                   "0666), so another user could have written it");
  }
  SECTION("a link to another user's file") {
    paths.links["/t/shared/proj/launcher.json"] = "/t/other.json";
    paths.facts["/t/shared/proj/launcher.json"] = {alice, link_type | 0777};
    add_file(paths, "/t/other.json", {1001, regular | 0644});
    CHECK_FALSE(search(paths).file);
    CHECK(search(paths).warning == "not using /t/shared/proj/launcher.json: it is owned by uid 1001, neither you "
                                   "(uid 1000) nor root, so another user could have written it");
  }
  SECTION("a link to the user's own file is used") {
    paths.links["/t/shared/proj/launcher.json"] = "/t/mine.json";
    paths.facts["/t/shared/proj/launcher.json"] = {alice, link_type | 0777};
    add_file(paths, "/t/mine.json");
    CHECK(search(paths).file == fs::path("/t/shared/proj/launcher.json"));
  }
}

TEST_CASE("trust: the content hash is SHA-256 in hex", "[profile][trust]") {
  CHECK(profile::content_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(profile::content_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("trust: every value of a team file that widens what an env may do is named by its key", "[profile][trust]") {
  FakePaths paths;
  std::string team = team_with(
      {{"extends", "shell"},
       {"allow", {"mount-docker-socket", "privileged"}},
       {"privileged", true},
       {"sudo", true},
       {"user", "root"},
       {"ipc", "host"},
       {"volumes",
        {{{"host", "/var/run/docker.sock"}, {"container", "/var/run/docker.sock"}},
         {{"host", "data"}, {"container", "/data"}, {"create", true}},
         {{"host", "/home/alice/data"}, {"container", "/home-data"}}}},
       {"env", {{"PATH", "/workspace/bin:/usr/bin"}, {"LD_PRELOAD", "/workspace/x.so"}, {"WANDB_MODE", "offline"}}},
       {"ports", {{{"host", 9000}, {"container", 9000}, {"bind", "0.0.0.0"}}}}});
  CHECK(widened(team, "dev", paths) ==
        std::vector<std::string>{
            "launcher.json:/profiles/dev/allow/0: \"allow\" opts in to \"mount-docker-socket\"",
            "launcher.json:/profiles/dev/allow/1: \"allow\" opts in to \"privileged\"",
            "launcher.json:/profiles/dev/privileged: \"privileged\": true (every device and capability of the host)",
            "launcher.json:/profiles/dev/sudo: \"sudo\": true (root inside the env)",
            "launcher.json:/profiles/dev/user: \"user\" is root",
            "launcher.json:/profiles/dev/ipc: \"ipc\": \"host\" (the host's shared memory and IPC objects)",
            "launcher.json:/profiles/dev/volumes/0: mounts the Docker socket /var/run/docker.sock -> /run/docker.sock "
            "(root on the host)",
            "launcher.json:/profiles/dev/volumes/0: mounts over /var/run/docker.sock in the env, where the programs "
            "root runs there live",
            "launcher.json:/profiles/dev/volumes/2: mounts /home/alice/data, outside the project directory "
            "/home/alice/project",
            "launcher.json:/profiles/dev/env/LD_PRELOAD: sets LD_PRELOAD (which programs root runs inside the env)",
            "launcher.json:/profiles/dev/env/PATH: sets PATH (which programs root runs inside the env)",

            "launcher.json:/profiles/dev/ports/0: publishes port 9000 on 0.0.0.0 for service \"shell\", which has no "
            "authentication"});
}

TEST_CASE("trust: what stays inside the project and the env's sandbox widens nothing", "[profile][trust]") {
  std::string team = team_with({{"extends", "jupyter"},
                                {"allow", json::array()},
                                {"privileged", false},
                                {"sudo", false},
                                {"user", {{"uid", 1000}, {"gid", 1000}}},
                                {"ipc", "shareable"},
                                {"image", "anything:latest"},
                                {"env", {{"WANDB_MODE", "offline"}, {"PATHS", "/x"}}},
                                {"volumes",
                                 {{{"host", "data"}, {"container", "/data"}, {"create", true}},
                                  {{"host", "data"}, {"container", "/home/user/data"}},
                                  {{"host", "data"}, {"container", "/variable"}}}},
                                // Jupyter asks for its token or password on every address.
                                {"ports", {{{"host", 8888}, {"container", 8888}, {"bind", "0.0.0.0"}}}}});
  CHECK(widened(team, "dev").empty());
  // The built-in profiles' own mounts (the working directory) are no team file's.
  CHECK(widened(team_with({{"extends", "jupyter"}}), "dev").empty());
}

TEST_CASE("trust: a root user by id, and a link out of the project, are widenings too", "[profile][trust]") {
  FakePaths paths;
  paths.links["/home/alice/project/keys"] = "/home/alice/.ssh";
  std::string team = team_with({{"extends", "shell"},
                                {"user", {{"uid", 0}, {"gid", 0}}},
                                {"volumes", {{{"host", "keys"}, {"container", "/keys"}}}}});
  CHECK(widened(team, "dev", paths) ==
        std::vector<std::string>{"launcher.json:/profiles/dev/user: \"user\" is root",
                                 "launcher.json:/profiles/dev/volumes/0: mounts /home/alice/project/keys -> "
                                 "/home/alice/.ssh, outside the project directory /home/alice/project"});
}

TEST_CASE("trust: a mount inside the project onto a system path of the env is a widening", "[profile][trust]") {
  // What code in the env could write into the workspace's launcher.json: a library of its own that
  // every root process in the env loads.
  std::string team = team_with({{"extends", "shell"},
                                {"volumes",
                                 {{{"host", ".x/preload"}, {"container", "/etc/ld.so.preload"}},
                                  {{"host", ".x/bin"}, {"container", "/usr/local/bin"}},
                                  {{"host", ".x/lib"}, {"container", "/lib64/x"}}}}});
  CHECK(widened(team, "dev") ==
        std::vector<std::string>{"launcher.json:/profiles/dev/volumes/0: mounts over /etc/ld.so.preload in the env, "
                                 "where the programs root runs there live",
                                 "launcher.json:/profiles/dev/volumes/1: mounts over /usr/local/bin in the env, "
                                 "where the programs root runs there live",
                                 "launcher.json:/profiles/dev/volumes/2: mounts over /lib64/x in the env, "
                                 "where the programs root runs there live"});
}

TEST_CASE("a profile cannot set the launcher's own LAUNCHER_* settings", "[profile][schema]") {
  std::string team = team_with({{"extends", "shell"}, {"env", {{"LAUNCHER_UID", "0"}}}});
  testing::require_error([&] { testing::team_source(team); }, ExitCode::usage,
                         "launcher.json:/profiles/dev/env/LAUNCHER_UID: LAUNCHER_UID: LAUNCHER_* variables are the "
                         "launcher's own settings for launcher-init (the env's user, services, ports); a profile "
                         "or -e cannot set them");
}

TEST_CASE("trust: what the user's own file or a flag sets needs no approval", "[profile][trust]") {
  profile::FieldContext user_context{"/home/alice/.config/launcher/profiles.json", "/home/alice", "/home/alice",
                                     nullptr};
  profile::Catalog catalog{
      {testing::builtin_source(),
       profile::parse_profile_source(team_with({{"extends", "shell"}, {"sudo", true}, {"ipc", "host"}}), user_context),
       testing::team_source(R"({"version": 1, "profiles": {"yy": {"extends": "dev"}}})")}};
  profile::Sourced flags = profile::as_layer(json{{"privileged", true}, {"allow", {"privileged"}}}, "command line", "");
  profile::Sourced merged = profile::merge_profile(catalog, "yy", {flags});
  CHECK(profile::widenings(merged, "launcher.json", "/home/alice/project", FakePaths{}.probe()).empty());
}

TEST_CASE("trust: the refusal is one line naming the file, the key and `launcher trust`", "[profile][trust]") {
  CHECK(profile::refusal_message(untrusted(1)) ==
        "/work/launcher.json:/profiles/jupyter/sudo: \"sudo\": true (root inside the env): this team file is not "
        "approved (new, changed since it was, or widening more than it did then); read it, then approve it with "
        "`launcher trust /work/launcher.json`");
  CHECK(profile::refusal_message(untrusted(3)) ==
        "/work/launcher.json:/profiles/jupyter/sudo: \"sudo\": true (root inside the env) (and 2 more value(s) that "
        "widen what an env may do): this team file is not approved (new, changed since it was, or widening more than "
        "it did then); read it, then "
        "approve it with `launcher trust /work/launcher.json`");
  // The command it proposes can be pasted into a shell.
  CHECK(profile::refusal_message(untrusted(1, "/my work/it's/launcher.json"))
            .ends_with("`launcher trust '/my work/it'\\''s/launcher.json'`"));
  CHECK(profile::refusal_message(untrusted(1)).find('\n') == std::string::npos);
}

TEST_CASE("trust: render's warning, the listing status and the JSON say the same", "[profile][trust]") {
  CHECK(profile::preview_warning(untrusted(2)) ==
        "the team file /work/launcher.json is not approved and widens what an env may do "
        "(/work/launcher.json:/profiles/jupyter/sudo: \"sudo\": true (root inside the env)); `up` refuses it until "
        "`launcher trust /work/launcher.json`");
  CHECK(profile::trust_status(untrusted(1)) ==
        "not approved: widens what an env may do (/profiles/jupyter/sudo); `launcher trust` approves it");
  CHECK(profile::trust_status(untrusted(3)) ==
        "not approved: widens what an env may do (/profiles/jupyter/sudo and 2 more); `launcher trust` approves it");
  profile::TeamFileTrust approved = untrusted(1);
  approved.approved = true;
  CHECK(profile::trust_status(approved) == "approved");
  CHECK_FALSE(approved.refused());
  profile::TeamFileTrust plain{"/work/launcher.json", "ab12", false, {}};
  CHECK(profile::trust_status(plain) == "widens nothing (no approval needed)");
  CHECK_FALSE(plain.refused());
  CHECK(untrusted(1).refused());

  CHECK(profile::trust_json(untrusted(1)) == json{{"path", "/work/launcher.json"},
                                                  {"sha256", "ab12"},
                                                  {"approved", false},
                                                  {"needs_approval", true},
                                                  {"widens",
                                                   {{{"key", "/work/launcher.json:/profiles/jupyter/sudo"},
                                                     {"what", "\"sudo\": true (root inside the env)"}}}}});
}

TEST_CASE("trust: a team file's ${NAME} that hands the launcher's environment to the env is a widening",
          "[profile][trust]") {
  std::vector<profile::VariableRead> reads;
  profile::EnvLookup environment = [](const std::string& name) -> std::optional<std::string> {
    if (name == "AWS_SECRET_ACCESS_KEY") return "s3cr3t";
    if (name == "DATASETS") return "/srv/datasets";
    return std::nullopt;
  };
  profile::FieldContext context{"launcher.json", "/home/alice/project", "/home/alice", &environment, &reads};
  profile::parse_profile_source(
      team_with({{"extends", "shell"},
                 {"env", {{"KEY", "${AWS_SECRET_ACCESS_KEY}"}, {"AGAIN", "x${AWS_SECRET_ACCESS_KEY}"}}},
                 {"volumes", {{{"host", "${DATASETS}"}, {"container", "/data"}}}},
                 {"command", {"sh", "-c", "echo ${UNSET_TOKEN:-none}"}}}),
      context);
  std::vector<std::string> found;
  for (const auto& widening : profile::variable_widenings("launcher.json", reads))
    found.push_back(widening.describe());
  // The volume's host path is judged by where it leads, not by the variable that named it.
  CHECK(found == std::vector<std::string>{
                     "launcher.json:/profiles/dev/command/2: takes the launcher's environment variable UNSET_TOKEN "
                     "(${UNSET_TOKEN}) into the env",
                     "launcher.json:/profiles/dev/env/AGAIN: takes the launcher's environment variable "
                     "AWS_SECRET_ACCESS_KEY (${AWS_SECRET_ACCESS_KEY}) into the env",
                     "launcher.json:/profiles/dev/env/KEY: takes the launcher's environment variable "
                     "AWS_SECRET_ACCESS_KEY (${AWS_SECRET_ACCESS_KEY}) into the env"});
  // The same read twice is one widening.
  reads.push_back(reads.front());
  CHECK(profile::variable_widenings("launcher.json", reads).size() == 3);
}

TEST_CASE("trust: a backup sends the env's files away with the user's keys, a widening", "[profile][trust][backup]") {
  CHECK(widened(team_with({{"extends", "shell"},
                           {"backup",
                            {{"to", "s3://ckpt/team"},
                             {"paths", {"/workspace"}},
                             {"endpoint", "https://s3.example.com"},
                             {"credentials", "team"}}}}),
                "dev") == std::vector<std::string>{"launcher.json:/profiles/dev/backup: \"backup\" sends the env's "
                                                   "files to s3://ckpt/team at https://s3.example.com with the AWS "
                                                   "keys of profile \"team\""});
  CHECK(
      widened(team_with({{"extends", "shell"}, {"backup", {{"to", "s3://ckpt"}, {"paths", {"/workspace"}}}}}), "dev") ==
      std::vector<std::string>{"launcher.json:/profiles/dev/backup: \"backup\" sends the env's files to s3://ckpt "
                               "with the host's AWS keys (AWS_PROFILE, else profile \"default\")"});
}
