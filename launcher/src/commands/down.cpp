#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"
#include "gpu/lock.hpp"
#include "gpu/shared_table.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/backup.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/snapshot.hpp"
#include "plan/plan.hpp"

namespace launcher::commands {

namespace {

// Asked before anything is stopped, removed or deleted: on a closed or piped stdin without
// --yes, nothing has been touched when this fails.
void confirm_purge(const host::StateLayout& layout, Context& context) {
  std::string dir = layout.env_dir.string();
  if (!isatty(STDIN_FILENO))
    throw Error(ExitCode::usage, "--purge deletes " + dir + " (secrets, host key): confirm with --yes");
  *context.err << "delete " << dir << " (token, passwords, SSH host key)? type yes: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "yes") throw Error(ExitCode::failed, "purge cancelled; nothing was changed");
}

// What is left in `dir`, for the message that keeps it.
std::string entries_of(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  std::string text;
  for (const auto& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

// Deletes the files the launcher made for the env (host::StateLayout names them all), then its
// directories if nothing else is in them, and its lock file. Entries are unlinked, never
// followed; both directories are proven again to lie inside the state directory first.
void purge_state(const host::StateLayout& layout, lifecycle::EnvironmentLock& lock, Context& context) {
  if (!std::filesystem::exists(std::filesystem::symlink_status(layout.env_dir))) {
    lock.remove_file();
    *context.out << "nothing to delete: " << layout.env_dir.string() << " does not exist\n";
    return;
  }
  layout.inside(layout.secrets_dir);
  layout.inside(layout.env_dir);
  std::vector<std::filesystem::path> files = layout.secret_files();
  for (const auto& file : layout.env_files())
    files.push_back(file);
  for (const auto& file : files)
    if (unlink(file.c_str()) != 0 && errno != ENOENT && errno != EISDIR && errno != EPERM)
      throw Error(ExitCode::failed, "failed to delete " + file.string() + ": " + std::strerror(errno));
  std::vector<std::string> kept;
  for (const auto& dir : {layout.secrets_dir, layout.env_dir}) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
    if (errno != ENOTEMPTY && errno != EEXIST)
      throw Error(ExitCode::failed, "failed to delete " + dir.string() + ": " + std::strerror(errno));
    kept.push_back(dir.string() + " (" + entries_of(dir) + ")");
  }
  lock.remove_file();
  if (kept.empty()) {
    *context.out << "deleted " << layout.env_dir.string() << "\n";
    return;
  }
  std::string list;
  for (const auto& dir : kept)
    list += (list.empty() ? "" : "; ") + dir;
  *context.out << "deleted the launcher's files in " << layout.env_dir.string() << "\n";
  *context.err << "launcher: warning: kept what the launcher did not make: " << list << "\n";
}

// An env that backs up is backed up once more before its container goes; a backup that cannot
// run or fails leaves everything as it was.
void final_backup(const engine::Engine& engine, const nlohmann::json& container, const std::string& env,
                  Context& context) {
  if (lifecycle::backup_repository_of(container).empty()) return;
  if (!lifecycle::is_running(container))
    throw Error(ExitCode::failed, "environment \"" + env + "\" is not running (" + lifecycle::status_of(container) +
                                      "), so its final backup cannot run; nothing was removed. `launcher up` it "
                                      "first, or --force removes it without a final backup");
  try {
    nlohmann::json result = lifecycle::run_backup_tool(engine, env, {"run"}, "the final backup of " + env);
    *context.err << "launcher: final " << lifecycle::describe_backup_run(env, result) << "\n";
  } catch (const Error& error) {
    throw Error(ExitCode::failed,
                std::string(error.what()) + "; nothing was removed (--force removes it without a final backup)");
  }
}

} // namespace

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
  command->add_option("ENV", options->env, "environment (default: the one made from this directory)")
      ->check(env_name_validator());
  command->add_flag("--force", options->force,
                    "remove even if files outside the volumes would be lost, and without a final backup");
  command->add_flag("--purge", options->purge, "also delete the environment's secrets and host key");
  command->add_flag("--yes", options->yes, "do not ask before --purge");
  command->add_flag("--list-all", options->list_all,
                    "when unsaved work stops it, list every file (no new directory as one line, none left out)");
  command->add_option("--timeout", options->timeout_seconds, "seconds between SIGTERM and SIGKILL")
      ->capture_default_str();
  command->callback([options, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    host::HostFacts host = host::read_host_facts();
    EnvName env = lifecycle::choose_environment(*engine, options->env, host);
    host::StateLayout layout = host::state_layout(env, host.state_home);
    if (options->purge && !options->yes) confirm_purge(layout, context);
    lifecycle::EnvironmentLock lock(layout, *context.err);
    auto container = lifecycle::find_environment(*engine, env);
    if (container) {
      if (!options->force)
        lifecycle::refuse_unsaved_work(
            *engine, *container, "or discard it all with --force",
            {options->list_all,
             lifecycle::snapshot_holding(*engine, host::state_layout(env, host.state_home), *container)});
      if (!options->force) final_backup(*engine, *container, env.str(), context);
      bool has_gpus = lifecycle::gpus_of(*container) != "-";
      lifecycle::stop_and_remove(*engine, *container, std::chrono::seconds(options->timeout_seconds));
      // Only an env with GPUs touches the table, and a table that cannot be updated does not
      // undo a removal: the container's label was the truth, and its record is dropped as stale.
      if (has_gpus) {
        try {
          gpu::release_gpus(context.gpu_table_for(host.state_home), env);
        } catch (const Error& error) {
          *context.err << "launcher: warning: " << error.what() << "\n";
        }
      }
      // An env's entry in the shared table goes whatever its labels say (its GPUs came from the table).
      if (auto table = context.gpu_sharing()) gpu::remove_shared_entry(table->dir, env);
      lifecycle::remove_own_network(*engine, env);
      *context.out << "removed environment " << env.str() << " (volumes kept)\n";
    } else if (lifecycle::remove_leftover_network(*engine, env.str())) {
      *context.out << "removed network " << plan::own_network(env.str()) << " (no container of " << env.str()
                   << " was left)\n";
    } else if (!options->purge) {
      throw Error(ExitCode::failed, "no environment \"" + env.str() + "\" (`launcher ps` lists them)");
    }
    if (options->purge) purge_state(layout, lock, context);
  });
}

} // namespace launcher::commands
