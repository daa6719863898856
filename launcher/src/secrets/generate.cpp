#include "secrets/generate.hpp"

#include <crypt.h>
#include <libssh/libssh.h>
#include <sodium.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::secrets {

namespace {

void random_bytes(unsigned char* buffer, std::size_t size) {
  for (std::size_t filled = 0; filled < size;) {
    ssize_t n = getrandom(buffer + filled, size - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ExitCode::failed, std::string("failed to read random bytes: getrandom: ") + std::strerror(errno));
    filled += static_cast<std::size_t>(n);
  }
}

struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

struct CStringDeleter {
  void operator()(char* text) const { ssh_string_free_char(text); }
};
using SshText = std::unique_ptr<char, CStringDeleter>;

std::string fingerprint_of(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK)
    throw Error(ExitCode::failed, "failed to hash an SSH public key: libssh");
  SshText text(ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length));
  ssh_clean_pubkey_hash(&hash);
  return text.get();
}

std::string public_line_of(ssh_key key, const std::string& comment) {
  char* base64 = nullptr;
  if (ssh_pki_export_pubkey_base64(key, &base64) != SSH_OK)
    throw Error(ExitCode::failed, "failed to export an SSH public key: libssh");
  SshText owned(base64);
  return std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + base64 + (comment.empty() ? "" : " " + comment);
}

} // namespace

std::string generate_token() {
  std::array<unsigned char, 32> bytes{};
  random_bytes(bytes.data(), bytes.size());
  std::array<char, bytes.size() * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  sodium_memzero(bytes.data(), bytes.size());
  return hex.data();
}

std::string generate_password() {
  static constexpr std::string_view alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string password;
  while (password.size() < 24) {
    unsigned char byte = 0;
    random_bytes(&byte, 1);
    // Rejection keeps every character equally likely.
    if (byte < 256 - 256 % alphabet.size()) password += alphabet[byte % alphabet.size()];
  }
  return password;
}

std::string jupyter_password_hash(const std::string& password) {
  if (sodium_init() < 0) throw Error(ExitCode::failed, "failed to initialise libsodium");
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  if (crypto_pwhash_str_alg(hash.data(), password.c_str(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw Error(ExitCode::failed, "failed to hash the Jupyter password: out of memory");
  return std::string("argon2:") + hash.data();
}

std::string crypt_password_hash(const std::string& password) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt.data(), static_cast<int>(salt.size())))
    throw Error(ExitCode::failed, std::string("failed to make a yescrypt salt: libcrypt: ") + std::strerror(errno));
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt.data(), &data, sizeof data);
  if (!hash || hash[0] == '*') throw Error(ExitCode::failed, "failed to hash the login password: libcrypt");
  std::string result = hash;
  sodium_memzero(&data, sizeof data);
  return result;
}

bool password_matches(const std::string& password, const std::string& hash) {
  if (starts_with(hash, "argon2:")) {
    if (sodium_init() < 0) throw Error(ExitCode::failed, "failed to initialise libsodium");
    return crypto_pwhash_str_verify(hash.c_str() + 7, password.c_str(), password.size()) == 0;
  }
  crypt_data data{};
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), &data, sizeof data);
  bool matches = computed && computed[0] != '*' && hash == computed;
  sodium_memzero(&data, sizeof data);
  return matches;
}

HostKey generate_host_key(const std::string& comment) {
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK)
    throw Error(ExitCode::failed, "failed to generate an ed25519 host key: libssh");
  Key key(raw);
  char* pem = nullptr;
  if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &pem) != SSH_OK)
    throw Error(ExitCode::failed, "failed to export the host key: libssh");
  HostKey host_key{pem, public_line_of(key.get(), comment), fingerprint_of(key.get())};
  sodium_memzero(pem, std::strlen(pem));
  ssh_string_free_char(pem);
  return host_key;
}

std::optional<HostKey> read_host_key(const std::string& private_key, const std::string& comment) {
  ssh_key raw = nullptr;
  if (ssh_pki_import_privkey_base64(private_key.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
    return std::nullopt;
  Key key(raw);
  return HostKey{private_key, public_line_of(key.get(), comment), fingerprint_of(key.get())};
}

std::string public_key_fingerprint(const std::string& public_line) {
  std::vector<std::string> fields = split(public_line, ' ');
  if (fields.size() < 2) throw Error(ExitCode::usage, "not an OpenSSH public key: " + quote_for_message(public_line));
  ssh_key raw = nullptr;
  if (ssh_pki_import_pubkey_base64(fields[1].c_str(), ssh_key_type_from_name(fields[0].c_str()), &raw) != SSH_OK)
    throw Error(ExitCode::usage, "not an OpenSSH public key: " + quote_for_message(public_line));
  Key key(raw);
  return fingerprint_of(key.get());
}

} // namespace launcher::secrets
