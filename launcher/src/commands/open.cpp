#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "engine/engine.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/login_page.hpp"
#include "process/process.hpp"

namespace launcher::commands {

void add_open_command(CLI::App& app, Context& context) {
  auto option = std::make_shared<EnvOption>();
  CLI::App* command = env_subcommand(
      app, "open",
      "print the Jupyter login URL; open a browser when there is one (through a private file, not the URL)", *option);
  command->callback([option, &context] {
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    nlohmann::json container = lifecycle::require_environment(*engine, option->env);
    auto endpoint = lifecycle::endpoint_for(container, 8888);
    if (!endpoint) throw Error(ExitCode::failed, "environment \"" + option->env + "\" publishes no Jupyter port");
    host::HostFacts host = host::read_host_facts();
    host::StateLayout layout = host::state_layout(EnvName::parse(option->env), host.state_home);
    std::string url = lifecycle::jupyter_login_url(*endpoint, layout);
    *context.out << url << "\n";
    if (std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY")) {
      // The browser gets a private file that leads to the URL: the token stays off every command line.
      std::filesystem::path page = lifecycle::login_page_path(layout, std::getenv("XDG_RUNTIME_DIR"));
      lifecycle::write_login_page(page, url);
      try {
        process::run_process({"xdg-open", lifecycle::file_url(page)});
      } catch (const Error&) {
        // No xdg-open: printing the URL is all we can do.
      }
    }
  });
}

} // namespace launcher::commands
