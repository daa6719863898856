#include <catch2/catch.hpp>

#include "sshd_config.hpp"

using namespace launcher_init;

namespace {

SshdOptions alice() {
  SshdOptions options;
  options.user = "alice";
  options.host_key_path = "/run/launcher/ssh/ssh_host_ed25519_key";
  options.authorized_keys_path = "/run/launcher/ssh/authorized_keys";
  return options;
}

bool has_line(const std::string& config, const std::string& line) {
  return config.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("sshd_config: key-only for the one user") {
  auto config = render_sshd_config(alice());
  for (const char* line :
       {"Port 22", "HostKey /run/launcher/ssh/ssh_host_ed25519_key", "AllowUsers alice", "PermitRootLogin no",
        "AuthorizedKeysFile /run/launcher/ssh/authorized_keys", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "AuthenticationMethods publickey", "KbdInteractiveAuthentication no", "PermitEmptyPasswords no", "UsePAM no",
        "MaxAuthTries 3", "X11Forwarding no", "PermitUserEnvironment no", "HostKeyAlgorithms ssh-ed25519"}) {
    CHECK(has_line(config, line));
  }
  CHECK(config.find("ListenAddress") == std::string::npos);
}

TEST_CASE("sshd_config: modern algorithms only") {
  auto config = render_sshd_config(alice());
  CHECK(has_line(config, "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
                         "curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512"));
  CHECK(has_line(config, "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,"
                         "aes128-gcm@openssh.com,aes128-ctr"));
  CHECK(has_line(config, "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com"));
  for (const char* weak : {"sha1", "cbc", "group14", "group-exchange", "ecdsa", "rsa"}) {
    CHECK(config.find(weak) == std::string::npos);
  }
}

TEST_CASE("sshd_config: password login only with a delivered hash") {
  auto options = alice();
  options.password_login = true;
  auto config = render_sshd_config(options);
  CHECK(has_line(config, "PasswordAuthentication yes"));
  CHECK(has_line(config, "AuthenticationMethods publickey password"));
  CHECK(has_line(config, "KbdInteractiveAuthentication no"));
}

TEST_CASE("sshd_config: root with a key when root is the user, port and address from settings") {
  auto options = alice();
  options.user = "root";
  options.port = 40022;
  options.listen_address = "127.0.0.1";
  auto config = render_sshd_config(options);
  CHECK(has_line(config, "PermitRootLogin prohibit-password"));
  CHECK(has_line(config, "AllowUsers root"));
  CHECK(has_line(config, "Port 40022"));
  CHECK(has_line(config, "ListenAddress 127.0.0.1"));
}

TEST_CASE("sshd_config: agent and stream-local forwarding and ~/.ssh/rc off by default, TCP forwarding on") {
  auto config = render_sshd_config(alice());
  for (const char* line :
       {"AllowAgentForwarding no", "AllowStreamLocalForwarding no", "PermitUserRC no", "AllowTcpForwarding yes"}) {
    CHECK(has_line(config, line));
  }
}

TEST_CASE("sshd_config: each forwarding switch turns on alone") {
  auto agent = alice();
  agent.forwarding.agent = true;
  auto config = render_sshd_config(agent);
  CHECK(has_line(config, "AllowAgentForwarding yes"));
  CHECK(has_line(config, "AllowStreamLocalForwarding no"));
  CHECK(has_line(config, "PermitUserRC no"));

  auto stream_local = alice();
  stream_local.forwarding.stream_local = true;
  config = render_sshd_config(stream_local);
  CHECK(has_line(config, "AllowAgentForwarding no"));
  CHECK(has_line(config, "AllowStreamLocalForwarding yes"));

  auto user_rc = alice();
  user_rc.forwarding.user_rc = true;
  config = render_sshd_config(user_rc);
  CHECK(has_line(config, "PermitUserRC yes"));
  CHECK(has_line(config, "AllowAgentForwarding no"));
}
