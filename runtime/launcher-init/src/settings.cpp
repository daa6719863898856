#include "settings.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "error.hpp"
#include "launcher_contract/contract.hpp"

namespace launcher_init {
namespace {

namespace contract = launcher::contract;

Error bad_setting(std::string_view name, std::string_view reason) {
  return failure("read setting", name, reason, exit_bad_usage);
}

std::optional<std::string_view> lookup(const Environment& environment, std::string_view name) {
  if (auto found = environment.find(name); found != environment.end()) return found->second;
  return std::nullopt;
}

std::string_view required(const Environment& environment, std::string_view name) {
  auto value = lookup(environment, name);
  if (!value || value->empty()) throw bad_setting(name, "not set");
  return *value;
}

template <typename Number>
Number parse_number(std::string_view name, std::string_view text, Number minimum, Number maximum) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < minimum || value > maximum) {
    throw bad_setting(name, "expected a number from " + std::to_string(minimum) + " to " + std::to_string(maximum) +
                                ", found '" + std::string(text) + "'");
  }
  return value;
}

std::uint16_t parse_port(const Environment& environment, std::string_view name, std::uint16_t fallback) {
  auto text = lookup(environment, name);
  if (!text) return fallback;
  return parse_number<std::uint16_t>(name, *text, 1, 65535);
}

// "1" on, "0" or unset off.
bool parse_switch(const Environment& environment, std::string_view name) {
  auto value = lookup(environment, name);
  if (!value) return false;
  if (*value != "0" && *value != "1") {
    throw bad_setting(name, "expected 0 or 1, found '" + std::string(*value) + "'");
  }
  return *value == "1";
}

Service parse_service(std::string_view text) {
  if (auto service = contract::service_named(text)) return *service;
  throw bad_setting(contract::env::service,
                    "expected " + contract::service_choices() + ", found '" + std::string(text) + "'");
}

// "jupyter,ssh" runs both; shell and command own the terminal, so they run alone.
std::vector<Service> parse_services(std::string_view text) {
  std::vector<Service> services;
  while (true) {
    auto comma = text.find(',');
    auto service = parse_service(text.substr(0, comma));
    if (std::find(services.begin(), services.end(), service) == services.end()) {
      services.push_back(service);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  bool foreground = std::any_of(services.begin(), services.end(), [](Service service) {
    return service == Service::shell || service == Service::command;
  });
  if (foreground && services.size() > 1) {
    throw bad_setting(contract::env::service, "shell and command cannot be combined with another service");
  }
  return services;
}

// The name becomes a passwd line and an sshd AllowUsers pattern: keep to useradd's portable set.
bool is_valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
           c == '-';
  });
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::filesystem::path absolute_path(std::string_view name, std::string_view text) {
  std::filesystem::path path{std::string(text)};
  if (!path.is_absolute()) {
    throw bad_setting(name, "expected an absolute path, found '" + std::string(text) + "'");
  }
  return path.lexically_normal();
}

} // namespace

bool Settings::has(Service service) const {
  return std::find(services.begin(), services.end(), service) != services.end();
}

std::filesystem::path Settings::under_root(const std::filesystem::path& absolute) const {
  if (root.empty()) return absolute;
  return root / absolute.relative_path();
}

