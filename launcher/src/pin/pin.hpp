#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "profile/origin.hpp"

namespace launcher::pin {

// Image references, pure: "registry:5000/team/img:tag@sha256:abc".
std::optional<std::string> pinned_digest(const std::string& reference); // "sha256:abc"
std::string without_digest(const std::string& reference);               // "registry:5000/team/img:tag"
std::string repository_of(const std::string& reference);                // "registry:5000/team/img"

// The digest a registry gave this repository, from `docker image inspect`'s RepoDigests.
std::optional<std::string> registry_digest(const nlohmann::json& image, const std::string& repository);

// A pinned image must be here with exactly its digest: refused otherwise with both digests
// and the command that fetches the pinned one. Unpinned references pass untouched.
void verify_pinned_image(const engine::Engine& engine, const std::string& reference, const profile::Origin& origin);

} // namespace launcher::pin
