// The main job, end to end: `launcher up` starts the real image, waits until the service
// answers, and `ps`, `exec`, `ssh-config` and `down` find it again. Needs the offline CPU
// image (`make image`).
#include <httplib.h>
#include <libssh/libssh.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "launcher_contract/contract.hpp"
#include "render/render.hpp"
#include "secrets/generate.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

struct SshSession {
  ssh_session session = ssh_new();
  ~SshSession() {
    ssh_disconnect(session);
    ssh_free(session);
  }
};

void connect(SshSession& ssh, int port, const std::string& user) {
  ssh_options_set(ssh.session, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(ssh.session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(ssh.session, SSH_OPTIONS_USER, user.c_str());
  ssh_options_set(ssh.session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  REQUIRE(ssh_connect(ssh.session) == SSH_OK);
}

std::string host_key_fingerprint(int port) {
  SshSession ssh;
  connect(ssh, port, "nobody");
  ssh_key key = nullptr;
  REQUIRE(ssh_get_server_publickey(ssh.session, &key) == SSH_OK);
  unsigned char* hash = nullptr;
  size_t length = 0;
  ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length);
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  std::string fingerprint = text;
  ssh_string_free_char(text);
  ssh_clean_pubkey_hash(&hash);
  ssh_key_free(key);
  return fingerprint;
}

std::string run_over_ssh(int port, const std::string& user, ssh_key key, const std::string& command) {
  SshSession ssh;
  connect(ssh, port, user);
  REQUIRE(ssh_userauth_publickey(ssh.session, nullptr, key) == SSH_AUTH_SUCCESS);
  ssh_channel channel = ssh_channel_new(ssh.session);
  REQUIRE(ssh_channel_open_session(channel) == SSH_OK);
  REQUIRE(ssh_channel_request_exec(channel, command.c_str()) == SSH_OK);
  std::string output;
  char buffer[4096];
  int n;
  while ((n = ssh_channel_read(channel, buffer, sizeof buffer, 0)) > 0)
    output.append(buffer, static_cast<std::size_t>(n));
  ssh_channel_send_eof(channel);
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  return output;
}

} // namespace

TEST_CASE("jupyter: up answers with the token only, files are the user's, down keeps unsaved work",
          "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  const TestUser user = test_user();
  dir.write("launcher.json", json{{"version", 1},
                                  {"profiles",
                                   {{"lab",
                                     {{"extends", "jupyter"},
                                      {"gpus", "none"},
                                      {"shm_size", "1g"},
                                      {"user", user.profile_user("e2e")},
                                      {"ports", {{{"host", "auto"}, {"container", 8888}}}}}}}}}
                                 .dump());
  // The project directory belongs to the user the profile names, as a real one does.
  REQUIRE(chown(dir.path.c_str(), user.uid, user.gid) == 0);
  SudoBy sudo(user.uid, user.gid); // root trusts the team file of a directory the user owns only as its sudo
  UpEnvironment env{dir, unique_name("lab")};
  json ready = up(dir, {"--profile", "lab", "--name", env.name});
  CHECK(ready["status"] == "ready");
  int port = ready["ports"][0]["host_port"];
  CHECK(ready["ports"][0]["host_ip"] == "127.0.0.1");

  std::string token = run_launcher(dir, {"secret", "show", env.name, "--json"}).out;
  token = json::parse(token)["jupyter_token"];
  CHECK(ready["url"] == "http://127.0.0.1:" + std::to_string(port) + "/?token=" + token);
  httplib::Client client("127.0.0.1", port);
  client.set_follow_location(true);
  auto login = client.Get(("/?token=" + token).c_str());
  REQUIRE(login);
  CHECK(login->status == 200);
  httplib::Client bare("127.0.0.1", port);
  CHECK(bare.Get("/api/status")->status == 403);
  CHECK(bare.Get("/api/status", {{"Authorization", "token wrong"}})->status == 403);
  CHECK(bare.Get("/api/status", {{"Authorization", "token " + token}})->status == 200);

  // Published on loopback only, and the token is nowhere in what Docker keeps.
  auto ports = launcher::process::run_process({docker(), "port", env.name, "8888/tcp"});
  CHECK(ports.out == "127.0.0.1:" + std::to_string(port) + "\n");
  CHECK(launcher::process::run_process({docker(), "inspect", env.name}).out.find(token) == std::string::npos);
  CHECK(launcher::process::run_process({docker(), "logs", env.name}).err.find(token) == std::string::npos);

  exec_in(dir, env.name, {"touch", "/workspace/made-inside"});
  struct stat info {};
  REQUIRE(stat((dir.path / "made-inside").c_str(), &info) == 0);
  CHECK(info.st_uid == user.uid);
  CHECK(info.st_gid == user.gid);
  CHECK(exec_in(dir, env.name, {"df", "--block-size=1", "--output=size", "/dev/shm"}).find(std::to_string(1LL << 30)) !=
        std::string::npos);

  json listed = json::parse(run_launcher(dir, {"ps", "--json"}).out);
  auto entry = std::find_if(listed.begin(), listed.end(), [&](const json& e) { return e["env"] == env.name; });
  REQUIRE(entry != listed.end());
  CHECK((*entry)["state"] == "running");
  CHECK((*entry)["status"].get<std::string>().rfind("Up ", 0) == 0);
  CHECK((*entry)["profile"] == "lab");
  CHECK((*entry)["gpus"] == "-");
  CHECK((*entry)["endpoints"] == "127.0.0.1:" + std::to_string(port) + "->8888/tcp");

  exec_in(dir, env.name, {"sh", "-c", "echo draft > /home/e2e/notes.txt"});
  auto refused = run_launcher(dir, {"down", env.name});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("/home/e2e/notes.txt") != std::string::npos);
  CHECK(refused.err.find("--force") != std::string::npos);
  CHECK(launcher::process::run_process({docker(), "inspect", env.name}).exit_code == 0);

  auto removed = run_launcher(dir, {"down", env.name, "--force"});
  CHECK(removed.exit_code == 0);
  CHECK(launcher::process::run_process({docker(), "inspect", env.name}).exit_code != 0);
  CHECK(std::filesystem::exists(dir.path / "made-inside")); // the volume's data stays on the host
}

