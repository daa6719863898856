#include <catch2/catch.hpp>

#include "accounts.hpp"
#include "error.hpp"

using namespace launcher_init;

namespace {

AccountFiles image_files() {
  return {"root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n",
          "root:x:0:\nusers:x:100:\nubuntu:x:1000:\n", "root:*:19000:0:99999:7:::\nubuntu:!:19000:0:99999:7:::\n",
          "root:*::\nusers:*::\nubuntu:!::\n"};
}

AccountRequest request(std::string name, uid_t uid, gid_t gid) {
  AccountRequest request;
  request.account = {name, uid, gid, "/home/" + name, "/bin/bash"};
  request.days_since_epoch = 20000;
  return request;
}

} // namespace

TEST_CASE("accounts: a new user gets a group, a home and a '*' password field") {
  auto change = add_account(image_files(), request("alice", 1001, 1001));
  CHECK(change.files.passwd == image_files().passwd + "alice:x:1001:1001::/home/alice:/bin/bash\n");
  CHECK(change.files.group == image_files().group + "alice:x:1001:\n");
  CHECK(change.files.gshadow == *image_files().gshadow + "alice:!::\n");
  CHECK(change.files.shadow == image_files().shadow + "alice:*:20000:0:99999:7:::\n");
  CHECK(change.account.home == "/home/alice");
}

TEST_CASE("accounts: an existing group with the gid is reused") {
  auto change = add_account(image_files(), request("alice", 1001, 100));
  CHECK(change.files.group == image_files().group);
  CHECK(change.files.passwd.ends_with("alice:x:1001:100::/home/alice:/bin/bash\n"));
}

TEST_CASE("accounts: a password hash goes into shadow only") {
  auto wanted = request("alice", 1001, 1001);
  wanted.password_field = "$y$j9T$salt$hash";
  auto change = add_account(image_files(), wanted);
  CHECK(change.files.shadow.ends_with("alice:$y$j9T$salt$hash:20000:0:99999:7:::\n"));
  CHECK(change.files.passwd.find("$y$") == std::string::npos);
}

TEST_CASE("accounts: a restarted container keeps the user and updates the password field") {
  auto first = add_account(image_files(), request("alice", 1001, 1001));
  auto second_request = request("alice", 1001, 1001);
  second_request.password_field = "$6$salt$hash";
  second_request.days_since_epoch = 20001;
  auto second = add_account(first.files, second_request);
  CHECK(second.files.passwd == first.files.passwd);
  CHECK(second.files.group == first.files.group);
  CHECK(second.files.shadow == image_files().shadow + "alice:$6$salt$hash:20000:0:99999:7:::\n");
}

TEST_CASE("accounts: a taken uid or name is an error naming the owner") {
  CHECK_THROWS_WITH(add_account(image_files(), request("alice", 1000, 1000)),
                    "failed to create user: alice (uid 1000): the uid belongs to ubuntu");
  CHECK_THROWS_WITH(add_account(image_files(), request("ubuntu", 1001, 1001)),
                    "failed to create user: ubuntu (uid 1001): the name belongs to uid 1000");
  auto files = image_files();
  files.group += "alice:x:2000:\n";
  CHECK_THROWS_WITH(add_account(files, request("alice", 1001, 1001)),
                    "failed to create group: alice (gid 1001): the name belongs to gid 2000");
}

TEST_CASE("accounts: files without a final newline and without gshadow") {
  AccountFiles files{"root:x:0:0:root:/root:/bin/bash", "root:x:0:", "root:*:1:0:99999:7:::", std::nullopt};
  auto change = add_account(files, request("alice", 1001, 1001));
  CHECK(change.files.passwd == "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n");
  CHECK_FALSE(change.files.gshadow);
}

TEST_CASE("accounts: find_account reads a passwd entry") {
  auto root = find_account(image_files().passwd, "root");
  REQUIRE(root);
  CHECK(root->uid == 0);
  CHECK(root->home == "/root");
  CHECK(root->shell == "/bin/bash");
  CHECK_FALSE(find_account(image_files().passwd, "nobody"));
}

TEST_CASE("accounts: password hashes that could break a shadow line are refused") {
  CHECK(password_hash_problem("$y$j9T$abc$def").empty());
  CHECK_FALSE(password_hash_problem("").empty());
  CHECK_FALSE(password_hash_problem("plaintext").empty());
  CHECK_FALSE(password_hash_problem("$6$a:b").empty());
  CHECK_FALSE(password_hash_problem("$6$a\nroot::0").empty());
}
