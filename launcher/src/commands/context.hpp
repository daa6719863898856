#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "docker/docker.hpp"
#include "facts/facts.hpp"
#include "gpu/lock.hpp"
#include "gpu/shared_table.hpp"

namespace launcher::commands {

// What every subcommand may use: global options, where output goes, and the seams to the
// outside (Docker, the host's facts, time) that the commands' unit tests replace.
struct Context {
  std::string docker = "docker"; // --docker or $LAUNCHER_DOCKER: the Docker CLI to spawn
  std::string docker_timeout;    // $LAUNCHER_DOCKER_TIMEOUT as given ("" when unset): docker::call_limit
  std::ostream* out = nullptr;
  std::ostream* err = nullptr; // progress and notices; results go to `out`
  docker::CliRunner docker_runner = docker::spawn_cli;
  facts::LiveFactSource live_facts;
  facts::FactSource* facts = &live_facts; // what host questions (nvidia-smi, docker info) are asked of
  const Clock* clock = &system_clock();
  std::filesystem::path gpu_table; // the GPU table `up` and `down` share; empty: gpu::default_lock_file
  // The shared GPU table of rootless engines (gpu/shared_table): the engine choice sets it
  // (gpu::live_shared_table()) when the engine is Podman; nullopt: Docker's labels are the truth.
  std::optional<gpu::SharedTable> shared_gpu_table;

  std::filesystem::path gpu_table_for(const std::filesystem::path& state_home) const {
    return gpu_table.empty() ? gpu::default_lock_file(state_home) : gpu_table;
  }

  docker::Docker docker_cli() const { return docker::Docker(docker, docker_runner, docker_timeout); }
};

} // namespace launcher::commands
