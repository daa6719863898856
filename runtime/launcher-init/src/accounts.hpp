#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace launcher_init {

// The text of the account files, edited as text so that every other line stays as it was.
struct AccountFiles {
  std::string passwd;
  std::string group;
  std::string shadow;
  std::optional<std::string> gshadow; // absent on images without it
};

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

struct AccountRequest {
  Account account;
  // The shadow password field: "*" (key-only: unlike "!", it does not lock out public keys
  // when sshd runs with UsePAM no) or a crypt(3) hash.
  std::string password_field = "*";
  long days_since_epoch = 0; // the shadow "last change" field
};

struct AccountChange {
  AccountFiles files;
  Account account; // as recorded, which differs from the request when the user already existed
};

std::optional<Account> find_account(std::string_view passwd, std::string_view name);

// Adds the user (and a group named after it when no group has the gid yet), or, when the same
// name and uid already exist (a restarted container), keeps them and only sets the password field.
// Throws when the uid or the name belongs to someone else.
AccountChange add_account(const AccountFiles& files, const AccountRequest& request);

// A crypt(3) hash that can go into a shadow line; "" when it is acceptable.
std::string password_hash_problem(std::string_view hash);

} // namespace launcher_init
