#include <chrono>
#include <memory>
#include <ostream>
#include <thread>

#include "commands/slurm.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "slurm/client.hpp"
#include "slurm/output.hpp"

namespace launcher::commands {

void add_cancel_command(CLI::App& app, Context& context) {
  auto job = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("cancel", "cancel a Slurm job and wait until it has ended");
  command->add_option("JOB", *job, "Slurm job id")->required();
  command->add_flag("--force", *force, "cancel it also when `launcher submit` did not submit it");
  command->callback([job, force, &context] {
    if (!slurm::is_job_id(*job))
      throw Error(ExitCode::usage, "JOB: expected a Slurm job id (digits), found " + quote_for_message(*job));
    // A typo in a job id must not cancel someone's other job: only the launcher's, unless --force.
    std::string comment =
        slurm::run_slurm({"squeue", "-h", "-t", "all", "-j", *job, "-o", "%k"}, "asking for job " + *job).out;
    if (!*force && !slurm::is_launcher_comment(comment))
      throw Error(ExitCode::usage, "job " + *job +
                                       " was not submitted by `launcher submit` (`launcher jobs` does not list it); "
                                       "`launcher cancel --force " +
                                       *job + "` cancels it anyway");
    slurm::run_slurm({"scancel", *job}, "cancelling job " + *job);
    // The nodes' tasks remove their containers when Slurm signals them; the job has ended once
    // Slurm says so, which is what a caller waits for.
    std::string state;
    for (int poll = 0; poll < 600; ++poll) {
      state = slurm::run_slurm({"squeue", "-h", "-t", "all", "-j", *job, "-o", "%T"}, "asking for job " + *job).out;
      state = state.substr(0, state.find('\n'));
      if (state != "RUNNING" && state != "PENDING" && state != "COMPLETING" && state != "CONFIGURING" &&
          state != "SUSPENDED")
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *context.out << "job " << *job << ": " << (state.empty() ? "gone" : state) << "\n";
  });
}

} // namespace launcher::commands
