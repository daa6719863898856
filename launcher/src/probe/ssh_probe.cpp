#include <libssh/libssh.h>

#include <memory>

#include "core/text.hpp"
#include "probe/probe.hpp"

namespace launcher::probe {

namespace {

struct SessionDeleter {
  void operator()(ssh_session session) const {
    ssh_disconnect(session);
    ssh_free(session);
  }
};
struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Session = std::unique_ptr<std::remove_pointer_t<ssh_session>, SessionDeleter>;
using Key = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

Key import_public_line(const std::string& line) {
  std::vector<std::string> fields = split(line, ' ');
  ssh_key key = nullptr;
  if (fields.size() < 2 ||
      ssh_pki_import_pubkey_base64(fields[1].c_str(), ssh_key_type_from_name(fields[0].c_str()), &key) != SSH_OK)
    return nullptr;
  return Key(key);
}

} // namespace

Observation probe_ssh(const std::string& host, int port, const std::string& user, const std::string& pinned_public_line,
                      bool password_allowed) {
  Key pinned = import_public_line(pinned_public_line);
  if (!pinned)
    return {Observation::State::broken, "the pinned host key cannot be read: " + quote_for_message(pinned_public_line)};
  Session session(ssh_new());
  long timeout_seconds = 2;
  ssh_options_set(session.get(), SSH_OPTIONS_HOST, host.c_str());
  ssh_options_set(session.get(), SSH_OPTIONS_PORT, &port);
  ssh_options_set(session.get(), SSH_OPTIONS_USER, user.c_str());
  ssh_options_set(session.get(), SSH_OPTIONS_TIMEOUT, &timeout_seconds);
  // Only the pinned key type is acceptable, and no known_hosts file is consulted or written.
  ssh_options_set(session.get(), SSH_OPTIONS_HOSTKEYS, "ssh-ed25519");
  ssh_options_set(session.get(), SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  if (ssh_connect(session.get()) != SSH_OK)
    return {Observation::State::waiting, std::string("no SSH handshake yet (") + ssh_get_error(session.get()) + ")"};

  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session.get(), &raw) != SSH_OK)
    return {Observation::State::waiting, "no host key offered yet"};
  Key offered(raw);
  if (ssh_key_cmp(offered.get(), pinned.get(), SSH_KEY_CMP_PUBLIC) != 0)
    return {Observation::State::broken, "sshd presents a host key that is not the pinned one"};

  ssh_userauth_none(session.get(), nullptr);
  int methods = ssh_userauth_list(session.get(), nullptr);
  int expected = SSH_AUTH_METHOD_PUBLICKEY | (password_allowed ? SSH_AUTH_METHOD_PASSWORD : 0);
  if (methods != expected)
    return {Observation::State::broken, "sshd offers authentication methods " + std::to_string(methods) +
                                            ", expected " + std::to_string(expected) +
                                            (password_allowed ? " (publickey and password)" : " (publickey only)")};
  return {Observation::State::ready,
          "pinned host key, " + std::string(password_allowed ? "publickey and password" : "publickey only")};
}

} // namespace launcher::probe
