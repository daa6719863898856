#include <catch2/catch.hpp>

#include <libssh/libssh.h>

#include <memory>
#include <regex>

#include "e2e_support.hpp"
#include "settings.hpp"

using namespace e2e;

namespace {

using SessionPointer = std::unique_ptr<ssh_session_struct, void (*)(ssh_session)>;
using KeyPointer = std::unique_ptr<ssh_key_struct, decltype(&ssh_key_free)>;

void close_session(ssh_session session) {
  ssh_disconnect(session);
  ssh_free(session);
}

// A connected client that has not authenticated; no config file, no known_hosts involved.
SessionPointer connect(std::uint16_t port, const std::string& user) {
  SessionPointer session(ssh_new(), &close_session);
  bool no = false;
  int port_number = port;
  ssh_options_set(session.get(), SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(session.get(), SSH_OPTIONS_PORT, &port_number);
  ssh_options_set(session.get(), SSH_OPTIONS_USER, user.c_str());
  ssh_options_set(session.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
  REQUIRE(ssh_connect(session.get()) == SSH_OK);
  return session;
}

KeyPointer import_private_key(const fs::path& path) {
  ssh_key key = nullptr;
  REQUIRE(ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) == SSH_OK);
  return {key, &ssh_key_free};
}

KeyPointer import_public_key(const fs::path& path) {
  ssh_key key = nullptr;
  REQUIRE(ssh_pki_import_pubkey_file(path.c_str(), &key) == SSH_OK);
  return {key, &ssh_key_free};
}

std::string run_remote(ssh_session session, const char* command) {
  std::unique_ptr<ssh_channel_struct, decltype(&ssh_channel_free)> channel(ssh_channel_new(session), &ssh_channel_free);
  REQUIRE(ssh_channel_open_session(channel.get()) == SSH_OK);
  REQUIRE(ssh_channel_request_exec(channel.get(), command) == SSH_OK);
  std::string output;
  char buffer[1024];
  int count;
  while ((count = ssh_channel_read(channel.get(), buffer, sizeof buffer, 0)) > 0)
    output.append(buffer, static_cast<std::size_t>(count));
  ssh_channel_send_eof(channel.get());
  ssh_channel_close(channel.get());
  return output;
}

} // namespace

TEST_CASE("ssh: pinned host key, key-only login for the one user, nothing ssh-audit fails") {
  if (!prerequisites_met({"sshd", "cp", "ssh-audit"})) return;
  Sandbox sandbox("ssh");
  auto launcher = sandbox.start();
  REQUIRE(wait_until([&] { return port_accepts(sandbox.ssh_port); }, 60s));
  INFO("launcher-init output at startup:\n" << launcher->output());

  SECTION("the image's own host keys are gone, the runtime files have the right owners") {
    for (const auto& entry : fs::directory_iterator(sandbox.outside("/etc/ssh"))) {
      CHECK_FALSE(entry.path().filename().string().starts_with("ssh_host_"));
    }
    auto keys = file_facts(sandbox.outside("/run/launcher/ssh/authorized_keys"));
    CHECK(keys.uid == 0);
    CHECK(keys.mode == 0644);
    auto sealed = file_facts(sandbox.secrets_dir.parent_path());
    CHECK(sealed.uid == 0);
    CHECK(sealed.mode == 0700);
    CHECK(file_facts(sandbox.secrets_dir / "ssh_host_ed25519_key").uid == sandbox.user.uid); // as the host's
    auto host_key = file_facts(sandbox.outside("/run/launcher/ssh/ssh_host_ed25519_key"));
    CHECK(host_key.uid == 0);
    CHECK(host_key.mode == 0600);
    auto shadow = read_text(sandbox.outside("/etc/shadow"));
    CHECK(shadow.find("\n" + sandbox.user.name + ":*:") != std::string::npos);
    auto sshd = child_named(launcher->pid(), "sshd");
    REQUIRE(sshd);
    CHECK(process_uid(*sshd) == 0);
  }

  SECTION("the client sees the pinned host key and only publickey is offered") {
    auto session = connect(sandbox.ssh_port, sandbox.user.name);
    ssh_key server_key = nullptr;
    REQUIRE(ssh_get_server_publickey(session.get(), &server_key) == SSH_OK);
    KeyPointer presented(server_key, &ssh_key_free);
    auto pinned = import_public_key(sandbox.secrets_dir / "ssh_host_ed25519_key.pub");
    CHECK(ssh_key_cmp(presented.get(), pinned.get(), SSH_KEY_CMP_PUBLIC) == 0);
    CHECK(ssh_userauth_none(session.get(), nullptr) == SSH_AUTH_DENIED);
    CHECK(ssh_userauth_list(session.get(), nullptr) == SSH_AUTH_METHOD_PUBLICKEY);
  }

  SECTION("password and keyboard-interactive are refused") {
    auto session = connect(sandbox.ssh_port, sandbox.user.name);
    CHECK(ssh_userauth_password(session.get(), nullptr, "password") == SSH_AUTH_DENIED);
    int keyboard = ssh_userauth_kbdint(session.get(), nullptr, nullptr);
    CHECK((keyboard == SSH_AUTH_DENIED || keyboard == SSH_AUTH_ERROR));
  }

  SECTION("the test key logs in as the user and runs a command") {
    auto session = connect(sandbox.ssh_port, sandbox.user.name);
    auto key = import_private_key(sandbox.client_key);
    REQUIRE(ssh_userauth_publickey(session.get(), nullptr, key.get()) == SSH_AUTH_SUCCESS);
    CHECK(run_remote(session.get(), "id -un; id -u; pwd") ==
          sandbox.user.name + "\n" + std::to_string(sandbox.user.uid) + "\n/home/" + sandbox.user.name + "\n");
  }

  SECTION("the user reads neither copy of the host key and cannot change who may log in") {
    auto session = connect(sandbox.ssh_port, sandbox.user.name);
    auto key = import_private_key(sandbox.client_key);
    REQUIRE(ssh_userauth_publickey(session.get(), nullptr, key.get()) == SSH_AUTH_SUCCESS);
    const std::string mounted_key = (launcher_init::Settings{}.secrets_dir / "ssh_host_ed25519_key").string();
    const std::string probes = "cat " + mounted_key +
                               " >/dev/null 2>&1 && echo read-mounted-key; "
                               "cat /run/launcher/ssh/ssh_host_ed25519_key >/dev/null 2>&1 && echo read-host-key; "
                               "(echo >> /run/launcher/ssh/authorized_keys) 2>/dev/null && echo appended-key; "
                               "touch /run/launcher/ssh/new 2>/dev/null && echo created-file; "
                               "cat /run/launcher/ssh/authorized_keys >/dev/null && echo read-authorized-keys";
    CHECK(run_remote(session.get(), probes.c_str()) == "read-authorized-keys\n");
  }

  SECTION("root is refused even with an authorized key") {
    auto session = connect(sandbox.ssh_port, "root");
    auto key = import_private_key(sandbox.client_key);
    CHECK(ssh_userauth_publickey(session.get(), nullptr, key.get()) == SSH_AUTH_DENIED);
  }

  SECTION("ssh-audit reports no failure") {
    auto audit = run_program({"ssh-audit", "-n", "-p", std::to_string(sandbox.ssh_port), "127.0.0.1"});
    INFO(audit.output);
    CHECK((audit.exit_status == 0 || audit.exit_status == 2)); // 3: a failure, 1: no connection
    std::regex failure_mark(R"(\[fail\]|\(fail\)|-- \[fail)");
    CHECK_FALSE(std::regex_search(audit.output, failure_mark));
    CHECK(audit.output.find("ssh-ed25519") != std::string::npos);
    int warnings = 0;
    for (auto line = audit.output.find("[warn]"); line != std::string::npos;
         line = audit.output.find("[warn]", line + 1))
      ++warnings;
    WARN("ssh-audit summary: exit status " << audit.exit_status << ", 0 failures, " << warnings << " warnings");
  }

  SECTION("health answers 0 while sshd runs") { CHECK(run_launcher(sandbox.settings, {"health"}).exit_status == 0); }
}
