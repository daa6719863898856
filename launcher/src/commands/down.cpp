#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "docker/docker.hpp"
#include "gpu/lock.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/snapshot.hpp"

namespace launcher::commands {

void add_down_command(CLI::App& app, Context& context) {
  struct Options {
    std::optional<std::string> env;
    bool force = false;
    bool purge = false;
    bool yes = false;
    bool list_all = false;
    int timeout_seconds = 10;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("down", "stop and remove an environment's container; volumes are kept");
  command->add_option("ENV", options->env, "environment (default: the one made from this directory)");
  command->add_flag("--force", options->force, "remove even if files outside the volumes would be lost");
  command->add_flag("--purge", options->purge, "also delete the environment's secrets and host key");
  command->add_flag("--yes", options->yes, "do not ask before --purge");
  command->add_flag("--list-all", options->list_all,
                    "when unsaved work stops it, list every file (no new directory as one line, none left out)");
  command->add_option("--timeout", options->timeout_seconds, "seconds between SIGTERM and SIGKILL")
      ->capture_default_str();
  command->callback([options, &context] {
    docker::Docker docker = context.docker_cli();
    host::HostFacts host = host::read_host_facts();
    std::string env = lifecycle::choose_environment(docker, options->env, host);
    lifecycle::EnvironmentLock lock(host.state_home, env, *context.err);
    auto container = lifecycle::find_environment(docker, env);
    if (container) {
      if (!options->force)
        lifecycle::refuse_unsaved_work(
            docker, *container, "or discard it all with --force",
            {options->list_all,
             lifecycle::snapshot_holding(docker, host::state_layout(env, host.state_home), *container)});
      bool has_gpus = lifecycle::gpus_of(*container) != "-";
      lifecycle::stop_and_remove(docker, *container, std::chrono::seconds(options->timeout_seconds));
      // Only an env with GPUs touches the table, and a table that cannot be updated does not
      // undo a removal: the container's label was the truth, and its record is dropped as stale.
      if (has_gpus) {
        try {
          gpu::release_gpus(context.gpu_table_for(host.state_home), env);
        } catch (const Error& error) {
          *context.err << "launcher: warning: " << error.what() << "\n";
        }
      }
      lifecycle::remove_own_network(docker, env);
      *context.out << "removed environment " << env << " (volumes kept)\n";
    } else if (!options->purge) {
      throw Error(ExitCode::failed, "no environment \"" + env + "\" (`launcher ps` lists them)");
    }
    if (!options->purge) return;
    std::filesystem::path dir = host::state_layout(env, host.state_home).env_dir;
    if (!options->yes) {
      if (!isatty(STDIN_FILENO))
        throw Error(ExitCode::usage, "--purge deletes " + dir.string() + " (secrets, host key): confirm with --yes");
      *context.err << "delete " << dir.string() << " (token, passwords, SSH host key)? type yes: " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "yes") throw Error(ExitCode::failed, "purge cancelled; " + dir.string() + " is kept");
    }
    std::filesystem::remove_all(dir);
    *context.out << "deleted " << dir.string() << "\n";
  });
}

} // namespace launcher::commands
