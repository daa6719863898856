#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "docker/docker.hpp"
#include "engine/choice.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "gpu/lock.hpp"
#include "gpu/shared_table.hpp"
#include "host/host_facts.hpp"

namespace launcher::commands {

// What every subcommand may use: global options, where output goes, and the seams to the
// outside (Docker, the host's facts, time) that the commands' unit tests replace.
struct Context {
  std::string docker;         // --docker or $LAUNCHER_DOCKER: the engine's CLI to spawn ("": the engine's name)
  std::string docker_timeout; // $LAUNCHER_DOCKER_TIMEOUT as given ("" when unset): docker::call_limit
  // Where the engine is chosen (engine::choose_engine): --engine, $LAUNCHER_ENGINE, the user-level
  // config file (none in unit tests), and whether Docker answers (the real probe only in cli::run).
  std::optional<engine::EngineSetting> engine_flag, engine_variable;
  std::optional<std::filesystem::path> config_file;
  std::function<bool()> docker_is_default = [] { return true; };
  std::ostream* out = nullptr;
  std::ostream* err = nullptr; // progress and notices; results go to `out`
  docker::CliRunner docker_runner = docker::spawn_cli;
  facts::LiveFactSource live_facts;
  facts::FactSource* facts = &live_facts; // what host questions (nvidia-smi, docker info) are asked of
  const Clock* clock = &system_clock();
  std::filesystem::path gpu_table; // the GPU table `up` and `down` share; empty: gpu::default_lock_file
  // The shared GPU table of rootless engines (gpu/shared_table), set here by tests; otherwise a
  // run whose engine is Podman asks podman_gpu_table (gpu::live_shared_table() in cli::run, none in
  // unit tests), and under Docker the containers' labels are the truth.
  std::optional<gpu::SharedTable> shared_gpu_table;
  std::function<std::optional<gpu::SharedTable>()> podman_gpu_table = [] { return std::nullopt; };
  // Set by the commands' unit tests, which fake the engine's operations rather than its CLI's
  // argv (how each engine spells them is the engine's own tests'); unset, the engine chosen runs
  // its CLI through docker_runner.
  std::function<std::unique_ptr<engine::Engine>(engine::EngineKind)> engine_factory;

  std::filesystem::path gpu_table_for(const std::filesystem::path& state_home) const {
    return gpu_table.empty() ? gpu::default_lock_file(state_home) : gpu_table;
  }

  // A run chooses anew, from its own --engine: cli::run calls this before parsing.
  void forget_engine_choice() {
    engine_flag.reset();
    chosen_engine_.reset();
  }
  // The engine this run uses, chosen once.
  engine::EngineKind engine_kind() const {
    if (!chosen_engine_) {
      // The file is read only when nothing before it decides: an unreadable one then stands in no one's way.
      std::optional<engine::EngineSetting> in_file;
      if (!engine_flag && !engine_variable && config_file) in_file = engine::engine_in_config(*config_file);
      chosen_engine_ = engine::choose_engine({engine_flag, engine_variable, in_file}, docker_is_default);
    }
    return *chosen_engine_;
  }
  // The CLI to spawn: --docker's, else the engine's own.
  std::string engine_binary() const {
    return docker.empty() ? std::string(engine::engine_name(engine_kind())) : docker;
  }
  // The GPU table this run's chooser consults besides the engine's containers: see shared_gpu_table.
  std::optional<gpu::SharedTable> gpu_sharing() const {
    if (shared_gpu_table) return shared_gpu_table;
    return engine_kind() == engine::EngineKind::podman ? podman_gpu_table() : std::nullopt;
  }
  // The host's facts as this run's engine sees them: rootless Podman reaches GPUs through CDI only
  // (it has no NVIDIA runtime hook), so CDI is its GPU runtime unless LAUNCHER_GPU_RUNTIME says.
  host::HostFacts host_facts() const {
    host::HostFacts facts = host::read_host_facts();
    if (facts.gpu_runtime.source == "default" && engine_kind() == engine::EngineKind::podman)
      facts.gpu_runtime = {host::GpuRuntime::cdi, "the engine podman"};
    return facts;
  }
  // The one way a command reaches the engine: its operations, never the runner's argv.
  std::unique_ptr<engine::Engine> container_engine() const {
    if (engine_factory) return engine_factory(engine_kind());
    return engine::make_engine(engine_kind(), docker::Docker(engine_binary(), docker_runner, docker_timeout));
  }

private:
  mutable std::optional<engine::EngineKind> chosen_engine_;
};

} // namespace launcher::commands
