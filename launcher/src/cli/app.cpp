#include "cli/app.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <ostream>

#include <CLI/CLI.hpp>

#include "commands/build.hpp"
#include "commands/context.hpp"
#include "commands/default_image.hpp"
#include "commands/doctor.hpp"
#include "commands/export.hpp"
#include "commands/gpus.hpp"
#include "commands/lifecycle.hpp"
#include "commands/pin.hpp"
#include "commands/profiles.hpp"
#include "commands/render.hpp"
#include "commands/secret.hpp"
#include "commands/setup_host.hpp"
#include "commands/slurm.hpp"
#include "commands/trust.hpp"
#include "commands/up.hpp"
#include "core/error.hpp"
#include "core/fd_output.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "engine/choice.hpp"
#include "process/process.hpp"

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

// libstdc++ says "filesystem error: cannot create directories: Permission denied [/proc/x]".
std::string describe_filesystem_error(const std::filesystem::filesystem_error& error) {
  std::string what = error.what();
  std::string reason = error.code().message();
  constexpr std::string_view prefix = "filesystem error: ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
  std::size_t end = what.find(": " + reason);
  std::string operation = end == std::string::npos ? first_line_of(what) : what.substr(0, end);
  std::string paths;
  for (const auto* path : {&error.path1(), &error.path2()})
    if (!path->empty()) paths += ": " + path->string();
  return operation + paths + ": " + reason;
}

// What a command printed must have reached standard output: a full disk, a reader that went away
// or a closed descriptor turns a success into exit 1 with the reason, never a truncated result
// (half a JSON document) with exit 0. A command that failed keeps its own status.
int check_output(std::ostream& out, std::ostream& err, int code) {
  out.flush();
  if (out) return code;
  auto* buffer = dynamic_cast<FdOutputBuffer*>(out.rdbuf());
  err << "launcher: error: " << describe_output_failure("standard output", buffer ? buffer->error() : 0) << "\n";
  return code == 0 ? static_cast<int>(ExitCode::failed) : code;
}

// Standard descriptors closed by the caller (`launcher ... >&-`) are held open on /dev/null, so
// that no file the launcher opens (a lock, a secret) becomes descriptor 1 and receives its output.
// Returns whether standard output was closed.
bool hold_closed_standard_descriptors() {
  bool stdout_closed = false;
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == STDOUT_FILENO) stdout_closed = true;
    // open takes the lowest free descriptor: this one, as those below it are open by now.
    int held = open("/dev/null", (fd == STDIN_FILENO ? O_RDONLY : O_WRONLY));
    if (held >= 0 && held != fd) ::close(held);
  }
  return stdout_closed;
}

} // namespace

int run_main(int argc, char** argv) {
  // A reader that goes away (`launcher ps | head -1`) is a write error reported like any other,
  // not a death by SIGPIPE: dying mid-`up` would skip the clean-up of what it created, and a silent
  // 141 hides that the result was not delivered.
  std::signal(SIGPIPE, SIG_IGN);
  bool stdout_closed = hold_closed_standard_descriptors();
  FdOutputBuffer buffer(stdout_closed ? -1 : STDOUT_FILENO);
  std::ostream out(&buffer);
  int code = run(argc, argv, out, std::cerr);
  if (!out) return code; // reported by check_output
  // Closing reports what a file system kept for the end (NFS's lost writes).
  if (int error = buffer.close(); error != 0) {
    std::cerr << "launcher: error: " << describe_output_failure("standard output", error) << "\n";
    return code == 0 ? static_cast<int>(ExitCode::failed) : code;
  }
  return code;
}

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  commands::Context context;
  context.out = &out;
  context.err = &err;
  if (const char* docker = std::getenv("LAUNCHER_DOCKER"); docker && *docker) context.docker = docker;
  if (const char* limit = std::getenv("LAUNCHER_DOCKER_TIMEOUT")) context.docker_timeout = limit;
  if (const char* engine = std::getenv(engine::engine_variable); engine && *engine)
    context.engine_variable = engine::EngineSetting{engine, engine::engine_variable};
  const char* config_home = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  context.config_file = engine::user_config_file(config_home ? config_home : "", home ? home : "/");
  context.podman_gpu_table = [] { return std::optional<gpu::SharedTable>(gpu::live_shared_table()); };
  context.docker_is_default = [] {
    const char* set = std::getenv("DOCKER_HOST");
    std::string docker_host = set ? set : "";
    return engine::docker_is_default(docker_host, engine::docker_answers(docker_host), process::on_path("podman"));
  };
  return run(argc, argv, context);
}

int run(int argc, char** argv, commands::Context& context) {
  std::ostream& out = *context.out;
  std::ostream& err = *context.err;
  context.forget_engine_choice();
  CLI::App app{"launcher: pinned PyTorch + CUDA containers from JSON profiles", "launcher"};
  app.set_version_flag("--version", version);
  app.add_option("--docker", context.docker,
                 "the engine's CLI to run (default: the engine's name on PATH, or $LAUNCHER_DOCKER)");
  app.add_option_function<std::string>(
      "--engine",
      [&context](const std::string& value) {
        context.engine_flag = engine::EngineSetting{value, "--engine"};
      },
      "container engine: docker or podman (default: $LAUNCHER_ENGINE, else \"engine\" in "
      "$XDG_CONFIG_HOME/launcher/config.json, else docker if it answers, else podman)");
  app.require_subcommand(1);
  app.footer("Every call to the Docker CLI has a time limit (queries 30 s, changes 60 s, stop its --timeout + 30 s,\n"
             "commands in a container and diff 300 s; build, commit, pull, push and logs -f none):\n"
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
  commands::add_backup_command(app, context);
  commands::add_backups_command(app, context);
  commands::add_restore_command(app, context);
  commands::add_secret_command(app, context);
  commands::add_build_command(app, context);
  commands::add_default_image_command(app, context);
  commands::add_doctor_command(app, context);
  commands::add_gpus_command(app, context);
  commands::add_setup_host_command(app, context);
  commands::add_pin_command(app, context);
  commands::add_trust_command(app, context);
  commands::add_submit_command(app, context);
  commands::add_jobs_command(app, context);
  commands::add_cancel_command(app, context);

  int code = run_reporting_errors(
      [&] {
        // Host fact commands (nvidia-smi, ...) are queries: LAUNCHER_DOCKER_TIMEOUT bounds them too.
        context.live_facts.timeout = docker::query_limit(docker::parse_timeout_setting(context.docker_timeout));
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
  return check_output(out, err, code);
}

int run_reporting_errors(const std::function<int()>& action, std::ostream& err) {
  try {
    try {
      return action();
    } catch (const Error& error) {
      err << "launcher: error: " << printable(error.what()) << "\n";
      return static_cast<int>(error.code());
    } catch (const std::filesystem::filesystem_error& error) {
      // A file operation no check foresaw: said as "<operation>: <path>: <reason>", not as the
      // library's "filesystem error: ... [path]".
      err << "launcher: error: " << printable(describe_filesystem_error(error)) << "\n";
      return static_cast<int>(ExitCode::failed);
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
