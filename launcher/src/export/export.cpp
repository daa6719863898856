#include "export/export.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "export/yaml.hpp"
#include "launcher_contract/contract.hpp"
#include "matrix/version.hpp"
#include "render/render.hpp"

namespace launcher::exporting {

using nlohmann::json;

namespace {

constexpr const char* health_start_interval_since = "25.0";
// The start period of the images' HEALTHCHECK (images/Dockerfile), stated so that the start
// interval applies for as long whatever the image says; checks every half second while the
// service starts, as often as Compose's --wait looks at the container.
constexpr const char* health_start_period = "60s";
constexpr const char* health_start_interval = "500ms";

// Every field of plan::to_json that the rendered `docker run` carries. A pointer to an object
// lists its members one by one, so that a member added later is not taken as expressed.
// "/backup/credentials" names the keys, which `export` copies into the secrets as `up` does.
const std::vector<std::string> docker_run_fields{"/env",
                                                 "/profile",
                                                 "/image",
                                                 "/service",
                                                 "/command",
                                                 "/gpus",
                                                 "/gpu_runtime",
                                                 "/ports",
                                                 "/mounts",
                                                 "/create_directories",
                                                 "/environment",
                                                 "/workdir",
                                                 "/user/uid",
                                                 "/user/gid",
                                                 "/user/name",
                                                 "/user/sudo",
                                                 "/access/secrets_dir",
                                                 "/access/jupyter_auth",
                                                 "/access/authorized_keys",
                                                 "/access/ssh_password",
                                                 "/access/ssh_forwarding/agent",
                                                 "/access/ssh_forwarding/stream_local",
                                                 "/access/ssh_forwarding/user_rc",
                                                 "/shm_size",
                                                 "/ipc",
                                                 "/ulimits",
                                                 "/resources/cpus",
                                                 "/resources/memory",
                                                 "/resources/pids_limit",
                                                 "/resources/cpu_shares",
                                                 "/resources/cpuset_cpus",
                                                 "/resources/cpuset_mems",
                                                 "/restart",
                                                 "/labels",
                                                 "/privileged",
                                                 "/network",
                                                 "/read_only_root",
                                                 "/idle/stop_after",
                                                 "/idle/gpu_util_below",
                                                 "/max_age",
                                                 "/backup/repository",
                                                 "/backup/paths",
                                                 "/backup/every",
                                                 "/backup/keep",
                                                 "/backup/endpoint",
                                                 "/backup/credentials"};

bool asks_for_something(const json& value) {
  bool empty_text = value.is_string() && value.get_ref<const std::string&>().empty();
  return !(value.is_null() || value == false || empty_text || (value.is_structured() && value.empty()));
}

void collect_unexpressed(const json& node, const std::string& pointer, const std::vector<std::string>& expressed,
                         const std::vector<std::string>& by_member, std::vector<std::string>& found) {
  for (const auto& [key, value] : node.items()) {
    std::string field = pointer + "/" + key;
    if (std::find(expressed.begin(), expressed.end(), field) != expressed.end()) continue;
    bool members_listed = std::any_of(expressed.begin(), expressed.end(),
                                      [&](const std::string& entry) { return entry.rfind(field + "/", 0) == 0; });
    bool looked_into = std::find(by_member.begin(), by_member.end(), field) != by_member.end();
    if (value.is_object() && (members_listed || looked_into))
      collect_unexpressed(value, field, expressed, by_member, found);
    else if (asks_for_something(value))
      found.push_back(field);
  }
}

// The values of one option of the rendered command, in order.
std::vector<std::string> values_of(const render::ContainerCommand& command, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& option : command.options)
    if (option[0] == name && option.size() == 2) values.push_back(option[1]);
  return values;
}

bool has_flag(const render::ContainerCommand& command, std::string_view name) {
  return std::any_of(command.options.begin(), command.options.end(), [&](const std::vector<std::string>& option) {
    return option == std::vector<std::string>{std::string(name)};
  });
}

// NAME=VALUE, split at the first '=' as Docker splits --env and --label.
std::pair<std::string, std::string> assignment(const std::string& text) {
  auto equals = text.find('=');
  return {text.substr(0, equals), equals == std::string::npos ? "" : text.substr(equals + 1)};
}

json assignments(const std::vector<std::string>& values) {
  json object = json::object();
  for (const auto& value : values) {
    auto [name, content] = assignment(value);
    object[name] = content;
  }
  return object;
}

// Options whose rendered value is the value of one compose key, as it is.
constexpr std::pair<std::string_view, std::string_view> value_options[] = {{"--name", "container_name"},
                                                                           {"--pull", "pull_policy"},
                                                                           {"--workdir", "working_dir"},
                                                                           {"--shm-size", "shm_size"},
                                                                           {"--ipc", "ipc"},
                                                                           {"--cpus", "cpus"},
                                                                           {"--memory", "mem_limit"},
                                                                           {"--pids-limit", "pids_limit"},
                                                                           {"--restart", "restart"},
                                                                           {"--memory-swap", "memswap_limit"},
                                                                           {"--cpu-shares", "cpu_shares"},
                                                                           {"--cpuset-cpus", "cpuset"},
                                                                           // Podman's keep-id, as root
                                                                           {"--userns", "userns_mode"},
                                                                           {"--user", "user"}};
constexpr std::pair<std::string_view, std::string_view> list_options[] = {
    {"--add-host", "extra_hosts"},      {"--tmpfs", "tmpfs"},   {"--cap-drop", "cap_drop"}, {"--cap-add", "cap_add"},
    {"--security-opt", "security_opt"}, {"--sysctl", "sysctls"}};
constexpr std::pair<std::string_view, std::string_view> flag_options[] = {
    {"--interactive", "stdin_open"}, {"--tty", "tty"}, {"--privileged", "privileged"}, {"--read-only", "read_only"}};
// The engine's flags that Compose has no key for: Podman's, that leaves the account of keep-id's
// user to launcher-init (without it the user's home is the working directory).
constexpr std::string_view flags_compose_cannot_say[] = {"--passwd=false"};

// The container `up` makes of the plan on the export's engine.
render::ContainerCommand container_of(const plan::Plan& plan, const Engine& engine) {
  return engine.container ? *engine.container : render::render_container_command(plan, rendered_env_file);
}

json compose_ports(const plan::Plan& plan) {
  json ports = json::array();
  for (const auto& binding : plan.ports) {
    json port{{"target", binding.container_port},
              {"host_ip", binding.bind},
              {"protocol", plan::name(binding.protocol)},
              {"mode", "host"}};
    if (binding.host_port) port["published"] = std::to_string(*binding.host_port); // none: Docker picks one
    ports.push_back(port);
  }
  return ports;
}

json compose_volumes(const plan::Plan& plan) {
  json volumes = json::array();
  auto bind = [&](const std::string& source, const std::string& target, bool read_only) {
    json volume{{"type", "bind"}, {"source", source}, {"target", target}, {"read_only", read_only}};
    const auto& made = plan.create_directories;
    if (std::find(made.begin(), made.end(), source) != made.end()) volume["bind"] = {{"create_host_path", true}};
    volumes.push_back(volume);
  };
  for (const auto& mount : plan.mounts)
    bind(mount.source, mount.target, mount.read_only);
  // The secrets reach the container as `up` hands them over: this directory, read-only.
  if (!plan.access.secrets_dir.empty()) bind(plan.access.secrets_dir, contract::mount::secrets_dir, true);
  return volumes;
}

json compose_gpu_reservation(const plan::GpuAssignment& gpus) {
  json device{{"driver", "nvidia"}, {"capabilities", json::array({"gpu"})}};
  if (gpus.kind == plan::GpuAssignment::Kind::all)
    device["count"] = "all";
  else
    device["device_ids"] = gpus.devices;
  return {{"resources", {{"reservations", {{"devices", json::array({device})}}}}}};
}

// Compose project names are lowercase letters, digits, '_' and '-'; environment names may also
// hold capitals and '.'.
std::string project_name(const std::string& env) {
  std::string name;
  for (char c : env)
    name += c == '.' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool is_engine_option(const std::string& dropped) { return starts_with(dropped, "--"); }

// "the plan's "a", "b" and the engine's --c --d": plan pointers without their '/'.
std::string dropped_list(const std::vector<std::string>& dropped) {
  std::string fields, options;
  for (const auto& entry : dropped) {
    if (is_engine_option(entry))
      options += (options.empty() ? "the engine's " : " ") + entry;
    else
      fields += (fields.empty() ? "the plan's \"" : ", \"") + entry.substr(1) + "\"";
  }
  return fields.empty() || options.empty() ? fields + options : fields + " and " + options;
}

} // namespace

const std::vector<std::string>& rendered_fields() { return docker_run_fields; }

Format parse_format(const std::string& name) {
  if (name == "compose") return Format::compose;
  if (name == "devcontainer") return Format::devcontainer;
  throw Error(ExitCode::usage, "command line (--format " + name + "): unknown format \"" + name +
                                   "\"; expected compose or devcontainer");
}

std::vector<std::string> unexpressed_fields(const json& plan_json, const std::vector<std::string>& expressed,
                                            const std::vector<std::string>& by_member) {
  std::vector<std::string> found;
  collect_unexpressed(plan_json, "", expressed, by_member, found);
  return found;
}

// The launcher's own settings with their values, and the profile's env by name only (null):
// Compose takes each value from the shell it runs in or from the .env file beside the compose
// file, which `export -o` writes with the names for the user to fill.
json compose_environment(const render::ContainerCommand& rendered) {
  json environment = assignments(values_of(rendered, "--env"));
  for (const auto& [name, value] : rendered.environment)
    environment[name] = nullptr;
  return environment;
}

Engine engine_of(const std::string& server_version) {
  Engine engine;
  engine.health_start_interval =
      !server_version.empty() && matrix::compare_versions(server_version, health_start_interval_since) >= 0;
  return engine;
}

Document compose_document(const plan::Plan& plan, const Engine& engine) {
  render::ContainerCommand rendered = container_of(plan, engine);
  json service{{"image", rendered.image_and_command.front()},
               {"labels", assignments(values_of(rendered, "--label"))},
               {"environment", compose_environment(rendered)},
               {"networks", {{plan.network, json::object()}}},
               {"ports", compose_ports(plan)},
               {"volumes", compose_volumes(plan)}};
  for (auto [option, key] : value_options)
    if (auto values = values_of(rendered, option); !values.empty()) service[std::string(key)] = values.front();
  for (auto [option, key] : list_options)
    if (auto values = values_of(rendered, option); !values.empty()) service[std::string(key)] = values;
  for (auto [option, key] : flag_options)
    if (has_flag(rendered, option)) service[std::string(key)] = true;
  json ulimits = json::object();
  for (const auto& limit : plan.ulimits)
    ulimits[limit.name] = {{"soft", limit.soft}, {"hard", limit.hard}};
  if (!ulimits.empty()) service["ulimits"] = ulimits;
  if (plan.gpus.kind != plan::GpuAssignment::Kind::none) service["deploy"] = compose_gpu_reservation(plan.gpus);
  // The image's own test and intervals stay; without a start interval an engine first checks
  // after 5 s (Engine 25 and later) or the image's full interval (15 s) (older ones).
  if (engine.health_start_interval)
    service["healthcheck"] = {{"start_period", health_start_period}, {"start_interval", health_start_interval}};
  if (rendered.image_and_command.size() > 1)
    service["command"] =
        std::vector<std::string>(rendered.image_and_command.begin() + 1, rendered.image_and_command.end());
  // The env's own network is declared as `up` makes it (traffic between containers off, under
  // its own name), so that Compose makes it whenever it is missing: `launcher down` removes it.
  // A shared network is the profiles' to make, and no `down` removes it.
  json network{{"external", true}};
  if (plan.network == plan::own_network(plan.env))
    network = {{"name", plan.network},
               {"driver", "bridge"},
               {"driver_opts", engine.isolated_network_options},
               {"labels", {{contract::label::env, plan.env}}}};
  json document{{"name", project_name(plan.env)},
                {"services", {{plan::name(plan.service), service}}},
                {"networks", {{plan.network, network}}}};
  // The compose spec has no key for the NUMA nodes of --cpuset-mems; the GPU reservation written
  // above is the nvidia driver's, not CDI devices.
  std::vector<std::string> expressed = docker_run_fields;
  for (const char* field : {"/resources/cpuset_mems", "/gpu_runtime"})
    expressed.erase(std::find(expressed.begin(), expressed.end(), field));
  std::vector<std::string> dropped = unexpressed_fields(plan::to_json(plan), expressed);
  for (std::string_view flag : flags_compose_cannot_say)
    if (has_flag(rendered, flag)) dropped.emplace_back(flag);
  return {document, dropped};
}

Document devcontainer_document(const plan::Plan& plan, const Engine& engine) {
  render::ContainerCommand rendered = container_of(plan, engine);
  std::vector<std::string> run_args;
  json mounts = json::array(), app_port = json::array(), container_env = json::object();
  // The profile's env by name: the devcontainer CLI takes each value from its own environment.
  for (const auto& [name, value] : rendered.environment)
    container_env[name] = "${localEnv:" + name + "}";
  for (const auto& option : rendered.options) {
    if (option[0] == "--env-file") continue;
    if (option[0] == "--env")
      container_env[assignment(option[1]).first] = assignment(option[1]).second;
    else if (option[0] == "--mount")
      mounts.push_back(option[1]);
    // appPort publishes as given; the devcontainer CLI ignores forwardPorts.
    else if (option[0] == "--publish")
      app_port.push_back(option[1]);
    else
      run_args.insert(run_args.end(), option.begin(), option.end());
  }
  json document{{"name", plan.env},
                {"image", rendered.image_and_command.front()},
                {"runArgs", run_args},
                {"mounts", mounts},
                {"containerEnv", container_env},
                {"appPort", app_port},
                {"remoteUser", plan.user.name},
                // launcher-init makes the user with the host's UID/GID at start: no image to rebuild.
                {"updateRemoteUserUID", false},
                // The image's entrypoint, launcher-init, starts the service, not the CLI's sleep loop.
                {"overrideCommand", false}};
  // runArgs join the env's own network: made on the host before each start when missing (as `up`
  // makes it), since `launcher down` removes it. A shared network is the profiles' to make.
  if (plan.network == plan::own_network(plan.env) && !engine.network_create_command.empty())
    document["initializeCommand"] = {"sh", "-c",
                                     render::shell_words(engine.network_exists_command) + " >/dev/null 2>&1 || " +
                                         render::shell_words(engine.network_create_command) + " >/dev/null"};
  // Which GPUs is said in runArgs (--gpus); hostRequirements cannot select devices.
  if (plan.gpus.kind != plan::GpuAssignment::Kind::none) document["hostRequirements"] = {{"gpu", true}};
  // An image-based devcontainer runs the image's command: a `command` service's program has no key.
  std::vector<std::string> expressed = docker_run_fields;
  expressed.erase(std::find(expressed.begin(), expressed.end(), "/command"));
  return {document, unexpressed_fields(plan::to_json(plan), expressed)};
}

std::vector<std::string> environment_names(const plan::Plan& plan) {
  std::vector<std::string> names;
  for (const auto& [name, value] : plan.environment)
    names.push_back(name);
  return names;
}

std::string env_file_template(const std::vector<std::string>& names, const std::string& exported_file) {
  std::string text = "# The values of the environment's variables for " + exported_file +
                     ": fill them in.\n# Compose reads this file; `launcher export` never writes a value, nor over "
                     "this file.\n";
  for (const auto& name : names)
    text += name + "=\n";
  return text;
}

std::vector<std::string> names_missing_from(const std::string& env_file_text, const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  for (const auto& name : names) {
    bool found = false;
    for (const auto& line : split(env_file_text, '\n')) {
      std::string_view rest(line);
      rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
      if (rest.rfind("export ", 0) == 0) rest.remove_prefix(7);
      if (rest.rfind(name, 0) == 0 && rest.size() > name.size() &&
          (rest[name.size()] == '=' || rest[name.size()] == ' ' || rest[name.size()] == ':'))
        found = true;
    }
    if (!found) missing.push_back(name);
  }
  return missing;
}

void refuse_unless_lossy(const std::string& target, const std::vector<std::string>& dropped, bool lossy,
                         const std::string& verb) {
  if (!dropped.empty() && !lossy)
    throw Error(ExitCode::usage, target + " cannot express " + dropped_list(dropped) + "; --lossy " + verb +
                                     " without " + (dropped.size() == 1 ? "it" : "them"));
}

std::string lossy_warnings(const std::vector<std::string>& dropped, const std::string& whole) {
  std::string warnings;
  for (const auto& entry : dropped)
    warnings += "launcher: warning: left out of " + whole + ": " + dropped_list({entry}) + " (--lossy)\n";
  return warnings;
}

Exported export_plan(const plan::Plan& plan, Format format, bool lossy, const Engine& engine) {
  bool compose = format == Format::compose;
  Document document = compose ? compose_document(plan, engine) : devcontainer_document(plan, engine);
  refuse_unless_lossy(compose ? "compose" : "devcontainer", document.dropped, lossy, "exports");
  try {
    return {compose ? to_yaml(document.content) : document.content.dump(2) + "\n", document.dropped,
            environment_names(plan)};
  } catch (const json::type_error& error) {
    throw Error(ExitCode::usage, std::string("cannot export the plan: ") + json_error_text(error)); // not UTF-8
  }
}

} // namespace launcher::exporting
