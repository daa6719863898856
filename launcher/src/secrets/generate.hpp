#pragma once

#include <optional>
#include <string>

namespace launcher::secrets {

// 32 bytes from getrandom(2), hex: the Jupyter token.
std::string generate_token();

// 24 characters from getrandom(2) over an alphabet without look-alikes: a login password.
std::string generate_password();

// Jupyter Server's hash format, "argon2:$argon2id$v=19$...", made with libsodium.
std::string jupyter_password_hash(const std::string& password);

// A yescrypt crypt(3) hash ("$y$..."), as /etc/shadow holds it, made with libcrypt.
std::string crypt_password_hash(const std::string& password);

// Whether `password` is the one `hash` (either format above) was made from.
bool password_matches(const std::string& password, const std::string& hash);

struct HostKey {
  std::string private_key; // OpenSSH PEM
  std::string public_line; // "ssh-ed25519 AAAA... comment"
  std::string fingerprint; // "SHA256:..."
};

// An ed25519 host key made with libssh, so the launcher knows the fingerprint before any
// container starts.
HostKey generate_host_key(const std::string& comment);

// The stored host key read back with libssh; nullopt when the text is no private key.
std::optional<HostKey> read_host_key(const std::string& private_key, const std::string& comment);

// "SHA256:..." of an OpenSSH public key line; throws Error when libssh cannot read it.
std::string public_key_fingerprint(const std::string& public_line);

} // namespace launcher::secrets
