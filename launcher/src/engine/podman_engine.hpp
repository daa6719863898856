#pragma once

#include "engine/docker_engine.hpp"

namespace launcher::engine {

// Podman's CLI (4.3 and later, rootless or not): Docker's words except where Podman answers
// otherwise (tests/fixtures/podman/ holds its recorded answers).
class PodmanEngine final : public DockerEngine {
public:
  using DockerEngine::DockerEngine;

  EngineKind kind() const override { return EngineKind::podman; }

  render::ContainerCommand container_command(Launch launch, const plan::Plan& plan,
                                             const std::string& env_file) const override;
  std::vector<docker::ListedContainer> list_labelled(const std::string& label_filter,
                                                     const std::vector<std::string>& labels) const override;
  std::string changed_files(const std::string& container) const override;
  bool commit(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
              const std::string& action) const override;
  std::map<std::string, std::string> network_driver_options(const NetworkSpec& network) const override;
  // Podman builds with the Buildah it carries (no plugin, no setting), which builds the stages but
  // not the labels: always refused, asking nothing.
  std::optional<std::string> builder_missing() const override;
  std::vector<std::string> build_environment() const override { return {}; }
  std::optional<bool> any_running_labelled(const std::string& label_filter) const override;

protected:
  // Podman's template has no `.Label`: every label at once (docker::listing_format_all_labels).
  std::string listing_format(const std::vector<std::string>& labels) const override;
};

// Podman's `ps` `.State` is the status text ("Up About a minute ago", "Exited (1) 40 seconds
// ago"): Docker's word for it ("running", "exited", "created", "paused"), or the text lowered
// when it is none of those.
std::string podman_state(const std::string& status);

// Podman names an image loaded from Docker "docker.io/library/NAME:TAG" where Docker says
// "NAME:TAG": the name as the plan spells it.
std::string short_image_name(const std::string& image);

} // namespace launcher::engine
