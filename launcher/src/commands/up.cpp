#include "commands/up.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "build/build_plan.hpp"
#include "commands/profile_request.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "doctor/checks.hpp"
#include "doctor/snapshot.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "gpu/shared_table.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/host_ports.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/readiness.hpp"
#include "lifecycle/volumes.hpp"
#include "matrix/matrix.hpp"
#include "pin/pin.hpp"
#include "process/process.hpp"
#include "render/render.hpp"
#include "render/resolution_json.hpp"
#include "secrets/backup_credentials.hpp"
#include "secrets/env_secrets.hpp"
#include "secrets/state.hpp"

namespace launcher::commands {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Where the service will listen, when the plan fixes its host port.
std::optional<lifecycle::Endpoint> planned_endpoint(const plan::Plan& plan, int container_port) {
  for (const auto& port : plan.ports)
    if (port.container_port == container_port && port.protocol == plan::Protocol::tcp && port.host_port)
      return lifecycle::Endpoint{port.container_port, port.protocol, port.bind, *port.host_port};
  return std::nullopt;
}

// The plan `up` ran, kept for telling later what changed.
void record_plan(const host::StateLayout& layout, const plan::Plan& plan) {
  secrets::ensure_private_dir(layout.env_dir);
  secrets::write_private_file(layout.recorded_plan(), plan::to_json(plan).dump(2) + "\n");
}

// What changed since the plan the last `up` recorded; a note when that record is gone or damaged.
std::string recorded_plan_changes(const host::StateLayout& layout, const plan::Plan& plan) {
  fs::path file = layout.recorded_plan();
  auto recorded = secrets::read_private_file(file);
  if (!recorded) return "\n  (the previous plan is not recorded in " + file.string() + ")";
  try {
    std::string changes;
    for (const auto& line : lifecycle::plan_differences(json::parse(*recorded), plan::to_json(plan)))
      changes += "\n  " + line;
    return changes;
  } catch (const json::exception&) {
    return "\n  (the previous plan in " + file.string() + " is damaged: not the JSON the launcher writes)";
  }
}

std::string read_public_line(const host::StateLayout& layout) {
  std::string line = secrets::read_private_file(layout.host_public_key()).value_or("");
  return line.substr(0, line.find('\n'));
}

struct Report {
  json facts;
  std::string text;
};

Report report(const plan::Plan& plan, const json& container, const host::StateLayout& layout, double elapsed) {
  std::string service = plan::name(plan.service);
  json facts{{"env", plan.env},
             {"profile", plan.profile},
             {"service", service},
             {"image", plan.image},
             {"status", "ready"},
             {"seconds", elapsed},
             {"gpus", lifecycle::gpus_of(container)}};
  std::string text = fmt::format("{} is ready ({}, {:.1f} s)\n", plan.env, service, elapsed);
  json ports = json::array();
  for (const auto& endpoint : lifecycle::endpoints_of(container)) {
    ports.push_back({{"host_ip", endpoint.host_ip},
                     {"host_port", endpoint.host_port},
                     {"container_port", endpoint.container_port},
                     {"protocol", plan::name(endpoint.protocol)}});
    text += fmt::format("  port    {}:{} -> {}/{}\n", endpoint.host_ip, endpoint.host_port, endpoint.container_port,
                        plan::name(endpoint.protocol));
  }
  facts["ports"] = ports;
  if (plan.service == plan::Service::jupyter) {
    auto endpoint = lifecycle::endpoint_for(container, 8888);
    if (endpoint) {
      std::string url = lifecycle::jupyter_login_url(*endpoint, layout);
      bool password = plan.access.jupyter_auth == plan::JupyterAuth::password;
      facts["url"] = url;
      text += "  open    " + url + (password ? "  (password: `launcher secret show " + plan.env + "`)" : "") + "\n";
    }
  }
  if (plan.service == plan::Service::ssh) {
    auto endpoint = lifecycle::endpoint_for(container, 22);
    if (endpoint) {
      std::string command = render::shell_words(
          lifecycle::ssh_argv({lifecycle::reachable_host(*endpoint), endpoint->host_port, plan.user.name,
                               secrets::host_key_alias(plan.env), layout.known_hosts().string()}));
      facts["ssh_command"] = command;
      text += "  ssh     launcher ssh " + plan.env + "\n          " + command + "\n";
    }
  }
  text += "  gpus    " + lifecycle::gpus_of(container) + "\n";
  json mounts = json::array();
  for (const auto& mount : plan.mounts) {
    mounts.push_back({{"source", mount.source}, {"target", mount.target}, {"read_only", mount.read_only}});
    text += "  mount   " + mount.source + " -> " + mount.target + (mount.read_only ? " (read-only)" : "") + "\n";
  }
  facts["mounts"] = mounts;
  return {facts, text};
}

// What this `up` made: only these go when a signal ends it, never what existed before it.
struct Made {
  bool container = false; // `docker run` was started for the env, which had no container
  bool network = false;   // the env's own network, created by this run
};

// Removes the container `name` only when it carries the env's label: one of that name that
// someone made by hand stays.
enum class Removal { absent, removed, kept };
Removal remove_if_ours(const engine::Engine& engine, const std::string& name, const std::string& env) {
  auto container = engine.inspect_container(name);
  if (!container) return Removal::absent;
  if (lifecycle::env_of(*container) != env) return Removal::kept;
  return engine.remove_forced(name) ? Removal::removed : Removal::kept;
}

// The profile's env values in the env's state directory (0700), mode 0600, while docker run reads
// them: a file, not the Docker CLI's environment, where a container's PATH, HOME or DOCKER_HOST
// would steer the CLI itself. Removed when docker run has returned, whatever it did.
class RunEnvironmentFile {
public:
  RunEnvironmentFile(const host::StateLayout& layout, const render::ContainerCommand& command)
      : path_(layout.inside(layout.run_environment())) {
    if (command.environment.empty()) return;
    secrets::ensure_private_dir(layout.env_dir);
    secrets::write_private_file(path_, render::env_file_text(command.environment));
  }
  ~RunEnvironmentFile() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  RunEnvironmentFile(const RunEnvironmentFile&) = delete;
  RunEnvironmentFile& operator=(const RunEnvironmentFile&) = delete;

private:
  fs::path path_;
};

// `docker run -d`; when it fails, the container it may have left goes, and a missing image is named.
void start_container(const engine::Engine& engine, const plan::Plan& plan, const host::StateLayout& layout,
                     Made& made) {
  made.container = true;
  try {
    render::ContainerCommand command =
        engine.container_command(engine::Launch::detached, plan, layout.run_environment().string());
    RunEnvironmentFile environment(layout, command);
    engine.run(command, "start " + plan.env);
  } catch (const process::Interrupted&) {
    throw;
  } catch (const Error&) {
    // `docker run` leaves a created container behind when the start fails: nothing half-done stays.
    remove_if_ours(engine, plan.env, plan.env);
    lifecycle::remove_own_network(engine, plan.env);
    if (!engine.inspect_image(plan.image))
      throw Error(ExitCode::failed, build::missing_image_message(matrix::embedded_matrix(), plan.image));
    throw;
  }
}

// After INT, TERM or HUP: removes what this run made (each call bounded; a second signal stops
// the clean-up at once) and ends with 128 + the signal and one line saying what is left.
[[noreturn]] void clean_up_after_signal(const engine::Engine& engine, const plan::Plan& plan, const Made& made,
                                        bool existed, const process::Interrupted& signal) {
  process::InterruptScope::acknowledge();
  const std::string by = "interrupted by " + process::signal_name(signal.signal());
  const std::string network = plan::own_network(plan.env);
  std::vector<std::string> removed, left;
  try {
    if (made.container) {
      Removal removal = remove_if_ours(engine, plan.env, plan.env);
      if (removal != Removal::absent) (removal == Removal::removed ? removed : left).push_back("container " + plan.env);
    }
    if (made.network) (engine.remove_network(network) ? removed : left).push_back("network " + network);
  } catch (const process::Interrupted& again) {
    throw process::Interrupted(again.signal(), by + ", then by " + process::signal_name(again.signal()) +
                                                   " during the clean-up: the container and network this `up` "
                                                   "made may remain (`launcher down " +
                                                   plan.env + " --force` removes them)");
  } catch (const Error& error) {
    throw process::Interrupted(signal.signal(), by + "; removing what this `up` made failed: " + error.what());
  }
  std::string message = by;
  if (!removed.empty())
    message += "; removed the " + fmt::format("{}", fmt::join(removed, " and the ")) + " this `up` made";
  if (!left.empty()) message += "; could not remove the " + fmt::format("{}", fmt::join(left, " and the "));
  if (removed.empty() && left.empty())
    message += existed ? "; environment \"" + plan.env + "\" existed before this `up` and is left as it was"
                       : "; nothing was created";
  throw process::Interrupted(signal.signal(), message);
}

// Under the shared GPU table, the env's entry that this `up` wrote is handed to its container's
// conmon, which lives exactly as long as the container: it proves the env runs once `up` ends.
void hand_gpus_to_container(const gpu::SharedTable& table, const plan::Plan& plan, const json& container,
                            std::ostream& err) {
  if (plan.gpus.kind != plan::GpuAssignment::Kind::devices) return;
  std::optional<long> conmon = gpu::conmon_pid_of(container);
  if (!conmon) {
    err << "launcher: warning: the engine names no conmon process of " << plan.env
        << "'s container: its GPUs are free in the shared GPU table once this `up` ends\n";
    return;
  }
  gpu::hand_entry_to(table.dir, EnvName::parse(plan.env), getpid(), *conmon, table.liveness);
}

// What `up` was asked on its command line.
struct Options {
  ProfileRequest request;
  bool dry_run = false;
  bool json = false;
  bool recreate = false;
  bool skip_checks = false;
  int timeout_seconds = 120;
  std::string wait;
};

// --wait's DURATION as the GPU chooser's limit; nullopt when not given.
std::optional<gpu::GpuWait> parse_gpu_wait(const std::string& wait) {
  if (wait.empty()) return std::nullopt;
  auto limit = parse_duration(wait);
  if (!limit)
    throw Error(ExitCode::usage, "--wait: expected a duration like 90s, 10m or 2h, found " + quote_for_message(wait));
  return gpu::GpuWait{*limit};
}

// The plan, and what every later phase needs of the env besides it.
struct Resolved {
  plan::Resolution resolution;
  std::vector<std::size_t> automatic_ports; // indices into plan.ports of the "auto" host ports
  host::StateLayout layout;
};

// Profile and flags -> the plan, with its "auto" host ports set to those the env had.
Resolved resolve(const ProfileRequest& request, const host::HostFacts& host, plan::GpuHost& gpus,
                 const Context& context) {
  plan::Resolution resolution = resolve_request(request, host, gpus, *context.err, Unapproved::refuse);
  plan::Plan& plan = resolution.plan;
  for (const auto& warning : resolution.warnings)
    *context.err << "launcher: warning: " << warning << "\n";
  // "auto" host ports ask for the port the env had, so that a recreated env keeps it.
  std::vector<std::size_t> automatic_ports = lifecycle::automatic_ports(plan);
  host::StateLayout layout = host::state_layout(EnvName::parse(plan.env), host.state_home);
  lifecycle::recall_host_ports(plan, automatic_ports, layout, *context.err);
  return {std::move(resolution), std::move(automatic_ports), std::move(layout)};
}

// --dry-run: the engine's command (or, with --json, the resolution and the command), run nothing.
void preview(const Resolved& resolved, bool as_json, const Context& context) {
  const plan::Plan& plan = resolved.resolution.plan;
  std::unique_ptr<engine::Engine> engine = context.container_engine();
  render::ContainerCommand run =
      engine->container_command(engine::Launch::detached, plan, resolved.layout.run_environment().string());
  if (as_json) {
    *context.out << render::resolution_json(run, engine->name(), resolved.resolution).dump(2) << "\n";
    return;
  }
  for (const auto& directory : plan.create_directories)
    *context.out << "# would create " << render::shell_quote(directory) << "\n";
  *context.out << run.display() << "\n";
}

// The doctor checks `up` refuses on (--skip-checks skips them); their warnings go to stderr.
void check_host(const plan::Plan& plan, facts::HostQueries& queries, const Context& context) {
  auto checks = doctor::preflight_checks(
      plan,
      doctor::gather_preflight_facts(queries, doctor::subject_of(plan), matrix::embedded_matrix(),
                                     context.engine_kind() == engine::EngineKind::podman),
      matrix::embedded_matrix());
  *context.err << doctor::warnings_text(checks) << std::flush;
  doctor::require_no_failures(checks);
}

// The env's container, when it has one, against this plan: kept when it runs the same plan (the
// state that follows from the plan rebuilt), replaced on --recreate, refused otherwise. Returns
// the container kept; nullopt when one must be made.
std::optional<json> reconcile(std::optional<json> existing, Resolved& resolved, bool recreate,
                              const engine::Engine& engine, const host::HostFacts& host) {
  if (!existing) return std::nullopt;
  plan::Plan& plan = resolved.resolution.plan;
  const host::StateLayout& layout = resolved.layout;
  lifecycle::adopt_container_ports(plan, resolved.automatic_ports, *existing, layout);
  if (recreate || lifecycle::plan_hash_of(*existing) != plan::plan_hash(plan)) {
    if (!recreate)
      throw Error(ExitCode::failed, "environment \"" + plan.env +
                                        "\" runs a different plan:" + recorded_plan_changes(layout, plan) +
                                        "\n`launcher up --recreate` replaces its container (volumes are kept)");
    lifecycle::refuse_unsaved_work(
        engine, *existing, "or discard it all with `launcher down " + plan.env + " --force`, then `launcher up` again");
    lifecycle::stop_and_remove(engine, *existing, std::chrono::seconds(10));
    return std::nullopt;
  }
  // The container was made with the secrets it holds: new ones only on request.
  if (auto damaged = secrets::secret_problems(plan); !damaged.empty())
    throw Error(ExitCode::failed,
                "the secrets of environment \"" + plan.env + "\" in " + layout.secrets_dir.string() +
                    " are damaged or gone (" + fmt::format("{}", fmt::join(damaged, "; ")) +
                    "), and its container was made with the "
                    "old ones; `launcher up --recreate` makes new ones and replaces the container (volumes are kept)");
  // Docker's plan-hash label equals this plan's: the state that follows from it is rebuilt.
  secrets::repair_derived_files(plan, host.home);
  record_plan(layout, plan);
  return existing;
}

// Without a container kept: the env's ports, volumes, network, secrets and container. With a
// stopped one: that container started again. `made` says what this run made, as it makes it.
void create_or_start(const std::optional<json>& existing, Resolved& resolved, const engine::Engine& engine,
                     const host::HostFacts& host, std::ostream& err, Made& made) {
  plan::Plan& plan = resolved.resolution.plan;
  const host::StateLayout& layout = resolved.layout;
  if (!existing) {
    lifecycle::choose_host_ports(plan, resolved.automatic_ports, layout, err);
    lifecycle::create_volume_directories(plan);
    made.network = lifecycle::ensure_network(engine, plan) && plan.network == plan::own_network(plan.env);
    secrets::ensure_env_secrets(plan, host.home);
    record_plan(layout, plan);
    start_container(engine, plan, layout, made);
  } else if (!lifecycle::is_running(*existing)) {
    if (auto killed = lifecycle::out_of_memory(*existing))
      err << "launcher: environment \"" << plan.env << "\" stopped after running " << *killed
          << "; starting it again. To give it more, raise resources.memory in the profile, then "
             "`launcher up --recreate`\n";
    lifecycle::refuse_taken_ports(plan, resolved.automatic_ports);
    engine.start(plan.env);
  }
}

// Waits until the env's service answers (a container that never does is kept for inspection).
// Returns the engine's view of the container (ports it picked, GPUs it gave), for the report.
std::shared_future<json> wait_for_service(const plan::Plan& plan, const host::StateLayout& layout,
                                          const engine::Engine& engine, std::chrono::seconds timeout,
                                          const Context& context) {
  // The wait needs only the service's port, which the plan knows unless Docker picks it: so the
  // wait starts without waiting for that inspect.
  std::shared_future<json> state = std::async(std::launch::async, [&engine, &container = plan.env] {
                                     return engine.inspect_container(container).value_or(json::object());
                                   }).share();
  if (auto table = context.gpu_sharing()) hand_gpus_to_container(*table, plan, state.get(), *context.err);
  lifecycle::ReadinessTarget target{plan.service, "127.0.0.1", 0, "", plan.user.name, "", plan.access.ssh_password};
  int service_port = plan.service == plan::Service::jupyter ? 8888 : plan.service == plan::Service::ssh ? 22 : 0;
  if (service_port) {
    auto endpoint = planned_endpoint(plan, service_port);
    if (!endpoint) endpoint = lifecycle::endpoint_for(state.get(), service_port);
    if (!endpoint)
      throw Error(ExitCode::failed, "environment \"" + plan.env + "\" publishes no port for " +
                                        plan::name(plan.service) + " (container port " + std::to_string(service_port) +
                                        "): add one to the profile's \"ports\"");
    target.host = lifecycle::reachable_host(*endpoint);
    target.port = endpoint->host_port;
  }
  target.token = secrets::read_private_file(layout.jupyter_token()).value_or("");
  target.pinned_public_line = read_public_line(layout);
  lifecycle::wait_until_ready(
      engine, plan.env, target, timeout, *context.err, [] { return process::InterruptScope::pending() != 0; },
      *context.clock);
  return state;
}

// resolve -> check -> reconcile -> create (or start) -> wait -> report.
void up(const Options& options, Context& context) {
  std::optional<gpu::GpuWait> wait = parse_gpu_wait(options.wait);
  host::HostFacts host = context.host_facts();
  // Named GPUs are recorded and counted ones chosen here, under the host-wide lock, so the
  // checks, the hash and docker run all see the final devices; --dry-run only previews them.
  HostGpuSource gpus(host, context, *context.facts,
                     options.dry_run ? gpu::Reservation::preview : gpu::Reservation::record, wait);
  Resolved resolved = resolve(options.request, host, gpus.gpus, context);
  plan::Plan& plan = resolved.resolution.plan;
  pin::verify_pinned_image(*gpus.engine, plan.image, resolved.resolution.profile.origin_of("/image"));
  if (options.dry_run) return preview(resolved, options.json, context);

  const std::optional<secrets::AwsCredentials> backup_keys = secrets::read_backup_credentials(plan, host.home);
  std::unique_ptr<engine::Engine> engine = context.container_engine();
  auto start = context.clock->now();
  lifecycle::EnvironmentLock lock(host.state_home, plan.env, *context.err);
  // Each Docker CLI call is a process start of ~50 ms, and `up`'s time is what users feel: the
  // env's container is looked up while the host checks run, and a missing image is left for
  // `docker run --pull never` to find.
  auto found = std::async(std::launch::async, [&] { return lifecycle::find_environment(*engine, plan.env); });
  if (!options.skip_checks) check_host(plan, gpus.queries, context);
  // From here a signal ends the run through clean_up_after_signal, not at once.
  process::InterruptScope interrupt_scope;

  std::optional<json> existing = reconcile(found.get(), resolved, options.recreate, *engine, host);
  // Keys rotated in the credentials file reach a running env too: it reads them at each backup.
  if (backup_keys) secrets::store_backup_credentials(resolved.layout, *backup_keys);

  Made made;
  try {
    create_or_start(existing, resolved, *engine, host, *context.err, made);
    std::shared_future<json> state =
        wait_for_service(plan, resolved.layout, *engine, std::chrono::seconds(options.timeout_seconds), context);
    double elapsed = std::chrono::duration<double>(context.clock->now() - start).count();
    Report result = report(plan, state.get(), resolved.layout, elapsed);
    *context.out << (options.json ? result.facts.dump(2) + "\n" : result.text);
  } catch (const process::Interrupted& signal) {
    clean_up_after_signal(*engine, plan, made, existing.has_value(), signal);
  }
}

} // namespace

void add_up_command(CLI::App& app, Context& context) {
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("up", "start an environment from a profile and wait until it answers");
  add_profile_options(*command, options->request);
  command->add_flag("--dry-run", options->dry_run, "print what would run, run nothing");
  command->add_flag("--json", options->json, "print the result as one JSON object");
  command->add_flag("--recreate", options->recreate, "replace the existing container (after the unsaved-files check)");
  command->add_flag("--skip-checks", options->skip_checks,
                    "start even when a host check fails (see `launcher doctor`)");
  command->add_option("--timeout", options->timeout_seconds, "seconds to wait for the service")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_option("--wait", options->wait,
                      "with gpus {\"count\": N}: wait up to DURATION (90s, 10m, 2h) in line for N free GPUs "
                      "instead of failing");
  command->callback([options, &context] { up(*options, context); });
}

} // namespace launcher::commands
