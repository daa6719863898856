// `snapshot` holds no secret: the image's own environment, the home's secret files left out
// unless --include names them, and `down` lists those files as work a removal loses.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "cli_bench.hpp"
#include "core/error.hpp"
#include "lifecycle/snapshot.hpp"
#include "lifecycle/unsaved.hpp"
#include "process/process.hpp"
#include "support.hpp"

using namespace launcher;
using namespace launcher::testing;
using lifecycle::environment_changes;
using lifecycle::included_secret_path;
using lifecycle::secret_path_holding;
using Strings = std::vector<std::string>;

namespace {

const Strings alice_homes{"/home/alice", "/root"};

std::string include_error(const std::string& argument, const Strings& homes = alice_homes,
                          const std::string& host_home = "/home/bob") {
  try {
    included_secret_path(argument, homes, host_home);
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::usage);
    return error.what();
  }
  return "(accepted)";
}

std::string environment_error(const Strings& image, const Strings& container) {
  try {
    environment_changes(image, container);
  } catch (const Error& error) {
    return error.what();
  }
  return "(accepted)";
}

lifecycle::UnsavedWork alice_work(const std::string& diff) {
  return lifecycle::unsaved_work(diff, {"/workspace"}, "/home/alice", "/workspace", std::nullopt, std::nullopt);
}

// A running env of user alice made with `-e HF_TOKEN=...` from image sha256:base, whose `docker diff` is `diff`.
void running_env(CliBench& bench, const std::string& diff, bool running = true) {
  json container{{"Id", "c0ffee"},
                 {"Name", "/" + env},
                 {"Image", "sha256:base"},
                 {"State", {{"Running", running}, {"Status", running ? "running" : "exited"}}},
                 {"Config",
                  {{"Image", image},
                   {"Labels", {{"io.launcher.env", env}, {"io.launcher.profile", "shell"}}},
                   {"Env",
                    {"LAUNCHER_USER=alice", "LAUNCHER_UID=1000", "LAUNCHER_GID=1000", "LAUNCHER_SUDO=1",
                     "HF_TOKEN=hf_unit_secret", "PATH=/usr/bin"}}}},
                 {"Mounts", json::array({{{"Destination", "/workspace"}}})}};
  bench.docker.on({"ps", "-a", "-q", "--no-trunc", "--filter", "label=io.launcher.env=" + env}, "c0ffee\n");
  bench.docker.on({"container", "inspect", "c0ffee"}, json::array({container}).dump());
  bench.docker.on({"diff", env}, diff);
  bench.docker.on({"image", "inspect", "sha256:base"},
                  json::array({{{"Id", "sha256:base"}, {"Config", {{"Env", {"PATH=/usr/bin"}}}}}}).dump());
  bench.docker.on({"image", "inspect", "unit/image:1-snap"}, json::array({{{"Id", "sha256:5a"}}}).dump());
  bench.docker.on({"commit"}, "sha256:first\n");
  bench.docker.on({"create"}, "scratch\n");
  bench.docker.on({"container", "rm"}, "");
  // The secrets' stash and its restore (as alice, in a directory root made for her); anything else
  // in the container (package listing) fails.
  bench.docker.on({"exec", "-u", "0", env, "sh", "-c"}, "");
  bench.docker.on({"exec", "-u", "1000:1000", env, "sh", "-c"}, "");
}

} // namespace

