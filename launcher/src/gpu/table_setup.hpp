#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gpu/shared_table.hpp"

// `launcher setup-host`: the admin's one-time step that makes the shared GPU table. A pure
// planner says which steps the host lacks; the executor carries them out, so that a test runs
// it in a temporary tree as its own user, and never adds a group to the machine it runs on.
namespace launcher::gpu {

// Where and for whom the table is made.
struct TableSetupTarget {
  std::filesystem::path dir; // the table's directory; missing parents are made too (mode 755)
  std::string group = shared_table_group;
  uid_t owner = 0;              // root; under a test's --root, the invoking user
  bool may_create_group = true; // false under --root: a test adds no group to the host
};

// What lstat says of a path.
struct PathFacts {
  mode_t mode = 0; // type and permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  nlink_t links = 1;
};

// What the host has of the target now.
struct TableSetupFacts {
  std::optional<gid_t> group; // the group's gid, when it exists
  std::optional<PathFacts> dir;
  std::optional<PathFacts> lock; // <dir>/.lock
};

enum class SetupAction { create_group, create_directory, create_lock_file, set_directory_group, set_directory_mode };

struct SetupStep {
  SetupAction action;
  std::string text; // as setup-host says it: "create group launcher (groupadd --system launcher)"

  bool operator==(const SetupStep&) const = default;
};

TableSetupFacts read_table_setup_facts(const TableSetupTarget& target);

// The steps that make the target what the table needs: the group, the directory (owner:group, mode
// 3775) and its lock file (owner's, mode 644); none for what is right already. The directory is
// made private first and opened to the group last, after its lock file exists. An Error for what
// it will not repair: a directory that is a link or no directory or belongs to another user, a lock
// file that is not a regular file of the owner with one link and mode 644 (someone may have planted
// either: it must be removed), a group missing where it may not create one.
std::vector<SetupStep> plan_table_setup(const TableSetupTarget& target, const TableSetupFacts& facts);

// Carries out the steps in order (a group by `groupadd --system`), saying each one on `out`.
void execute_table_setup(const TableSetupTarget& target, const std::vector<SetupStep>& steps, std::ostream& out);

} // namespace launcher::gpu
