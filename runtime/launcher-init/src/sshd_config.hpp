#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "settings.hpp"

namespace launcher_init {

struct SshdOptions {
  std::string user;
  std::uint16_t port = 22;
  std::optional<std::string> listen_address; // nullopt: all interfaces
  std::string host_key_path;
  std::string authorized_keys_path;
  bool password_login = false; // only when the profile delivered a password hash
  SshForwarding forwarding;
};

// A complete sshd_config: key-only unless password_login, one allowed user, algorithms that
// ssh-audit rates good on OpenSSH 9.2.
std::string render_sshd_config(const SshdOptions& options);

} // namespace launcher_init
