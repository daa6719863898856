#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/unsaved.hpp"

namespace launcher::lifecycle {

// `<image repository>:<tag>-snapshot-<env>-<yyyymmdd-hhmm>` (UTC) for a container of `image`
// ("repo:tag", "repo@sha256:...", "repo:tag@sha256:..."; no tag reads as "latest"). Pure.
std::string default_snapshot_tag(const std::string& image, const std::string& env, std::time_t when);

// Why Docker would refuse `reference` as an image name (repository[:tag], lowercase path
// components, a tag of at most 128 letters, digits, '_', '.', '-'), or "" when it would not.
std::string image_reference_problem(const std::string& reference);

// What `snapshot` prints: the snapshot, and commands that use, share and pin it (`pin` pins a
// profile's image, so the tag goes into the profile `profile` of the team file first). Pure.
std::string snapshot_hints(const std::string& env, const std::string& tag, const std::string& id,
                           const std::string& profile);

// The `docker commit --change` instructions that give the snapshot its image's own environment
// back. A commit keeps every variable of the container's Config.Env (`-e`, the profile's `env`,
// the launcher's LAUNCHER_* settings) and no instruction removes one: a variable the image has is
// set back to the image's value, any other is emptied ("NAME="), and the launcher's switches read
// "0" (off; an empty one stops launcher-init). `up` sets them all again from the profile. Pure;
// an Error names a variable that an ENV instruction cannot write.
std::vector<std::string> environment_changes(const std::vector<std::string>& image_environment,
                                             const std::vector<std::string>& container_environment);

// The secret path an `--include` argument names, absolute in the container: `~/P`, a path
// relative to the env's home (the first of `homes`, see secret_homes), an absolute one, or one
// under `host_home` (the shell expanded `~` on the host) read as under the env's home. It must
// be one of home_secret_patterns (or match one) in one of `homes`; an Error says what to name
// instead. Pure.
std::string included_secret_path(const std::string& argument, const std::vector<std::string>& homes,
                                 const std::string& host_home);
// Whether `path` (a secret path found in the container) is one that `included` names.
bool is_included(const std::string& path, const std::vector<std::string>& included);

// The record of an env's last snapshot (host::StateLayout::last_snapshot): which container it
// was taken of, the image it made, and the work it held. Pure; a record that is not one reads
// as none (it only ever adds a note).
struct SnapshotRecord {
  std::string container_id;
  std::string image_id;
  SnapshotHeld held;
};
nlohmann::json snapshot_record_json(const SnapshotRecord& record);
std::optional<SnapshotRecord> parse_snapshot_record(const std::string& text);

// Writes the record into the env's state directory.
void record_snapshot(const host::StateLayout& layout, const SnapshotRecord& record);

// The snapshot recorded for this very container, while its image is still here under the same
// tag and id; nullopt otherwise.
std::optional<SnapshotHeld> snapshot_holding(const engine::Engine& engine, const host::StateLayout& layout,
                                             const nlohmann::json& container);

// While it lives, the image's package record (package_record) in the running container says the
// container's own packages, as its user lists them: a commit then carries a baseline that an env
// started from it is compared with. The image's record is put back at the end. Nothing happens
// in a stopped container or one whose image records no packages (`rewritten()` says which).
class PackageBaseline {
public:
  PackageBaseline(const engine::Engine& engine, const nlohmann::json& container);
  ~PackageBaseline();
  PackageBaseline(const PackageBaseline&) = delete;
  PackageBaseline& operator=(const PackageBaseline&) = delete;
  bool rewritten() const { return rewritten_; }

private:
  static constexpr const char* saved = "/run/launcher/packages.before-snapshot.json";
  const engine::Engine& engine_;
  std::string container_;
  bool rewritten_ = false;
};

// For a commit, the secret files are moved onto the container's tmpfs (/run/launcher), which no
// commit holds, and put back after: `runner` copies each (`cp -a`, owners, modes and links kept)
// and deletes it only once the copy is whole. The runner is the env's user ("UID:GID") for its own
// home, so that nothing it can plant there (a link, a file written during the snapshot) is followed
// by root; "0" only for root's home, which no other user can write. A stash an interrupted snapshot
// left behind is put back first. Nothing happens without `paths`; a path whose directory is reached
// through a symbolic link, or one that cannot be copied, is an Error after all are put back.
class SecretStash {
public:
  SecretStash(const engine::Engine& engine, std::string container, const std::vector<std::string>& paths,
              std::string runner);
  ~SecretStash();
  SecretStash(const SecretStash&) = delete;
  SecretStash& operator=(const SecretStash&) = delete;
  // Puts every path back (nothing to do without paths); the paths a stashed copy went to instead of its own, because a
  // new file took its place meanwhile (as PATH.before-snapshot). Throws when one could not be put back.
  std::vector<std::string> restore();

  // Where root's stash goes, and the user's (made by root, then the user's own: /run/launcher is root's).
  static constexpr const char* directory = "/run/launcher/snapshot-stash";
  static constexpr const char* user_directory = "/run/launcher/snapshot-stash-user";
  // The shell scripts run in the container as the runner: `sh -c SCRIPT sh DIRECTORY [PATH...]`;
  // the user's directory is made by root with `sh -c SCRIPT sh DIRECTORY UID:GID`.
  static const char* const stash_script;
  static const char* const restore_script;
  static const char* const user_directory_script;

private:
  const engine::Engine& engine_;
  std::string container_;
  std::string runner_;
  std::string directory_;
  bool stashed_ = false;
};

} // namespace launcher::lifecycle