TEST_CASE("ssh: key login runs torch, passwords are refused, the host key survives a recreate", "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  write_remote_profile(dir, client);
  UpEnvironment env{dir, unique_name("remote")};
  json ready = up(dir, {"--profile", "remote", "--name", env.name});
  int port = ready["ports"][0]["host_port"];
  std::string user = launcher::process::run_process({"id", "-un"}).out;
  user.pop_back();

  // The torch the image was labelled with (1.13 in the Debian image, 2.7.1 in the real one), found
  // by an SSH session's own PATH.
  std::string torch_label =
      launcher::process::run_process({docker(), "image", "inspect", "--format",
                                      "{{index .Config.Labels \"io.launcher.torch\"}}", lifecycle_image()})
          .out;
  torch_label.pop_back();
  CHECK(
      run_over_ssh(port, user, client.key, "python3 -c \"import torch; print(torch.__version__)\"").find(torch_label) ==
      0);
  {
    SshSession ssh;
    connect(ssh, port, user);
    CHECK(ssh_userauth_password(ssh.session, nullptr, "password") != SSH_AUTH_SUCCESS);
  }

  // ssh-config's Host block works with the system ssh client, host key checked, no prompt.
  std::filesystem::path key_file = dir.path / "id_ed25519";
  REQUIRE(ssh_pki_export_privkey_file(client.key, nullptr, nullptr, nullptr, key_file.c_str()) == SSH_OK);
  std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto config = run_launcher(dir, {"ssh-config", env.name});
  REQUIRE(config.exit_code == 0);
  dir.write("ssh_config", config.out + "  IdentityFile " + key_file.string() + "\n  IdentitiesOnly yes\n");
  auto batch = launcher::process::run_process({"ssh", "-F", (dir.path / "ssh_config").string(), "-o", "BatchMode=yes",
                                               "launcher-" + env.name, "echo", "via-ssh-config"});
  INFO(batch.err);
  CHECK(batch.out == "via-ssh-config\n");

  std::string before = host_key_fingerprint(port);
  REQUIRE(run_launcher(dir, {"down", env.name, "--force"}).exit_code == 0);
  json again = up(dir, {"--profile", "remote", "--name", env.name});
  CHECK(host_key_fingerprint(again["ports"][0]["host_port"]) == before);
}

