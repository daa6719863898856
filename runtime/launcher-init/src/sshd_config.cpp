#include "sshd_config.hpp"

namespace launcher_init {

std::string render_sshd_config(const SshdOptions& options) {
  const bool root = options.user == "root";
  std::string config = "# Written by launcher-init at every start; edits are lost.\n";
  auto set = [&config](std::string_view keyword, std::string_view value) {
    config.append(keyword).append(" ").append(value).append("\n");
  };
  set("Port", std::to_string(options.port));
  if (options.listen_address) set("ListenAddress", *options.listen_address);
  set("HostKey", options.host_key_path);
  set("HostKeyAlgorithms", "ssh-ed25519");
  // ssh-audit's hardening guide for Debian 12, less diffie-hellman-group-exchange-sha256,
  // whose strength depends on /etc/ssh/moduli (2048-bit groups in Debian's file).
  set("KexAlgorithms", "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
                       "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512");
  set("Ciphers", "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,"
                 "aes128-gcm@openssh.com,aes128-ctr");
  set("MACs", "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com");
  set("AllowUsers", options.user);
  // Root may log in with a key only when root is the configured user.
  set("PermitRootLogin", root ? "prohibit-password" : "no");
  set("AuthorizedKeysFile", options.authorized_keys_path);
  set("PubkeyAuthentication", "yes");
  set("PasswordAuthentication", options.password_login ? "yes" : "no");
  set("AuthenticationMethods", options.password_login ? "publickey password" : "publickey");
  set("KbdInteractiveAuthentication", "no");
  set("PermitEmptyPasswords", "no");
  // Without PAM, sshd reads the shadow entry itself; "*" there keeps key logins working.
  set("UsePAM", "no");
  set("StrictModes", "yes");
  set("MaxAuthTries", "3");
  set("LoginGraceTime", "30");
  set("PerSourceMaxStartups", "4");
  set("X11Forwarding", "no");
  // A forwarded agent or socket is reachable by every process of the user in the container, and
  // ~/.ssh/rc is a login hook that code in the environment could plant: each off unless asked for.
  auto yes_no = [](bool on) { return on ? "yes" : "no"; };
  set("AllowAgentForwarding", yes_no(options.forwarding.agent));
  set("AllowStreamLocalForwarding", yes_no(options.forwarding.stream_local));
  set("PermitUserRC", yes_no(options.forwarding.user_rc));
  set("AllowTcpForwarding", "yes"); // VS Code Remote-SSH tunnels its server through it
  set("PermitUserEnvironment", "no");
  set("PrintMotd", "no");
  set("PidFile", "none");
  set("Subsystem", "sftp internal-sftp");
  return config;
}

} // namespace launcher_init
