#include "cli/app.hpp"

#include <cstdlib>
#include <functional>
#include <ostream>

#include <CLI/CLI.hpp>

#include "commands/build.hpp"
#include "commands/context.hpp"
#include "commands/doctor.hpp"
#include "commands/export.hpp"
#include "commands/lifecycle.hpp"
#include "commands/pin.hpp"
#include "commands/profiles.hpp"
#include "commands/render.hpp"
#include "commands/secret.hpp"
#include "commands/slurm.hpp"
#include "commands/up.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"

namespace launcher::cli {

namespace {

constexpr const char* version = "0.1.0";

// "launcher rendr" deserves a suggestion, not CLI11's "arguments were not expected".
std::string explain_parse_error(CLI::App& app, int argc, char** argv, const CLI::ParseError& error) {
  std::vector<std::string> names;
  for (const auto* command : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(command->get_name());
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    if (std::find(names.begin(), names.end(), word) == names.end())
      return "unknown command \"" + word + "\"" + did_you_mean(word, names) + "; run 'launcher --help'";
    break;
  }
  return std::string(error.what()) + "; run 'launcher --help'";
}

// What reaches the terminal: one line per message line, with bytes that are not UTF-8 (from a
// flag, a path, a variable) shown as \xNN instead of being passed through raw.
std::string printable(std::string_view message) { return escape_invalid_utf8(message); }

// The launcher's errors are one line by design; other exceptions' messages may not be.
std::string first_line_of(std::string_view message) { return std::string(message.substr(0, message.find('\n'))); }

} // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  commands::Context context;
  context.out = &out;
  context.err = &err;
  if (const char* docker = std::getenv("LAUNCHER_DOCKER"); docker && *docker) context.docker = docker;
  if (const char* limit = std::getenv("LAUNCHER_DOCKER_TIMEOUT")) context.docker_timeout = limit;
  return run(argc, argv, context);
}

int run(int argc, char** argv, commands::Context& context) {
  std::ostream& out = *context.out;
  std::ostream& err = *context.err;
  CLI::App app{"launcher: pinned PyTorch + CUDA containers from JSON profiles", "launcher"};
  app.set_version_flag("--version", version);
  app.add_option("--docker", context.docker, "Docker CLI to run (default: docker on PATH, or $LAUNCHER_DOCKER)");
  app.require_subcommand(1);
  app.footer("Every call to the Docker CLI has a time limit (queries 30 s, changes 60 s, stop its --timeout + 30 s,\n"
             "commands in a container 300 s; build, commit, pull, push and logs -f none):\n"
             "LAUNCHER_DOCKER_TIMEOUT=SECONDS sets them all (0: no limit).\n");
  commands::add_render_command(app, context);
  commands::add_export_command(app, context);
  commands::add_profiles_command(app, context);
  commands::add_up_command(app, context);
  commands::add_down_command(app, context);
  commands::add_ps_command(app, context);
  commands::add_logs_command(app, context);
  commands::add_exec_command(app, context);
  commands::add_ssh_command(app, context);
  commands::add_ssh_config_command(app, context);
  commands::add_open_command(app, context);
  commands::add_snapshot_command(app, context);
  commands::add_secret_command(app, context);
  commands::add_build_command(app, context);
  commands::add_doctor_command(app, context);
  commands::add_pin_command(app, context);
  commands::add_submit_command(app, context);
  commands::add_jobs_command(app, context);
  commands::add_cancel_command(app, context);

  return run_reporting_errors(
      [&] {
        // Host fact commands (docker info, nvidia-smi) are queries: LAUNCHER_DOCKER_TIMEOUT bounds them too.
        context.live_facts.timeout =
            docker::call_limit({"info"}, docker::parse_timeout_setting(context.docker_timeout)).timeout;
        try {
          app.parse(argc, argv);
          return 0;
        } catch (const CLI::CallForVersion&) {
          out << version << "\n";
          return 0;
        } catch (const CLI::Success&) {
          out << (app.get_subcommands().empty() ? app.help() : app.get_subcommands().front()->help());
          return 0;
        } catch (const CLI::ParseError& error) {
          err << "launcher: error: " << printable(explain_parse_error(app, argc, argv, error)) << "\n";
          return static_cast<int>(ExitCode::usage);
        }
      },
      err);
}

int run_reporting_errors(const std::function<int()>& action, std::ostream& err) {
  try {
    try {
      return action();
    } catch (const Error& error) {
      err << "launcher: error: " << printable(error.what()) << "\n";
      return static_cast<int>(error.code());
    } catch (const std::exception& error) {
      // Anything but Error is a bug or a resource failure (bad_alloc): it still ends as one line
      // and an ordinary failure status, never in std::terminate's abort.
      err << "launcher: error: unexpected failure: " << printable(first_line_of(error.what())) << "\n";
      return static_cast<int>(ExitCode::failed);
    } catch (...) {
      err << "launcher: error: unexpected failure of an unknown kind\n";
      return static_cast<int>(ExitCode::failed);
    }
  } catch (...) {
    // Writing the message failed (a closed stream, no memory): the status still says it.
    return static_cast<int>(ExitCode::failed);
  }
}

} // namespace launcher::cli