// `launcher ssh ENV` from a terminal, as a person or VS Code's terminal uses it: the client runs
// under script(1) so it has a real terminal, and -tt makes sshd allocate a PTY, the login whose
// audit record sshd must write (without AUDIT_WRITE it ends the session at once).
TEST_CASE("ssh: launcher ssh with a terminal logs in on a PTY and runs a command in the shell", "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  write_remote_profile(dir, client, {{"user", test_user().profile_user("e2e")}});
  UpEnvironment env{dir, unique_name("pty")};
  up(dir, {"--profile", "remote", "--name", env.name});

  std::filesystem::path key_file = dir.path / "id_ed25519";
  REQUIRE(ssh_pki_export_privkey_file(client.key, nullptr, nullptr, nullptr, key_file.c_str()) == SSH_OK);
  std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // The quotes inside pty-''ok keep any echo of the command itself from passing for its output.
  std::string ssh_line =
      launcher::render::shell_words({launcher_binary(), "ssh", env.name, "--", "-tt", "-i", key_file.string(), "-o",
                                     "IdentitiesOnly=yes", "-o", "BatchMode=yes", "echo pty-''ok; tty; exit"});
  use_state_in(dir);
  launcher::process::ProcessOptions options;
  options.working_dir = dir.path.string();
  options.timeout = std::chrono::seconds(120); // a hang guard, not a measurement
  auto session = launcher::process::run_process({"script", "-qec", ssh_line, "/dev/null"}, options);
  std::string output = session.out + session.err;
  INFO(ssh_line);
  INFO(output);
  CHECK(session.exit_code == 0);
  CHECK(output.find("pty-ok") != std::string::npos);
  CHECK(output.find("/dev/pts/") != std::string::npos);
  CHECK(output.find("linux_audit_write_entry") == std::string::npos);
  auto logs = launcher::process::run_process({docker(), "logs", env.name});
  CHECK((logs.out + logs.err).find("linux_audit_write_entry") == std::string::npos);
}

TEST_CASE("up is idempotent and refuses a changed plan without --recreate", "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("shell")};
  json first = up(dir, {"--profile", "shell", "--name", env.name, "--gpus", "none"});
  json second = up(dir, {"--profile", "shell", "--name", env.name, "--gpus", "none"});
  CHECK(second["status"] == "ready");
  auto changed = run_launcher(dir, {"up", "--profile", "shell", "--name", env.name, "--gpus", "none", "--image",
                                    lifecycle_image(), "-e", "NEW=1"});
  CHECK(changed.exit_code == 1);
  CHECK(changed.err.find("runs a different plan:\n  environment: {} -> {\"NEW\":\"1\"}") != std::string::npos);
  CHECK(changed.err.find("--recreate") != std::string::npos);
  json recreated = up(dir, {"--profile", "shell", "--name", env.name, "--gpus", "none", "-e", "NEW=1", "--recreate"});
  CHECK(recreated["status"] == "ready");
  CHECK(exec_in(dir, env.name, {"printenv", "NEW"}) == "1\n");
}

TEST_CASE("up names a host port that is already in use", "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  httplib::Server blocker;
  int port = blocker.bind_to_any_port("127.0.0.1");
  auto result = run_launcher(dir, {"up", "--image", lifecycle_image(), "--name", unique_name("busy"), "--gpus", "none",
                                   "-p", std::to_string(port) + ":8888"});
  CHECK(result.exit_code == 1);
  CHECK(without_warnings(result.err) ==
        "launcher: error: host port " + std::to_string(port) +
            " on 127.0.0.1 is already in use by another program; free it, or let the launcher pick a free one "
            "with -p auto:8888 (\"host\": \"auto\" in the profile)\n");
}

