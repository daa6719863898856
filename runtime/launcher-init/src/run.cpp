#include "run.hpp"

#include <iostream>
#include <string_view>
#include <vector>

#include "backup.hpp"
#include "env_watch.hpp"
#include "error.hpp"
#include "health.hpp"
#include "settings.hpp"
#include "setup.hpp"
#include "supervisor.hpp"

namespace launcher_init {

int run(int argc, const char* const* argv, const char* const* envp) {
  try {
    std::vector<std::string_view> arguments(argv + 1, argv + argc);
    auto invocation = parse_arguments(arguments);
    auto environment = parse_environment(envp);
    auto settings = parse_settings(environment);
    if (!arguments.empty() && arguments.front() == "backup") {
      return run_backup_command(settings, environment, std::span(arguments).subspan(1));
    }
    if (invocation.mode == Invocation::Mode::health) return check_health(settings);
    check_invocation(settings, invocation);
    take_over_signals(); // a SIGTERM during setup waits for the supervisor, which then stops at once
    auto backups = backup_service(environment); // its settings are checked before anything starts
    auto prepared = set_up(settings, invocation, environment);
    if (backups) prepared.services.push_back(std::move(*backups));
    auto watch = make_env_watch(settings, prepared.watch_places);
    return supervise(prepared.services, {settings.stop_timeout, {}, watch.get()});
  } catch (const Error& error) {
    std::cerr << "launcher-init: " << error.what() << "\n";
    return error.exit_status();
  } catch (const std::exception& error) {
    std::cerr << "launcher-init: failed to run: " << error.what() << "\n";
    return exit_failed;
  }
}

} // namespace launcher_init
