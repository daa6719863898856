#include "pin/pin.hpp"

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace launcher::pin {

using nlohmann::json;

std::optional<std::string> pinned_digest(const std::string& reference) {
  auto at = reference.find("@sha256:");
  if (at == std::string::npos) return std::nullopt;
  return reference.substr(at + 1);
}

std::string without_digest(const std::string& reference) { return reference.substr(0, reference.find('@')); }

std::string repository_of(const std::string& reference) {
  std::string name = without_digest(reference);
  // A tag's colon comes after the last slash; a registry's port colon comes before it.
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) name = name.substr(0, colon);
  return name;
}

std::optional<std::string> registry_digest(const json& image, const std::string& repository) {
  auto digests = JsonReader(image, "docker image inspect").find("RepoDigests");
  if (!digests) return std::nullopt;
  for (const auto& entry : digests->elements()) {
    std::string text = entry.string();
    if (repository_of(text) == repository) return text.substr(text.find('@') + 1);
  }
  return std::nullopt;
}

void verify_pinned_image(const engine::Engine& engine, const std::string& reference, const profile::Origin& origin) {
  auto pinned = pinned_digest(reference);
  if (!pinned) return;
  std::string repository = repository_of(reference);
  std::string exact = repository + "@" + *pinned;
  if (engine.inspect_image(exact)) return;
  std::string tag = without_digest(reference);
  auto local = engine.inspect_image(tag);
  std::string fetch = "get the pinned one with `" + std::string(engine.name()) + " pull " + exact + "`";
  if (!local)
    throw Error(ExitCode::failed, origin.describe() + ": the pinned image " + exact + " is not on this host; " + fetch);
  auto local_digest = registry_digest(*local, repository);
  throw Error(ExitCode::failed,
              origin.describe() + ": " + tag + " is pinned to " + *pinned + ", but the local " + tag + " is " +
                  (local_digest ? *local_digest
                                : "an image no registry gave a digest for (id " +
                                      JsonReader(*local, "docker image inspect").string_or("Id", "?") + ")") +
                  "; " + fetch + ", or pin the new one with `launcher pin`");
}

} // namespace launcher::pin
