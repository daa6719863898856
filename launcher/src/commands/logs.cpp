#include <unistd.h>

#include <fstream>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/lifecycle.hpp"
#include "commands/slurm.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "process/process.hpp"
#include "secrets/env_secrets.hpp"
#include "slurm/client.hpp"
#include "slurm/output.hpp"

namespace launcher::commands {

namespace {

// Prints (or follows) the output file Slurm names for the job.
void show_job_output(const std::string& id, bool follow, Context& context) {
  std::string line = slurm::run_slurm({"scontrol", "show", "job", "-o", id}, "looking up job " + id).out;
  std::optional<std::string> path = slurm::scontrol_field(line, "StdOut");
  if (!path || path->empty()) throw Error(ExitCode::failed, "Slurm gives no output file for job " + id);
  if (follow) process::replace_process({"tail", "-n", "+1", "-F", *path});
  std::ifstream file(*path, std::ios::binary);
  if (!file)
    throw Error(ExitCode::failed, "job " + id + "'s output " + *path +
                                      " cannot be read from this host (it is written on the job's first node)");
  *context.out << file.rdbuf();
}

// Environment names may be all digits too; a submit host may have no Docker at all.
bool is_environment(const engine::Engine& engine, const std::string& name) {
  try {
    return lifecycle::find_environment(engine, name).has_value();
  } catch (const Error&) {
    return false;
  }
}

} // namespace

void add_logs_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  auto follow = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("logs", "show an environment's output, or a Slurm job's");
  command
      ->add_option("ENV", option->env,
                   "environment, or a Slurm job id (digits only: a job, unless an environment has that name)")
      ->required()
      ->check(env_name_validator(slurm::is_job_id));
  command->add_flag("-f,--follow", *follow, "keep following");
  command->callback([option, follow, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    if (slurm::is_job_id(option->env) && !is_environment(*engine, option->env))
      return show_job_output(option->env, *follow, context);
    lifecycle::require_environment(*engine, option->env);
    engine->show_logs(option->env, *follow);
  });
}

} // namespace launcher::commands