TEST_CASE("a snapshot's environment is its image's own: set back, emptied or switched off, never the env's value",
          "[lifecycle][snapshot]") {
  const Strings image{"PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8", "NVIDIA_VISIBLE_DEVICES=all", "EMPTY="};
  // What the image has, unchanged, needs no instruction.
  CHECK(environment_changes(image, image).empty());
  CHECK(environment_changes(image, {}).empty());
  // Added by the env: emptied (a commit cannot remove a variable); the launcher's switches read "0".
  CHECK(environment_changes(image, {"HF_TOKEN=hf_secret", "WANDB_API_KEY=k=v", "LAUNCHER_UID=1000", "LAUNCHER_SUDO=1",
                                    "LAUNCHER_READ_ONLY_ROOT=1", "LAUNCHER_SSH_AGENT_FORWARDING=1",
                                    "LAUNCHER_SSH_STREAM_LOCAL_FORWARDING=1", "LAUNCHER_SSH_USER_RC=1",
                                    "LAUNCHER_SERVICE=jupyter"}) ==
        Strings{"ENV HF_TOKEN=\"\"", "ENV WANDB_API_KEY=\"\"", "ENV LAUNCHER_UID=\"\"", "ENV LAUNCHER_SUDO=\"0\"",
                "ENV LAUNCHER_READ_ONLY_ROOT=\"0\"", "ENV LAUNCHER_SSH_AGENT_FORWARDING=\"0\"",
                "ENV LAUNCHER_SSH_STREAM_LOCAL_FORWARDING=\"0\"", "ENV LAUNCHER_SSH_USER_RC=\"0\"",
                "ENV LAUNCHER_SERVICE=\"\""});
  // Changed by the env: the image's value again, exactly.
  CHECK(environment_changes(image, {"PATH=/secret/bin", "NVIDIA_VISIBLE_DEVICES=void", "LANG=C.UTF-8", "EMPTY=x"}) ==
        Strings{"ENV PATH=\"/usr/local/bin:/usr/bin\"", "ENV NVIDIA_VISIBLE_DEVICES=\"all\"", "ENV EMPTY=\"\""});
  // '\', '"' and '$' of the image's value are escaped: ENV would expand "$HOME" otherwise.
  CHECK(environment_changes({R"(PS1=a"b\c$HOME)"}, {"PS1=mine"}) == Strings{R"(ENV PS1="a\"b\\c\$HOME")"});
  // A variable without '=' reads as empty.
  CHECK(environment_changes({"BARE"}, {"BARE"}).empty());
}

TEST_CASE("a variable an ENV instruction cannot write back is an error naming it", "[lifecycle][snapshot]") {
  CHECK(
      environment_error({}, {"BAD NAME=x"}) ==
      "the environment variable \"BAD NAME\" of the container cannot be emptied for the snapshot (docker commit's ENV "
      "instruction cannot name it); remove it from the profile or -e");
  CHECK(environment_error({}, {"A$B=x"}).find("\"A$B\"") != std::string::npos);
  CHECK(environment_error({}, {"=x"}).find("\"\" of the container cannot be emptied") != std::string::npos);
  CHECK(environment_error({"MOTD=line\nline"}, {"MOTD=mine"}) ==
        "the image's value of the environment variable MOTD holds a line break, which docker commit's ENV instruction "
        "cannot write back");
}

TEST_CASE("every known secret path of a home is found, as itself or the directory that holds it",
          "[lifecycle][snapshot][unsaved]") {
  const std::vector<std::pair<std::string, std::string>> found{
      {"/home/alice/.bash_history", "/home/alice/.bash_history"},
      {"/home/alice/.zsh_history", "/home/alice/.zsh_history"},
      {"/home/alice/.python_history", "/home/alice/.python_history"},
      {"/home/alice/.ipython/profile_default/history.sqlite", "/home/alice/.ipython/profile_default/history.sqlite"},
      {"/home/alice/.ipython/profile_work/history.sqlite-journal",
       "/home/alice/.ipython/profile_work/history.sqlite-journal"},
      {"/home/alice/.local/share/jupyter/runtime/jpserver-7.json", "/home/alice/.local/share/jupyter/runtime"},
      {"/home/alice/.local/share/jupyter/runtime/jpserver-7-open.html", "/home/alice/.local/share/jupyter/runtime"},
      {"/home/alice/.local/share/jupyter/runtime/kernel-1f.json", "/home/alice/.local/share/jupyter/runtime"},
      {"/home/alice/.ssh/id_ed25519", "/home/alice/.ssh"},
      {"/home/alice/.ssh/known_hosts", "/home/alice/.ssh"},
      {"/home/alice/.ssh", "/home/alice/.ssh"},
      {"/home/alice/.cache/huggingface/token", "/home/alice/.cache/huggingface/token"},
      {"/home/alice/.cache/huggingface/stored_tokens", "/home/alice/.cache/huggingface/stored_tokens"},
      {"/home/alice/.netrc", "/home/alice/.netrc"},
      {"/home/alice/.aws/credentials", "/home/alice/.aws"},
      {"/home/alice/.config/gcloud/credentials.db", "/home/alice/.config/gcloud"},
      {"/home/alice/.docker/config.json", "/home/alice/.docker/config.json"},
      {"/home/alice/.git-credentials", "/home/alice/.git-credentials"},
      // root's home too: a sudo shell's history.
      {"/root/.bash_history", "/root/.bash_history"},
      {"/root/.ssh/id_rsa", "/root/.ssh"}};
  for (const auto& [path, secret] : found) {
    INFO(path);
    CHECK(secret_path_holding(path, alice_homes) == secret);
  }
  // Every pattern is found.
  for (const auto& pattern : lifecycle::home_secret_patterns()) {
    INFO(pattern);
    std::string example = pattern;
    for (auto star = example.find('*'); star != std::string::npos; star = example.find('*'))
      example.replace(star, 1, "x");
    CHECK(secret_path_holding("/home/alice/" + example, alice_homes) == "/home/alice/" + example);
  }
  for (const std::string path :
       {"/home/alice/.cache/huggingface/hub/models--x/blob", "/home/alice/.ipython/profile_default/startup/a.py",
        "/home/alice/.local/share/jupyter/kernels/k/kernel.json", "/home/alice/.docker/other.json",
        "/home/alice/notes/.bash_history", "/opt/.ssh/id_rsa", "/home/bob/.bash_history", "/home/alice",
        "/home/alice/.sshx", "/home/alice/.ipython/history.sqlite"}) {
    INFO(path);
    CHECK(secret_path_holding(path, alice_homes).empty());
  }
  CHECK(lifecycle::secret_homes("/home/alice") == alice_homes);
  CHECK(lifecycle::secret_homes("/root") == Strings{"/root"});
  CHECK(lifecycle::secret_homes("") == Strings{"/root"});
}

TEST_CASE("down lists the home's secrets as work a removal loses, never as regenerated",
          "[lifecycle][snapshot][unsaved]") {
  for (const std::string path :
       {"/home/alice/.bash_history", "/home/alice/.python_history", "/home/alice/.cache/huggingface/token",
        "/home/alice/.ipython/profile_default/history.sqlite",
        "/home/alice/.local/share/jupyter/runtime/kernel-1.json"}) {
    INFO(path);
    CHECK_FALSE(lifecycle::is_regenerated(path, "/home/alice"));
  }
  // What the same tools regenerate next to them stays noise.
  CHECK(lifecycle::is_regenerated("/home/alice/.cache/huggingface/hub/x", "/home/alice"));
  CHECK(lifecycle::is_regenerated("/home/alice/.ipython/profile_default/startup/README", "/home/alice"));

  auto work = alice_work("A /home/alice\nA /home/alice/.bash_history\nA /home/alice/.ssh\n"
                         "A /home/alice/.ssh/id_ed25519\nA /home/alice/.ssh/id_ed25519.pub\nC /home/alice/.cache\n"
                         "A /home/alice/.cache/huggingface\nA /home/alice/.cache/huggingface/token\n"
                         "A /home/alice/.cache/huggingface/hub\nA /home/alice/.cache/huggingface/hub/m\n"
                         "A /workspace/.bash_history\nA /opt/model.pt\nA /root/.python_history\n");
  CHECK(work.files == Strings{"/home/alice/.bash_history", "/home/alice/.cache/huggingface/token",
                              "/home/alice/.ssh/id_ed25519", "/home/alice/.ssh/id_ed25519.pub", "/opt/model.pt",
                              "/root/.python_history"});
  CHECK(work.secrets == Strings{"/home/alice/.bash_history", "/home/alice/.cache/huggingface/token", "/home/alice/.ssh",
                                "/root/.python_history"});
  std::string message = lifecycle::unsaved_work_message("e", work, "/workspace", "or discard it all with --force");
  CHECK(message.find("\n  secrets among them, which `launcher snapshot` leaves out (`--include PATH` keeps one):\n"
                     "    /home/alice/.bash_history\n    /home/alice/.cache/huggingface/token\n"
                     "    /home/alice/.ssh\n    /root/.python_history\nkeep all of it") != std::string::npos);
  // Without secrets, no such line.
  auto plain = alice_work("A /opt/model.pt\n");
  CHECK(plain.secrets.empty());
  CHECK(lifecycle::unsaved_work_message("e", plain, "/workspace", "x").find("secrets") == std::string::npos);
}

TEST_CASE("an --include names a secret path of the env's home however the shell wrote it", "[lifecycle][snapshot]") {
  // `~/P` as typed in quotes, a path relative to the home, an absolute one, root's, and `~` expanded by
  // the host's shell to the host's home.
  CHECK(included_secret_path("~/.bash_history", alice_homes, "/home/bob") == "/home/alice/.bash_history");
  CHECK(included_secret_path(".ssh/", alice_homes, "/home/bob") == "/home/alice/.ssh");
  CHECK(included_secret_path("/home/alice/.aws", alice_homes, "/home/bob") == "/home/alice/.aws");
  CHECK(included_secret_path("/root/.bash_history", alice_homes, "/home/bob") == "/root/.bash_history");
  CHECK(included_secret_path("/home/bob/.netrc", alice_homes, "/home/bob") == "/home/alice/.netrc");
  CHECK(included_secret_path("/home/bob/../alice/./.netrc", alice_homes, "/home/bob") == "/home/alice/.netrc");
  // A pattern itself, or one path it matches.
  CHECK(included_secret_path("~/.ipython/profile_*/history.sqlite*", alice_homes, "") ==
        "/home/alice/.ipython/profile_*/history.sqlite*");
  CHECK(included_secret_path("~/.ipython/profile_default/history.sqlite", alice_homes, "") ==
        "/home/alice/.ipython/profile_default/history.sqlite");
  // The host's home when it is the env's home too.
  CHECK(included_secret_path("/root/.ssh", {"/root"}, "/root") == "/root/.ssh");

  CHECK(lifecycle::is_included("/home/alice/.ipython/profile_x/history.sqlite",
                               {"/home/alice/.ipython/profile_*/history.sqlite*"}));
  CHECK(lifecycle::is_included("/home/alice/.ssh", {"/root/.ssh", "/home/alice/.ssh"}));
  CHECK_FALSE(lifecycle::is_included("/home/alice/.ssh", {"/root/.ssh"}));
  CHECK_FALSE(lifecycle::is_included("/home/alice/.ssh", {}));
}

TEST_CASE("an --include of anything but a secret path is refused, saying what to name", "[lifecycle][snapshot]") {
  CHECK(include_error("~/.ssh/id_ed25519") == "--include ~/.ssh/id_ed25519: it lies in /home/alice/.ssh, which a "
                                              "snapshot leaves out or keeps whole: --include /home/alice/.ssh");
  CHECK(include_error("/etc/passwd") ==
        "--include /etc/passwd: /etc/passwd is not a path a snapshot leaves out, which are, in the env's home "
        "/home/alice and in root's: ~/.bash_history, ~/.zsh_history, ~/.python_history, "
        "~/.ipython/profile_*/history.sqlite*, ~/.local/share/jupyter/runtime, ~/.ssh, ~/.cache/huggingface/token, "
        "~/.cache/huggingface/stored_tokens, ~/.netrc, ~/.aws, ~/.config/gcloud, ~/.docker/config.json, "
        "~/.git-credentials; anything else is in the snapshot already");
  CHECK(include_error("~", {"/root"}) ==
        "--include ~: /root is not a path a snapshot leaves out, which are, in the env's home /root: "
        "~/.bash_history, ~/.zsh_history, ~/.python_history, ~/.ipython/profile_*/history.sqlite*, "
        "~/.local/share/jupyter/runtime, ~/.ssh, ~/.cache/huggingface/token, ~/.cache/huggingface/stored_tokens, "
        "~/.netrc, ~/.aws, ~/.config/gcloud, ~/.docker/config.json, ~/.git-credentials; anything else is in the "
        "snapshot already");
  CHECK(include_error("~/.cache/huggingface")
            .find("/home/alice/.cache/huggingface is not a path a snapshot leaves out") != std::string::npos);
  CHECK(include_error("/home/bob/.bash_history", alice_homes, "").find("/home/bob/.bash_history is not a path") !=
        std::string::npos);
}

TEST_CASE("snapshot moves the secrets aside for the commit and back, empties -e values and names what it left out",
          "[commands][snapshot]") {
  CliBench bench;
  running_env(bench, "A /home/alice\nA /home/alice/.bash_history\nA /home/alice/.ssh\nA /home/alice/.ssh/id_ed25519\n"
                     "A /opt/notes.txt\n");
  REQUIRE(bench.run({"snapshot", env, "--tag", "unit/image:1-snap", "--include",
                     (bench.dir.path / ".bash_history").string(), "--json"}) == 0);
  INFO(bench.err.str());
  // Root makes alice's stash directory; as alice, an interrupted snapshot's stash is put back
  // first, then the stash, then its restore: root follows nothing alice could plant in her home.
  CHECK(bench.docker.calls_to({"exec", "-u", "0", env, "sh", "-c"}) ==
        std::vector<Strings>{{"exec", "-u", "0", env, "sh", "-c", lifecycle::SecretStash::user_directory_script, "sh",
                              lifecycle::SecretStash::user_directory, "1000:1000"}});
  auto in_container = bench.docker.calls_to({"exec", "-u", "1000:1000", env, "sh", "-c"});
  REQUIRE(in_container.size() == 3);
  CHECK(Strings(in_container[1].begin() + 8, in_container[1].end()) ==
        Strings{lifecycle::SecretStash::user_directory, "/home/alice/.ssh"});
  CHECK(in_container[0].size() == 9);
  CHECK(in_container[2].size() == 9);
  // The stash comes before the commit, the restore after it.
  const auto& calls = bench.docker.calls();
  // The last of the identical calls: the restore after the commit, not the one before the stash.
  auto position = [&](const Strings& call) { return calls.rend() - std::find(calls.rbegin(), calls.rend(), call) - 1; };
  auto commits = bench.docker.calls_to({"commit"});
  REQUIRE(commits.size() == 2);
  CHECK(position(in_container[1]) < position(commits[0]));
  CHECK(position(commits[0]) < position(in_container[2]));
  // The container's commit sets the environment back; the snapshot is a commit of a container of that image.
  const Strings& first = commits[0];
  CHECK(first.back() == env);
  for (const std::string change :
       {"ENV LAUNCHER_USER=\"\"", "ENV LAUNCHER_UID=\"\"", "ENV LAUNCHER_SUDO=\"0\"", "ENV HF_TOKEN=\"\""}) {
    INFO(change);
    CHECK(std::find(first.begin(), first.end(), change) != first.end());
  }
  for (const auto& word : first)
    CHECK(word.find("hf_unit_secret") == std::string::npos);
  auto creates = bench.docker.calls_to({"create"});
  REQUIRE(creates.size() == 1);
  CHECK(creates[0].back() == "sha256:first");
  const std::string scratch = creates[0][2];
  CHECK(commits[1] == Strings{"commit", "--pause=false", scratch, "unit/image:1-snap"});
  CHECK(bench.docker.calls_to({"container", "rm", "--force", scratch}).size() == 1);
  CHECK(bench.docker.calls_to({"image", "rm"}).empty());

  json result = json::parse(bench.out.str());
  CHECK(result["left_out"] == json::array({"/home/alice/.ssh"}));
  CHECK(contains(bench.err.str(),
                 "launcher: left out of the snapshot, as secrets (`--include PATH` keeps one): /home/alice/.ssh\n"));
}

TEST_CASE("a failed snapshot puts the secrets back and leaves no image or container behind", "[commands][snapshot]") {
  CliBench bench;
  bench.docker.on({"create"}, "", 1, "Error response from daemon: no space left on device");
  running_env(bench, "A /home/alice/.bash_history\n");
  CHECK(bench.run({"snapshot", env, "--tag", "unit/image:1-snap"}) == 1);
  CHECK(contains(bench.err.str(), "no space left on device"));
  auto in_container = bench.docker.calls_to({"exec", "-u", "1000:1000", env, "sh", "-c"});
  REQUIRE(in_container.size() == 3);
  CHECK(in_container[2].size() == 9); // the restore
  CHECK(bench.docker.calls_to({"image", "rm", "sha256:first"}).size() == 1);
  CHECK(bench.docker.calls_to({"container", "rm"}).empty()); // never created
}

TEST_CASE("a stash that fails is undone and named, and nothing is committed", "[commands][snapshot]") {
  CliBench bench;
  bench.docker.on({"exec", "-u", "1000:1000", env, "sh", "-c", lifecycle::SecretStash::stash_script}, "", 1,
                  "/home/alice/.config is reached through a symbolic link\n");
  running_env(bench, "A /home/alice/.config/gcloud/credentials.db\n");
  CHECK(bench.run({"snapshot", env, "--tag", "unit/image:1-snap"}) == 1);
  CHECK(bench.err.str() ==
        "launcher: warning: the snapshot keeps /usr/local/share/launcher/packages.json of its image: an environment "
        "started from it will name the packages installed here as new\n"
        "launcher: error: cannot keep the secret files of " +
            env +
            " out of the snapshot (they are where they were): /home/alice/.config is reached through a symbolic "
            "link\n");
  CHECK(bench.docker.calls_to({"commit"}).empty());
}

TEST_CASE("a stopped env with secrets is refused: only a running one can keep them out", "[commands][snapshot]") {
  CliBench bench;
  running_env(bench, "A /home/alice/.bash_history\nA /home/alice/.netrc\n", false);
  CHECK(bench.run({"snapshot", env}) == 1);
  CHECK(contains(bench.err.str(),
                 "launcher: error: environment \"" + env +
                     "\" is stopped, and its container holds secrets (/home/alice/.bash_history, /home/alice/.netrc) "
                     "that only a running container can keep out of the snapshot: start it (`launcher up`) and "
                     "snapshot again, or keep them with --include PATH\n"));
  CHECK(bench.docker.calls_to({"commit"}).empty());
  // Named with --include, they go in.
  CHECK(bench.run({"snapshot", env, "--tag", "unit/image:1-snap", "--include", "~/.bash_history", "--include",
                   "~/.netrc"}) == 0);
  INFO(bench.err.str());
  CHECK(bench.docker.calls_to({"commit"}).size() == 2);
  for (const auto& call : bench.docker.calls())
    INFO(FakeDocker::joined(call));
  CHECK(bench.docker.calls_to({"exec"}).empty());
}

namespace {

// The stash's scripts as the container runs them (`sh -c SCRIPT sh STASH PATH...`), here in a
// directory of the test's own.
process::ProcessResult run_script(const char* script, const fs::path& stash, const Strings& paths = {}) {
  Strings argv{"sh", "-c", script, "sh", stash.string()};
  argv.insert(argv.end(), paths.begin(), paths.end());
  return process::run_process(argv);
}

std::string text_of(const fs::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

} // namespace

TEST_CASE("the stash moves the secrets aside whole and puts them back as they were", "[lifecycle][snapshot]") {
  TempDir dir;
  const fs::path home = dir.path / "home", stash = dir.path / "run" / "stash";
  dir.write("home/.bash_history", "history\n");
  dir.write("home/.ssh/id_ed25519", "key\n");
  fs::permissions(home / ".ssh" / "id_ed25519", fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink("id_ed25519", home / ".ssh" / "link");
  auto stashed = run_script(lifecycle::SecretStash::stash_script, stash,
                            {(home / ".bash_history").string(), (home / ".ssh").string(), (home / ".netrc").string()});
  INFO(stashed.err);
  REQUIRE(stashed.exit_code == 0);
  CHECK_FALSE(fs::exists(home / ".bash_history"));
  CHECK_FALSE(fs::exists(home / ".ssh"));
  CHECK(fs::status(stash).permissions() == fs::perms::owner_all);

  auto restored = run_script(lifecycle::SecretStash::restore_script, stash);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK(restored.out.empty());
  CHECK(text_of(home / ".bash_history") == "history\n");
  CHECK(text_of(home / ".ssh" / "id_ed25519") == "key\n");
  CHECK(fs::status(home / ".ssh" / "id_ed25519").permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(fs::read_symlink(home / ".ssh" / "link") == "id_ed25519");
  CHECK_FALSE(fs::exists(stash));
}

TEST_CASE("a secret written anew during the snapshot is kept, and the stashed one goes beside it",
          "[lifecycle][snapshot]") {
  TempDir dir;
  const fs::path home = dir.path / "home", stash = dir.path / "stash";
  dir.write("home/.bash_history", "old\n");
  dir.write("home/.aws/credentials", "old\n");
  dir.write("home/.netrc", "same\n");
  REQUIRE(run_script(lifecycle::SecretStash::stash_script, stash,
                     {(home / ".bash_history").string(), (home / ".aws").string(), (home / ".netrc").string()})
              .exit_code == 0);
  // A shell exits and writes its history; a tool writes a new file into a stashed directory.
  dir.write("home/.bash_history", "new\n");
  dir.write("home/.aws/config", "new\n");
  dir.write("home/.aws/credentials", "new\n");
  dir.write("home/.netrc", "same\n");
  auto restored = run_script(lifecycle::SecretStash::restore_script, stash);
  REQUIRE(restored.exit_code == 0);
  CHECK(restored.out == (home / ".bash_history").string() + ".before-snapshot\n");
  CHECK(text_of(home / ".bash_history") == "new\n");
  CHECK(text_of(home / ".bash_history.before-snapshot") == "old\n");
  // Into a directory, what is missing comes back and nothing there is replaced.
  CHECK(text_of(home / ".aws" / "credentials") == "new\n");
  CHECK(text_of(home / ".aws" / "config") == "new\n");
  CHECK_FALSE(fs::exists(home / ".netrc.before-snapshot"));
  CHECK_FALSE(fs::exists(stash));
}

TEST_CASE("a stash cut short loses nothing: an incomplete copy is dropped, the original was never deleted",
          "[lifecycle][snapshot]") {
  TempDir dir;
  const fs::path home = dir.path / "home", stash = dir.path / "stash";
  dir.write("home/.netrc", "netrc\n");
  // What a stash killed during its copy leaves: the entry, the path, part of the copy, no "whole".
  dir.write("stash/1/path", (home / ".netrc").string());
  dir.write("stash/1/item", "net");
  dir.write("stash/junk", "");
  auto restored = run_script(lifecycle::SecretStash::restore_script, stash);
  REQUIRE(restored.exit_code == 0);
  CHECK(text_of(home / ".netrc") == "netrc\n");
  CHECK_FALSE(fs::exists(stash));
}

TEST_CASE("a secret reached through a symbolic link is not moved, and the stash says why", "[lifecycle][snapshot]") {
  TempDir dir;
  const fs::path home = dir.path / "home", stash = dir.path / "stash";
  dir.write("elsewhere/gcloud/credentials.db", "db\n");
  dir.write("home/.bash_history", "history\n");
  fs::create_symlink(dir.path / "elsewhere", home / ".config");
  auto stashed = run_script(lifecycle::SecretStash::stash_script, stash,
                            {(home / ".bash_history").string(), (home / ".config" / "gcloud").string()});
  CHECK(stashed.exit_code == 1);
  CHECK(stashed.err == (home / ".config").string() + " is reached through a symbolic link\n");
  CHECK(text_of(dir.path / "elsewhere" / "gcloud" / "credentials.db") == "db\n");
  // What went before it comes back with the restore the launcher runs next.
  REQUIRE(run_script(lifecycle::SecretStash::restore_script, stash).exit_code == 0);
  CHECK(text_of(home / ".bash_history") == "history\n");
}

TEST_CASE("a secret that cannot go back stops the snapshot and says where its copy waits", "[commands][snapshot]") {
  CliBench bench;
  bench.docker.on({"exec", "-u", "1000:1000", env, "sh", "-c", lifecycle::SecretStash::restore_script}, "", 1,
                  "cannot put back /home/alice/.netrc\n");
  running_env(bench, "A /home/alice/.netrc\n");
  CHECK(bench.run({"snapshot", env, "--tag", "unit/image:1-snap"}) == 1);
  CHECK(
      contains(bench.err.str(), "launcher: error: could not put every secret file of " + env +
                                    " back: cannot put back /home/alice/.netrc; the copies wait in "
                                    "/run/launcher/snapshot-stash-user in the container (a tmpfs: copy them out before "
                                    "it stops; the next `launcher snapshot` tries again)\n"));
  CHECK(bench.docker.calls_to({"commit"}).empty());
}

TEST_CASE("a secret written anew during the snapshot is named where its stashed copy went", "[commands][snapshot]") {
  CliBench bench;
  bench.docker.on({"exec", "-u", "1000:1000", env, "sh", "-c", lifecycle::SecretStash::restore_script},
                  "/home/alice/.bash_history.before-snapshot\n");
  running_env(bench, "A /home/alice/.bash_history\n");
  REQUIRE(bench.run({"snapshot", env, "--tag", "unit/image:1-snap"}) == 0);
  CHECK(contains(bench.err.str(), "launcher: warning: a file took the place of a secret during the snapshot; the "
                                  "secret is back as /home/alice/.bash_history.before-snapshot\n"));
}

TEST_CASE("without its image's environment the snapshot is refused, naming the image", "[commands][snapshot]") {
  CliBench bench;
  bench.docker.on({"image", "inspect", "sha256:base"}, "[]", 1, "Error: No such image: sha256:base");
  running_env(bench, "A /opt/notes.txt\n");
  CHECK(bench.run({"snapshot", env, "--tag", "unit/image:1-snap"}) == 1);
  CHECK(contains(bench.err.str(), "launcher: error: cannot read the image sha256:base that environment \"" + env +
                                      "\" was made from: its environment variables, which the snapshot takes "
                                      "instead of the container's, are unknown\n"));
  CHECK(bench.docker.calls_to({"commit"}).empty());
}