TEST_CASE("up refuses GPUs on a host without a driver or toolkit, before starting anything", "[e2e][lifecycle]") {
  require_engine();
  TempDir dir;
  std::string name = unique_name("gpus");
  auto result = run_launcher(dir, {"up", "--gpus", "all", "--name", name, "--image", base_image()});
  CHECK(result.exit_code == 3);
  CHECK(without_warnings(result.err).find("launcher: error: pre-flight checks failed:\n  driver: no NVIDIA driver") ==
        0);
  CHECK(result.err.find("--skip-checks") != std::string::npos);
  CHECK(launcher::process::run_process({docker(), "inspect", name}).exit_code != 0);
}

TEST_CASE("ssh: code of the env user reads no host key and changes no authorized_keys, sshd forwards TCP only",
          "[e2e][lifecycle]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  write_remote_profile(dir, client, {{"user", test_user().profile_user("e2e")}});
  UpEnvironment env{dir, unique_name("sealed")};
  json ready = up(dir, {"--profile", "remote", "--name", env.name});
  const TestUser user = test_user();
  CHECK(run_over_ssh(ready["ports"][0]["host_port"], "e2e", client.key, "id -u") == std::to_string(user.uid) + "\n");

  // On a real host the secrets belong to the host user, whose uid the env user shares; the
  // tests run as root, so give them to the env user as a real install would.
  auto rendered =
      run_launcher(dir, {"render", "--json", "--profile", "remote", "--name", env.name, "--image", lifecycle_image()});
  REQUIRE(rendered.exit_code == 0);
  std::string secrets = json::parse(rendered.out)["plan"]["access"]["secrets_dir"];
  struct stat owner {};
  REQUIRE(stat(secrets.c_str(), &owner) == 0);
  struct RestoreOwner {
    std::string path, owner;
    ~RestoreOwner() { launcher::process::run_process({"chown", "-R", owner, path}); }
  } restore{secrets, std::to_string(owner.st_uid) + ":" + std::to_string(owner.st_gid)};
  REQUIRE(launcher::process::run_process({"chown", "-R", user.ids(), secrets}).exit_code == 0);
  std::string mounted_key = std::string(launcher::contract::mount::secrets_dir) + "/ssh_host_ed25519_key";
  auto as_root = [&](std::vector<std::string> command) {
    command.insert(command.begin(), {docker(), "exec", env.name});
    return launcher::process::run_process(command);
  };
  auto as_user = [&](std::vector<std::string> command) {
    command.insert(command.begin(), {docker(), "exec", "-u", user.ids(), env.name});
    return launcher::process::run_process(command);
  };
  CHECK(as_root({"stat", "-c", "%u", mounted_key}).out == std::to_string(user.uid) + "\n"); // the user owns it...
  CHECK(as_user({"cat", mounted_key}).exit_code != 0); // ...and still cannot reach it
  CHECK(as_user({"cat", "/run/launcher/ssh/ssh_host_ed25519_key"}).exit_code != 0);
  CHECK(as_user({"sh", "-c", "echo >> /run/launcher/ssh/authorized_keys"}).exit_code != 0);
  CHECK(as_user({"cat", "/run/launcher/ssh/authorized_keys"}).out == client.public_line + "\n");
  CHECK(as_root({"stat", "-c", "%u:%g %a", "/run/launcher/ssh/authorized_keys"}).out == "0:0 644\n");

  auto effective = as_root({"/usr/sbin/sshd", "-T", "-f", "/run/launcher/ssh/sshd_config"});
  INFO(effective.err);
  REQUIRE(effective.exit_code == 0);
  for (const char* line :
       {"allowagentforwarding no", "allowstreamlocalforwarding no", "permituserrc no", "allowtcpforwarding yes"})
    CHECK(effective.out.find(std::string("\n") + line + "\n") != std::string::npos);
}
