#pragma once

#include <ctime>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "docker/docker.hpp"
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
std::optional<SnapshotHeld> snapshot_holding(const docker::Docker& docker, const host::StateLayout& layout,
                                             const nlohmann::json& container);

// While it lives, the image's package record (package_record) in the running container says the
// container's own packages, as its user lists them: a commit then carries a baseline that an env
// started from it is compared with. The image's record is put back at the end. Nothing happens
// in a stopped container or one whose image records no packages (`rewritten()` says which).
class PackageBaseline {
public:
  PackageBaseline(const docker::Docker& docker, const nlohmann::json& container);
  ~PackageBaseline();
  PackageBaseline(const PackageBaseline&) = delete;
  PackageBaseline& operator=(const PackageBaseline&) = delete;
  bool rewritten() const { return rewritten_; }

private:
  static constexpr const char* saved = "/run/launcher/packages.before-snapshot.json";
  const docker::Docker& docker_;
  std::string container_;
  bool rewritten_ = false;
};

} // namespace launcher::lifecycle
