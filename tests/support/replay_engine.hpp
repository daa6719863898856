#pragma once

// For the unit tests and the fuzz targets (no Catch2 here).

#include "engine/docker_engine.hpp"

namespace launcher::testing {

// The engine whose words replayed facts are asked in: Docker's, with a runner no replay calls.
inline const engine::Engine& replay_engine() {
  static const engine::DockerEngine engine(docker::Docker("docker"));
  return engine;
}

} // namespace launcher::testing
