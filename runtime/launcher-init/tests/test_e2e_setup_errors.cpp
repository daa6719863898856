#include <catch2/catch.hpp>

#include <fstream>

#include "e2e_support.hpp"
#include "settings.hpp"

using namespace e2e;

namespace {

// A LAUNCHER_ROOT with just the account files of an image that already has a user "ubuntu",
// the baked host key of the openssh-server package, and the ssh secrets.
struct ImageRoot {
  ImageRoot() {
    fs::create_directories(directory.path() / "etc/ssh");
    std::ofstream(directory.path() / "etc/passwd") << "root:x:0:0:root:/root:/bin/bash\nubuntu:x:" << taken_uid << ":"
                                                   << taken_uid << "::/home/ubuntu:/bin/bash\n";
    std::ofstream(directory.path() / "etc/group") << "root:x:0:\nubuntu:x:" << taken_uid << ":\n";
    std::ofstream(directory.path() / "etc/shadow") << "root:*:19000:0:99999:7:::\nubuntu:!:19000:0:99999:7:::\n";
    std::ofstream(directory.path() / "etc/ssh/ssh_host_ed25519_key") << "baked into the image\n";
    generate_ed25519_key(secrets / "ssh_host_ed25519_key", user.uid);
    write_secret(secrets / "authorized_keys", generate_ed25519_key(directory.path() / "client_key", 0), user.uid);
    settings = {{"LAUNCHER_SERVICE", "ssh"},
                {"LAUNCHER_UID", std::to_string(user.uid)},
                {"LAUNCHER_GID", std::to_string(user.uid)},
                {"LAUNCHER_USER", user.name},
                {"LAUNCHER_ROOT", directory.path().string()},
                {"LAUNCHER_SECRETS_DIR", secrets.string()}};
  }

  std::string passwd() const { return read_text(directory.path() / "etc/passwd"); }

  TemporaryDirectory directory;
  TestUser user;
  uid_t taken_uid = free_uid();
  // Where the container has them: launcher-init makes the parent root-only.
  fs::path secrets = directory.path() / launcher_init::Settings{}.secrets_dir.relative_path();
  Variables settings;
};

// The whole output is the one line, and launcher-init failed.
void check_one_line_error(const ProcessResult& result, const std::string& expected) {
  INFO(result.output);
  CHECK(result.exit_status == 1);
  CHECK(result.output == "launcher-init: " + expected + "\n");
}

} // namespace

TEST_CASE("setup errors: a missing secret stops before anything changes") {
  if (!prerequisites_met({"sshd"})) return;
  ImageRoot image;
  auto passwd_before = image.passwd();
  fs::remove(image.secrets / "authorized_keys");
  check_one_line_error(run_launcher(image.settings),
                       "failed to read secret: " + (image.secrets / "authorized_keys").string() +
                           ": No such file or directory");
  CHECK(image.passwd() == passwd_before);
  CHECK(fs::exists(image.directory.path() / "etc/ssh/ssh_host_ed25519_key"));
}

TEST_CASE("setup errors: an unreadable secret") {
  if (!prerequisites_met({"sshd"})) return;
  ImageRoot image;
  fs::remove(image.secrets / "authorized_keys");
  fs::create_directory(image.secrets / "authorized_keys");
  check_one_line_error(run_launcher(image.settings),
                       "failed to read secret: " + (image.secrets / "authorized_keys").string() +
                           ": not a regular file");
}

TEST_CASE("setup errors: an empty Jupyter token is refused") {
  if (!prerequisites_met({"python3"})) return;
  ImageRoot image;
  write_secret(image.secrets / "jupyter_token", "", image.user.uid);
  image.settings["LAUNCHER_SERVICE"] = "jupyter";
  check_one_line_error(run_launcher(image.settings),
                       "failed to read secret: " + (image.secrets / "jupyter_token").string() + ": empty");
  write_secret(image.secrets / "jupyter_token", random_hex(32) + "\n", image.user.uid);
  check_one_line_error(run_launcher(image.settings),
                       "failed to read secret: " + (image.secrets / "jupyter_token").string() +
                           ": contains whitespace or a control character");
}

