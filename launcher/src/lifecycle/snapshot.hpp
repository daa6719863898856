#pragma once

#include <ctime>
#include <string>

namespace launcher::lifecycle {

// `<image repository>:<tag>-snapshot-<env>-<yyyymmdd-hhmm>` (UTC) for a container of `image`
// ("repo:tag", "repo@sha256:...", "repo:tag@sha256:..."; no tag reads as "latest"). Pure.
std::string default_snapshot_tag(const std::string& image, const std::string& env, std::time_t when);

// Why Docker would refuse `reference` as an image name (repository[:tag], lowercase path
// components, a tag of at most 128 letters, digits, '_', '.', '-'), or "" when it would not.
std::string image_reference_problem(const std::string& reference);

} // namespace launcher::lifecycle
