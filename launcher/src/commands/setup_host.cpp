#include "commands/setup_host.hpp"

#include <unistd.h>

#include <memory>
#include <ostream>

#include "core/error.hpp"
#include "gpu/table_setup.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;

namespace {

// The target of this run: root's table, or under --root one of the invoking user's own.
gpu::TableSetupTarget target_of(const std::string& root, const std::string& group) {
  if (root.empty()) return {gpu::shared_table_default_dir, group, 0, true};
  return {fs::path(root) / fs::path(gpu::shared_table_default_dir).relative_path(), group, geteuid(), false};
}

std::string rerun_command(const std::string& group) {
  return "sudo launcher setup-host" + (group == gpu::shared_table_group ? std::string() : " --group " + group);
}

} // namespace

void add_setup_host_command(CLI::App& app, Context& context) {
  struct Options {
    std::string root;
    std::string group = gpu::shared_table_group;
    bool dry_run = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "setup-host",
      std::string("(admin, as root, once) make the shared GPU table rootless Podman users share: group ") +
          gpu::shared_table_group + " and " + gpu::shared_table_default_dir);
  command->add_option("--group", options->group, "the group whose members share the GPUs")->capture_default_str();
  command->add_option("--root", options->root,
                      "for tests: make it under this directory instead of /, as yourself, adding no group");
  command->add_flag("--dry-run", options->dry_run, "say what it would do, do nothing");
  command->callback([options, &context] {
    gpu::TableSetupTarget target = target_of(options->root, options->group);
    std::vector<gpu::SetupStep> steps = gpu::plan_table_setup(target, gpu::read_table_setup_facts(target));
    std::ostream& out = *context.out;
    if (steps.empty()) {
      out << "the shared GPU table " << target.dir.string() << " is set up for group " << target.group
          << "; nothing to do\n";
    } else if (options->dry_run || (options->root.empty() && geteuid() != 0)) {
      out << "setup-host would:\n";
      for (const auto& step : steps)
        out << "  " << step.text << "\n";
      if (!options->dry_run)
        throw Error(ExitCode::failed,
                    "setup-host changes the host and must run as root: " + rerun_command(options->group));
      return;
    } else {
      gpu::execute_table_setup(target, steps, out);
    }
    out << "users who share the GPUs join the group: sudo usermod -aG " << target.group
        << " USER (it takes effect at their next login)\n";
  });
}

} // namespace launcher::commands