Settings parse_settings(const Environment& environment) {
  Settings settings;
  settings.services = parse_services(required(environment, contract::env::service));
  constexpr auto max_id = std::numeric_limits<std::uint32_t>::max() - 1; // -1 means "no id"
  settings.uid = parse_number<uid_t>(contract::env::uid, required(environment, contract::env::uid), 0, max_id);
  settings.gid = parse_number<gid_t>(contract::env::gid, required(environment, contract::env::gid), 0, max_id);
  settings.user = required(environment, contract::env::user);
  if (!is_valid_user_name(settings.user)) {
    throw bad_setting(contract::env::user, "expected a lower-case user name, found '" + settings.user + "'");
  }
  if (settings.runs_as_root() != (settings.user == "root")) {
    throw bad_setting(contract::env::user, "uid 0 is root and only root has uid 0, found " + settings.user +
                                               " with uid " + std::to_string(settings.uid));
  }
  if (auto workdir = lookup(environment, contract::env::workdir); workdir && !workdir->empty()) {
    settings.workdir = absolute_path(contract::env::workdir, *workdir).string();
  }
  settings.sudo = parse_switch(environment, contract::env::sudo);
  settings.read_only_root = parse_switch(environment, contract::env::read_only_root);
  if (auto secrets = lookup(environment, contract::env::secrets_dir)) {
    settings.secrets_dir = absolute_path(contract::env::secrets_dir, *secrets);
    // Its parent becomes root-only: never / itself.
    if (settings.secrets_dir.parent_path() == settings.secrets_dir.root_path()) {
      throw bad_setting(contract::env::secrets_dir,
                        "expected a directory below a directory of its own, found '" + std::string(*secrets) + "'");
    }
  }
  if (auto root = lookup(environment, contract::env::root); root && !root->empty()) {
    settings.root = absolute_path(contract::env::root, *root);
  }
  if (auto address = lookup(environment, contract::env::listen_address); address && !address->empty()) {
    settings.listen_address = std::string(*address);
    if (!is_ip_address(*settings.listen_address)) {
      throw bad_setting(contract::env::listen_address,
                        "expected an IP address, found '" + *settings.listen_address + "'");
    }
  }
  settings.jupyter_port = parse_port(environment, contract::env::jupyter_port, settings.jupyter_port);
  settings.ssh_port = parse_port(environment, contract::env::ssh_port, settings.ssh_port);
  settings.ssh_forwarding = {parse_switch(environment, contract::env::ssh_agent_forwarding),
                             parse_switch(environment, contract::env::ssh_stream_local_forwarding),
                             parse_switch(environment, contract::env::ssh_user_rc)};
  if (auto timeout = lookup(environment, contract::env::stop_timeout)) {
    settings.stop_timeout = std::chrono::seconds(parse_number<int>(contract::env::stop_timeout, *timeout, 1, 3600));
  }
  constexpr int ten_years = 10 * 366 * 86400;
  if (auto stop_after = lookup(environment, contract::env::idle_stop_after)) {
    // Only Jupyter's and sshd's users come and go; a shell or command keeps the env until it ends.
    if (!settings.has(Service::jupyter) && !settings.has(Service::ssh)) {
      throw bad_setting(contract::env::idle_stop_after, "an idle stop needs the jupyter or ssh service, found " +
                                                            std::string(required(environment, contract::env::service)));
    }
    IdleSettings idle;
    idle.stop_after =
        std::chrono::seconds(parse_number<int>(contract::env::idle_stop_after, *stop_after, 1, ten_years));
    if (auto below = lookup(environment, contract::env::idle_gpu_util_below)) {
      idle.gpu_util_below = parse_number<int>(contract::env::idle_gpu_util_below, *below, 1, 100);
    }
    settings.idle = idle;
  }
  if (auto max_age = lookup(environment, contract::env::max_age)) {
    settings.max_age = std::chrono::seconds(parse_number<int>(contract::env::max_age, *max_age, 1, ten_years));
  }
  if (auto path = lookup(environment, "PATH"); path && !path->empty()) settings.program_path = *path;
  return settings;
}

Environment parse_environment(const char* const* envp) {
  Environment environment;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view entry(*envp);
    auto equals = entry.find('=');
    if (equals == std::string_view::npos) continue;
    environment.emplace(entry.substr(0, equals), entry.substr(equals + 1));
  }
  return environment;
}

Invocation parse_arguments(std::span<const std::string_view> arguments) {
  Invocation invocation;
  if (!arguments.empty() && arguments.front() == "health") {
    if (arguments.size() > 1) {
      throw failure("parse arguments", "health", "takes no arguments", exit_bad_usage);
    }
    invocation.mode = Invocation::Mode::health;
    return invocation;
  }
  if (!arguments.empty() && arguments.front() == "--") arguments = arguments.subspan(1);
  invocation.command.assign(arguments.begin(), arguments.end());
  return invocation;
}

void check_invocation(const Settings& settings, const Invocation& invocation) {
  if (invocation.mode == Invocation::Mode::health) return;
  if (settings.has(Service::command) && invocation.command.empty()) {
    throw failure("parse arguments", "command",
                  std::string(contract::env::service) + "=command needs the program to run as arguments",
                  exit_bad_usage);
  }
  if (!settings.has(Service::command) && !invocation.command.empty()) {
    throw failure("parse arguments", invocation.command.front(),
                  std::string("arguments are only accepted with ") + contract::env::service + "=command",
                  exit_bad_usage);
  }
}

} // namespace launcher_init