TEST_CASE("setup errors: a uid that belongs to another name") {
  if (!prerequisites_met({"sshd"})) return;
  ImageRoot image;
  image.settings["LAUNCHER_UID"] = std::to_string(image.taken_uid);
  check_one_line_error(run_launcher(image.settings), "failed to create user: " + image.user.name + " (uid " +
                                                         std::to_string(image.taken_uid) +
                                                         "): the uid belongs to ubuntu");
}

TEST_CASE("setup errors: a service binary that is not installed") {
  if (!prerequisites_met({})) return;
  ImageRoot image;
  image.settings["PATH"] = "/nonexistent";
  check_one_line_error(run_launcher(image.settings),
                       "failed to find program: sshd: not installed (searched PATH=/nonexistent)");
}

TEST_CASE("setup: the user and its home under LAUNCHER_ROOT, the command runs as the user") {
  if (!prerequisites_met({})) return;
  ImageRoot image;
  image.settings["LAUNCHER_SERVICE"] = "command";
  auto result = run_launcher(image.settings, {"sh", "-c", "id -u; id -g; echo $HOME; pwd"});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  auto home = image.directory.path() / "home" / image.user.name;
  auto uid = std::to_string(image.user.uid);
  CHECK(result.output.find(uid + "\n" + uid + "\n" + home.string() + "\n" + home.string() + "\n") != std::string::npos);
  // /bin/sh: this root has no /bin/bash
  CHECK(image.passwd().ends_with(image.user.name + ":x:" + uid + ":" + uid + "::/home/" + image.user.name +
                                 ":/bin/sh\n"));
  CHECK(read_text(image.directory.path() / "etc/shadow").find("\n" + image.user.name + ":*:") != std::string::npos);
  auto home_facts = file_facts(home);
  CHECK(home_facts.uid == image.user.uid);
  CHECK(home_facts.mode == 0700);

  SECTION("a second start (a restarted container) keeps the account as it is") {
    auto passwd = image.passwd();
    CHECK(run_launcher(image.settings, {"true"}).exit_status == 0);
    CHECK(image.passwd() == passwd);
  }
}

TEST_CASE("setup: uid 0 runs the command as root and leaves the account files alone") {
  if (!prerequisites_met({})) return;
  ImageRoot image;
  image.settings.insert_or_assign("LAUNCHER_SERVICE", std::string("command"));
  image.settings.insert_or_assign("LAUNCHER_UID", std::string(1, '0'));
  image.settings.insert_or_assign("LAUNCHER_GID", std::string(1, '0'));
  image.settings.insert_or_assign("LAUNCHER_USER", std::string("root"));
  auto passwd = image.passwd();
  auto shadow = read_text(image.directory.path() / "etc/shadow");
  auto result = run_launcher(image.settings, {"id", "-u"});
  INFO(result.output);
  CHECK(result.exit_status == 0);
  // The command's output and launcher-init's own lines interleave in either order.
  CHECK(("\n" + result.output).find("\n0\n") != std::string::npos);
  CHECK(image.passwd() == passwd);
  CHECK(read_text(image.directory.path() / "etc/shadow") == shadow);
}

TEST_CASE("setup: on a read-only root the user goes into the extrausers files and /etc stays as it is") {
  if (!prerequisites_met({})) return;
  ImageRoot image;
  image.settings["LAUNCHER_SERVICE"] = "command";
  image.settings["LAUNCHER_READ_ONLY_ROOT"] = "1";
  auto passwd = image.passwd();
  auto shadow = read_text(image.directory.path() / "etc/shadow");
  auto result = run_launcher(image.settings, {"true"});
  INFO(result.output);
  REQUIRE(result.exit_status == 0);
  auto extra = image.directory.path() / "run/launcher/extrausers";
  auto uid = std::to_string(image.user.uid);
  CHECK(read_text(extra / "passwd") ==
        image.user.name + ":x:" + uid + ":" + uid + "::/home/" + image.user.name + ":/bin/sh\n");
  CHECK(read_text(extra / "group") == image.user.name + ":x:" + uid + ":\n");
  CHECK(read_text(extra / "shadow").rfind(image.user.name + ":*:", 0) == 0);
  CHECK(file_facts(extra / "shadow").mode == 0600);
  CHECK(image.passwd() == passwd);
  CHECK(read_text(image.directory.path() / "etc/shadow") == shadow);
}
