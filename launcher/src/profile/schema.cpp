#include "profile/schema.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <regex>
#include <unordered_map>

#include "core/bytes.hpp"
#include "core/cpu_list.hpp"
#include "core/duration.hpp"
#include "core/env_name.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "launcher_contract/contract.hpp"
#include "launcher_contract/stop_reason.hpp"
#include "profile/gpu_request.hpp"
#include "profile/origin.hpp"
#include "profile/public_key.hpp"
#include "profile/slurm_time.hpp"

namespace launcher::profile {

using nlohmann::json;

namespace {

bool is_container_path_clean(const std::string& path) {
  for (const auto& part : split(path, '/'))
    if (part == "..") return false;
  return true;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

const std::vector<std::string> ulimit_names{"core",    "cpu",      "data",   "fsize",      "locks",
                                            "memlock", "msgqueue", "nice",   "nofile",     "nproc",
                                            "rss",     "rtprio",   "rttime", "sigpending", "stack"};

enum class Text { single_line, multi_line };

// [A-Za-z0-9][A-Za-z0-9._/-]*
bool is_label_key(std::string_view key) {
  if (key.empty() || !is_ascii_alphanumeric(key[0])) return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return is_ascii_alphanumeric(c) || c == '.' || c == '_' || c == '/' || c == '-'; });
}

// Walks one profile, checking and normalizing each field. Every failure names the source
// and the JSON pointer of the offending value.
class Checker {
public:
  Checker(const FieldContext& context, TypedFields& typed) : context_(context), typed_(typed) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& expected, const json& found) const {
    fail_because(pointer, "expected " + expected + ", found " + describe_json(found));
  }

  [[noreturn]] void fail_because(const std::string& pointer, const std::string& message) const {
    throw Error(ExitCode::usage, Origin{context_.source, pointer}.describe() + ": " + message);
  }

  void object_keys(const json& value, const std::string& pointer, const std::vector<std::string>& known,
                   const std::vector<std::string>& required = {}) const {
    if (!value.is_object()) fail(pointer, "an object", value);
    for (const auto& [key, item] : value.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        fail_because(child_pointer(pointer, key), "unknown key \"" + key + "\"" + did_you_mean(key, known));
    for (const auto& key : required)
      if (!value.contains(key)) fail_because(pointer, "missing required key \"" + key + "\"");
  }

  std::string text(json& value, const std::string& pointer, Text kind = Text::single_line) const {
    if (!value.is_string()) fail(pointer, "a string", value);
    std::string result = value.get<std::string>();
    if (!is_valid_utf8(result)) fail_because(pointer, quote_for_message(result) + " " + not_utf8_for_docker);
    if (context_.env) {
      try {
        EnvLookup recording = [&](const std::string& name) {
          if (context_.reads) context_.reads->push_back({pointer, name});
          return (*context_.env)(name);
        };
        result = interpolate(result, recording);
      } catch (const Error& error) {
        fail_because(pointer, error.what());
      }
    }
    if (result.size() > max_argument_bytes)
      fail_because(pointer, "a value is at most " + std::to_string(max_argument_bytes) +
                                " bytes (Linux's limit on one argument), found " + std::to_string(result.size()));
    if (result.find('\0') != std::string::npos) fail_because(pointer, "a NUL character is not allowed");
    if (kind == Text::single_line && result.find_first_of("\r\n") != std::string::npos)
      fail_because(pointer, "a newline is not allowed in " + quote_for_message(result));
    value = result;
    return result;
  }

  std::string one_of(json& value, const std::string& pointer, const std::vector<std::string>& choices) const {
    std::string expected;
    for (const auto& choice : choices)
      expected += (expected.empty() ? "" : " | ") + ("\"" + choice + "\"");
    if (!value.is_string()) fail(pointer, expected, value);
    std::string chosen = text(value, pointer);
    if (std::find(choices.begin(), choices.end(), chosen) == choices.end())
      fail_because(pointer, "expected " + expected + ", found " + describe_json(value) + did_you_mean(chosen, choices));
    return chosen;
  }

  long long integer(const json& value, const std::string& pointer, long long low, long long high,
                    const std::string& expected) const {
    bool beyond_signed = value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX;
    if (!value.is_number_integer() || beyond_signed) fail(pointer, expected, value);
    long long number = value.get<long long>();
    if (number < low || number > high) fail(pointer, expected, value);
    return number;
  }

  bool boolean(const json& value, const std::string& pointer) const {
    if (!value.is_boolean()) fail(pointer, "true or false", value);
    return value.get<bool>();
  }

  void byte_size(json& value, const std::string& pointer, std::uint64_t minimum,
                 const std::string& alternative = "") const {
    const std::string expected = "a size like \"16g\" or \"512m\" (a plain integer is bytes) of at least " +
                                 format_docker_size(minimum) + alternative;
    std::optional<std::uint64_t> bytes;
    if (value.is_number_unsigned())
      bytes = value.get<std::uint64_t>();
    else if (value.is_string())
      bytes = parse_byte_size(text(value, pointer));
    else
      fail(pointer, expected, value);
    if (!bytes || *bytes < minimum) fail(pointer, expected, value);
    value = *bytes;
  }

  // A string like "2h" (or a plain integer of seconds, what validation leaves), as whole seconds.
  void duration(json& value, const std::string& pointer) const {
    const std::string expected = "a duration like \"2h\", \"90m\" or \"1h30m\" (units d, h, m, s) from 1s to " +
                                 contract::format_duration(max_duration);
    std::optional<std::chrono::seconds> seconds;
    if (value.is_number_unsigned() && value.get<std::uint64_t>() <= static_cast<std::uint64_t>(max_duration.count()) &&
        value.get<std::uint64_t>() > 0)
      seconds = std::chrono::seconds(value.get<std::int64_t>());
    else if (value.is_string())
      seconds = parse_duration(text(value, pointer));
    if (!seconds) fail(pointer, expected, value);
    value = seconds->count();
  }

  void path_length(const std::string& path, const std::string& pointer) const {
    if (path.size() > max_path_bytes)
      fail_because(pointer, "a path is at most " + std::to_string(max_path_bytes) + " bytes, found " +
                                std::to_string(path.size()));
  }

  std::string container_path(json& value, const std::string& pointer) const {
    std::string path = text(value, pointer);
    path_length(path, pointer);
    if (path.empty() || path[0] != '/') fail(pointer, "an absolute container path", value);
    if (!is_container_path_clean(path))
      fail_because(pointer, "\"..\" is not allowed in container path " + quote_for_message(path));
    std::string normal = std::filesystem::path(path).lexically_normal().string();
    if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    value = normal;
    return normal;
  }

  std::string host_path(json& value, const std::string& pointer) const {
    std::string path = text(value, pointer);
    if (path.empty()) fail(pointer, "a host path", value);
    std::filesystem::path resolved;
    if (path == "~" || starts_with(path, "~/"))
      resolved = context_.home / path.substr(std::min<std::size_t>(2, path.size()));
    else if (path[0] == '~')
      fail_because(pointer, "\"~user\" paths are not supported, found " + quote_for_message(path));
    else
      resolved = context_.base_dir / path; // an absolute path replaces the base
    std::string normal = resolved.lexically_normal().string();
    if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    path_length(normal, pointer);
    value = normal;
    return normal;
  }

  std::string container_name(json& value, const std::string& pointer, const std::string& expected) const {
    std::string name = text(value, pointer);
    if (name.size() > max_name_length)
      fail_because(pointer, "a name is at most " + std::to_string(max_name_length) + " characters, found " +
                                std::to_string(name.size()));
    if (!is_valid_container_name(name)) fail(pointer, expected, value);
    return name;
  }

  // --- the profile's fields -------------------------------------------------------------

  void extends(json& value, const std::string& pointer) const {
    container_name(value, pointer, "the name of a profile");
  }

  void description(json& value, const std::string& pointer) const { text(value, pointer); }

  void image(json& value, const std::string& pointer) const {
    // Docker's reference grammar: [registry[:port]/]path[:tag][@sha256:digest].
    static const std::regex reference(
        "([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*"
        "(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?");
    std::string image = text(value, pointer);
    if (image.size() > max_image_reference_length)
      fail_because(pointer, "an image reference is at most " + std::to_string(max_image_reference_length) +
                                " characters, found " + std::to_string(image.size()));
    // Only after the length limit: the matcher recurses once per character.
    if (!std::regex_match(image, reference))
      fail(pointer, "an image reference like \"repo/name:tag\" or \"name@sha256:<digest>\"", value);
  }

  void service(json& value, const std::string& pointer) const {
    one_of(value, pointer, {"jupyter", "ssh", "shell", "command"});
  }

  void command(json& value, const std::string& pointer) const {
    if (!value.is_array() || value.empty()) fail(pointer, "a non-empty array of strings (exec form)", value);
    for (std::size_t i = 0; i < value.size(); ++i)
      text(value[i], child_pointer(pointer, i), Text::multi_line);
  }

  void gpus(json& value, const std::string& pointer) const {
    try {
      // The GPU list's own limit is checked before text()'s general one, whose message says less.
      if (value.is_string() && value.get_ref<const std::string&>().size() <= max_gpu_spec_length) text(value, pointer);
      typed_.gpus = parse_gpu_request(value);
    } catch (const GpuSpecError& error) {
      fail_because(pointer, std::string("expected ") + gpu_spec_expected + ", found " + describe_json(value) + " (" +
                                error.what() + ")");
    }
  }

  void ports(json& value, const std::string& pointer) const {
    if (!value.is_array())
      fail(pointer, "an array of {\"host\", \"container\", \"bind\", \"protocol\"} objects", value);
    const std::string port_range = "an integer 1-65535";
    for (std::size_t i = 0; i < value.size(); ++i) {
      json& port = value[i];
      std::string at = child_pointer(pointer, i);
      object_keys(port, at, {"host", "container", "bind", "protocol"}, {"container"});
      integer(port["container"], at + "/container", 1, 65535, port_range);
      if (!port.contains("host"))
        port["host"] = port["container"];
      else if (port["host"].is_string() && text(port["host"], at + "/host") == "auto") {
      } else
        integer(port["host"], at + "/host", 1, 65535, port_range + " or \"auto\"");
      if (!port.contains("bind"))
        port["bind"] = "127.0.0.1";
      else if (!is_ip_address(text(port["bind"], at + "/bind")))
        fail(at + "/bind", "an IPv4 or IPv6 address", port["bind"]);
      if (!port.contains("protocol"))
        port["protocol"] = "tcp";
      else
        one_of(port["protocol"], at + "/protocol", {"tcp", "udp"});
    }
  }

  void volumes(json& value, const std::string& pointer) const {
    if (!value.is_array())
      fail(pointer, "an array of {\"host\", \"container\", \"read_only\", \"create\"} objects", value);
    std::unordered_map<std::string, std::size_t> mounted_by; // container path -> the volume mounting it
    for (std::size_t i = 0; i < value.size(); ++i) {
      json& volume = value[i];
      std::string at = child_pointer(pointer, i);
      object_keys(volume, at, {"host", "container", "read_only", "create"}, {"host", "container"});
      host_path(volume["host"], at + "/host");
      std::string target = container_path(volume["container"], at + "/container");
      if (target == "/") fail_because(at + "/container", "mounting over the container's / is not allowed");
      if (auto [seen, fresh] = mounted_by.emplace(target, i); !fresh)
        fail_because(at + "/container", "container path " + target + " is already mounted by " +
                                            Origin{context_.source, child_pointer(pointer, seen->second)}.describe());
      volume["read_only"] = volume.contains("read_only") && boolean(volume["read_only"], at + "/read_only");
      volume["create"] = volume.contains("create") && boolean(volume["create"], at + "/create");
    }
  }

  void env(json& value, const std::string& pointer) const {
    if (!value.is_object()) fail(pointer, "an object of NAME: value", value);
    for (auto& [key, item] : value.items()) {
      std::string at = child_pointer(pointer, key);
      if (!is_environment_name(key))
        fail_because(at, "expected an environment variable name matching [A-Za-z_][A-Za-z0-9_]*, found " +
                             quote_for_message(key));
      // launcher-init reads its settings from LAUNCHER_* and takes the first of two: a profile's
      // value would come first (the --env-file precedes the settings) and name the env's user.
      if (key.rfind("LAUNCHER_", 0) == 0)
        fail_because(at, key + ": LAUNCHER_* variables are the launcher's own settings for launcher-init (the "
                               "env's user, services, ports); a profile or -e cannot set them");
      if (item.is_number()) item = item.dump();
      if (!item.is_string()) fail(at, "a string", item);
      // It reaches docker run as one line of an --env-file, never as an argument: the Docker CLI
      // reads lines of at most 65535 bytes (render::env_file_line_limit); text() refuses line breaks.
      constexpr std::size_t env_file_line_limit = 65535;
      if (std::size_t size = key.size() + 1 + text(item, at).size(); size > env_file_line_limit)
        fail_because(at, "NAME=VALUE is at most " + std::to_string(env_file_line_limit) +
                             " bytes (the longest line docker run's --env-file reads), found " + std::to_string(size));
    }
  }

  void workdir(json& value, const std::string& pointer) const { container_path(value, pointer); }

  void user(json& value, const std::string& pointer) const {
    if (value.is_string()) {
      one_of(value, pointer, {"host", "root"});
      return;
    }
    static const std::regex user_name("[a-z_][a-z0-9_-]{0,31}");
    const std::string expected = "\"host\", \"root\" or {\"uid\": N, \"gid\": N, \"name\": \"...\"}";
    if (!value.is_object()) fail(pointer, expected, value);
    object_keys(value, pointer, {"uid", "gid", "name"}, {"uid", "gid"});
    integer(value["uid"], pointer + "/uid", 0, 2147483647, "a user id 0-2147483647");
    integer(value["gid"], pointer + "/gid", 0, 2147483647, "a group id 0-2147483647");
    if (value.contains("name") && !std::regex_match(text(value["name"], pointer + "/name"), user_name))
      fail(pointer + "/name", "a user name matching [a-z_][a-z0-9_-]*", value["name"]);
  }

  void shm_size(json& value, const std::string& pointer) const { byte_size(value, pointer, 1ULL << 20); }

  void ipc(json& value, const std::string& pointer) const { one_of(value, pointer, {"private", "shareable", "host"}); }

  void ulimits(json& value, const std::string& pointer) const {
    if (!value.is_object()) fail(pointer, "an object of name: limit", value);
    const std::string limit = "-1 (unlimited) or an integer >= 0";
    for (auto& [name, item] : value.items()) {
      std::string at = child_pointer(pointer, name);
      if (std::find(ulimit_names.begin(), ulimit_names.end(), name) == ulimit_names.end())
        fail_because(at, "unknown ulimit \"" + name + "\"" + did_you_mean(name, ulimit_names));
      if (item.is_number_integer())
        item = {{"soft", item}, {"hard", item}};
      else if (!item.is_object())
        fail(at, limit + ", or {\"soft\": N, \"hard\": N}", item);
      object_keys(item, at, {"soft", "hard"}, {"soft", "hard"});
      long long soft = integer(item["soft"], at + "/soft", -1, INT64_MAX, limit);
      long long hard = integer(item["hard"], at + "/hard", -1, INT64_MAX, limit);
      bool soft_above_hard = hard != -1 && (soft == -1 || soft > hard);
      if (soft_above_hard)
        fail_because(at, "the soft limit " + std::to_string(soft) + " is above the hard limit " + std::to_string(hard));
    }
  }

  void resources(json& value, const std::string& pointer) const {
    object_keys(value, pointer, {"cpus", "memory", "pids_limit", "cpu_shares", "cpuset_cpus", "cpuset_mems"});
    if (value.contains("cpus")) {
      const json& cpus = value["cpus"];
      if (!cpus.is_number() || cpus.get<double>() <= 0 || cpus.get<double>() > 4096)
        fail(pointer + "/cpus", "a number of CPUs above 0, like 8 or 0.5", cpus);
    }
    // Below this neither Jupyter nor sshd starts; "unlimited" is the explicit way out of the default.
    if (value.contains("memory") && value["memory"] != "unlimited")
      byte_size(value["memory"], pointer + "/memory", min_memory_limit, ", or \"unlimited\"");
    if (value.contains("pids_limit")) {
      long long limit =
          integer(value["pids_limit"], pointer + "/pids_limit", -1, INT32_MAX, "-1 (unlimited) or an integer >= 1");
      if (limit == 0) fail(pointer + "/pids_limit", "-1 (unlimited) or an integer >= 1", value["pids_limit"]);
    }
    // The kernel's cpu.shares range, which Docker passes on.
    if (value.contains("cpu_shares"))
      integer(value["cpu_shares"], pointer + "/cpu_shares", 2, 262144,
              "CPU shares from 2 to 262144 (1024 is the default weight)");
    for (const char* key : {"cpuset_cpus", "cpuset_mems"}) {
      if (!value.contains(key)) continue;
      std::string list = text(value[key], pointer + "/" + key);
      if (list != "auto" && list != "all" && !parse_cpu_list(list))
        fail(pointer + "/" + key, "\"auto\" (next to the GPUs), \"all\" or a list like \"0-15,32-47\"", value[key]);
      value[key] = list;
    }
  }

  void restart(json& value, const std::string& pointer) const {
    static const std::regex policy("no|always|unless-stopped|on-failure(:[1-9][0-9]{0,5})?");
    if (!std::regex_match(text(value, pointer), policy))
      fail(pointer, "\"no\", \"always\", \"unless-stopped\", \"on-failure\" or \"on-failure:N\"", value);
  }

  void labels(json& value, const std::string& pointer) const {
    if (!value.is_object()) fail(pointer, "an object of key: value", value);
    for (auto& [key, item] : value.items()) {
      std::string at = child_pointer(pointer, key);
      if (!is_label_key(key))
        fail_because(at,
                     "expected a label key of letters, digits, '.', '_', '/' or '-', found " + quote_for_message(key));
      if (starts_with(key, contract::label::prefix))
        fail_because(at, std::string("labels under ") + contract::label::prefix +
                             " are set by the launcher itself, found " + quote_for_message(key));
      text(item, at);
    }
  }

  // The env's name: its container's, its state directory's and its lock's (core/env_name.hpp).
  void name(json& value, const std::string& pointer) const {
    std::string name = text(value, pointer);
    if (std::string problem = env_name_problem(name); !problem.empty())
      fail_because(pointer,
                   "invalid environment name " + quote_for_message(name) + ": " + problem + "; " + env_name_rule);
  }

  // Docker's own networks would undo the isolation: "bridge" lets every container on it reach
  // the others' services, "host" and "none" drop the env's network namespace or its network.
  void network(json& value, const std::string& pointer) const {
    const std::string& network = text(value, pointer);
    if (network == "bridge" || network == "host" || network == "none")
      fail_because(pointer, "Docker's \"" + network +
                                "\" network is not for launcher environments (each gets an isolated network "
                                "of its own unless the profile names a shared one), found " +
                                quote_for_message(network));
    if (!is_valid_container_name(network))
      fail(pointer, "a network name Docker accepts: a letter or digit, then letters, digits, '_', '.' or '-'", value);
  }

  // When the env stops itself for want of use; launcher-init decides inside.
  void idle(json& value, const std::string& pointer) const {
    object_keys(value, pointer, {"stop_after", "gpu_util_below"}, {"stop_after"});
    duration(value["stop_after"], pointer + "/stop_after");
    if (value.contains("gpu_util_below"))
      integer(value["gpu_util_below"], pointer + "/gpu_util_below", 1, 100, "a percentage from 1 to 100");
  }

  void max_age(json& value, const std::string& pointer) const { duration(value, pointer); }

  // Where and what launcher-init backs up inside the env. The keys themselves come from the
  // host's AWS credentials file (named by "credentials"), never from a profile.
  void backup(json& value, const std::string& pointer) const {
    object_keys(value, pointer, {"to", "paths", "every", "keep", "endpoint", "credentials"}, {"to", "paths"});
    // S3's bucket names, then a prefix of plain path segments.
    static const std::regex repository("s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9_.-]+)*/?");
    std::string to = text(value["to"], pointer + "/to");
    bool dot_segment = to.find("/./") != std::string::npos || to.find("/../") != std::string::npos ||
                       to.ends_with("/.") || to.ends_with("/..");
    if (!std::regex_match(to, repository) || dot_segment)
      fail(pointer + "/to",
           "\"s3://BUCKET\" or \"s3://BUCKET/PREFIX\" (a bucket of 3-63 lowercase letters, digits, '.' or '-'; "
           "prefix segments of letters, digits, '_', '.' or '-')",
           value["to"]);
    if (to.back() == '/') value["to"] = to.substr(0, to.size() - 1);
    json& paths = value["paths"];
    if (!paths.is_array() || paths.empty())
      fail(pointer + "/paths", "a non-empty array of absolute container paths", paths);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      std::string at = child_pointer(pointer + "/paths", i);
      if (container_path(paths[i], at) == "/")
        fail_because(at, "backing up the container's whole / is not allowed; name the directories to keep");
    }
    if (value.contains("every")) duration(value["every"], pointer + "/every");
    if (value.contains("keep")) integer(value["keep"], pointer + "/keep", 1, 1000, "1-1000 complete versions");
    // No user:password@ part: a secret there would reach the env's variables and labels.
    static const std::regex endpoint("https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?/?");
    if (value.contains("endpoint") && !std::regex_match(text(value["endpoint"], pointer + "/endpoint"), endpoint))
      fail(pointer + "/endpoint",
           "an S3 endpoint URL like \"http://host.docker.internal:9000\" or \"https://s3.example.com\" (scheme, "
           "host and port only; the keys go in the AWS credentials file)",
           value["endpoint"]);
    static const std::regex profile_name("[A-Za-z0-9_.@+-]{1,64}");
    if (value.contains("credentials") &&
        !std::regex_match(text(value["credentials"], pointer + "/credentials"), profile_name))
      fail(pointer + "/credentials",
           "the name of a profile of the AWS credentials file (letters, digits, '_', '.', '@', '+' or '-')",
           value["credentials"]);
  }

  void privileged(json& value, const std::string& pointer) const { boolean(value, pointer); }

  void sudo(json& value, const std::string& pointer) const { boolean(value, pointer); }

  void read_only_root(json& value, const std::string& pointer) const { boolean(value, pointer); }

  void jupyter(json& value, const std::string& pointer) const {
    object_keys(value, pointer, {"auth"});
    if (value.contains("auth")) one_of(value["auth"], pointer + "/auth", {"token", "password"});
  }

  void ssh(json& value, const std::string& pointer) const {
    object_keys(value, pointer,
                {"authorized_keys", "password", "agent_forwarding", "stream_local_forwarding", "user_rc"});
    for (const char* key : {"password", "agent_forwarding", "stream_local_forwarding", "user_rc"})
      if (value.contains(key)) boolean(value[key], pointer + "/" + key);
    if (!value.contains("authorized_keys")) return;
    json& keys = value["authorized_keys"];
    if (!keys.is_array() || keys.empty())
      fail(pointer + "/authorized_keys", "a non-empty array of public key files or literal public keys", keys);
    // A literal key starts with its type ("ssh-ed25519 AAAA..."); anything else is a file.
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string at = child_pointer(pointer + "/authorized_keys", i);
      if (!is_literal_public_key(text(keys[i], at))) host_path(keys[i], at);
    }
  }

  // How `launcher submit` runs the image on a Slurm cluster: the nodes' runtime ("docker",
  // "pyxis" or "apptainer"), whether docker nodes pull, the job's default time limit, torchrun's
  // restarts, and where apptainer's SIFs are built (a directory every node shares).
  void slurm(json& value, const std::string& pointer) const {
    object_keys(value, pointer, {"runtime", "pull", "time", "max_restarts", "sif_cache"});
    if (value.contains("runtime")) one_of(value["runtime"], pointer + "/runtime", {"docker", "pyxis", "apptainer"});
    if (value.contains("sif_cache")) host_path(value["sif_cache"], pointer + "/sif_cache");
    if (value.contains("pull")) boolean(value["pull"], pointer + "/pull");
    if (value.contains("time") &&
        (!value["time"].is_string() || !is_slurm_time_limit(value["time"].get<std::string>())))
      fail(pointer + "/time", slurm_time_limit_form, value["time"]);
    if (value.contains("max_restarts"))
      integer(value["max_restarts"], pointer + "/max_restarts", 0, 100, "0-100 restarts of torchrun's workers");
  }

  void allow(json& value, const std::string& pointer) const {
    if (!value.is_array()) fail(pointer, "an array of opt-in names", value);
    for (std::size_t i = 0; i < value.size(); ++i)
      one_of(value[i], child_pointer(pointer, i), dangerous_opt_ins());
  }

private:
  const FieldContext& context_;
  TypedFields& typed_; // where checks that type a field put the value
};

using FieldCheck = void (Checker::*)(json&, const std::string&) const;

const std::vector<std::pair<std::string, FieldCheck>>& field_checks() {
  static const std::vector<std::pair<std::string, FieldCheck>> checks{
      {"extends", &Checker::extends},
      {"description", &Checker::description},
      {"image", &Checker::image},
      {"service", &Checker::service},
      {"command", &Checker::command},
      {"gpus", &Checker::gpus},
      {"ports", &Checker::ports},
      {"volumes", &Checker::volumes},
      {"env", &Checker::env},
      {"workdir", &Checker::workdir},
      {"user", &Checker::user},
      {"shm_size", &Checker::shm_size},
      {"ipc", &Checker::ipc},
      {"ulimits", &Checker::ulimits},
      {"resources", &Checker::resources},
      {"restart", &Checker::restart},
      {"idle", &Checker::idle},
      {"max_age", &Checker::max_age},
      {"backup", &Checker::backup},
      {"labels", &Checker::labels},
      {"name", &Checker::name},
      {"privileged", &Checker::privileged},
      {"allow", &Checker::allow},
      {"sudo", &Checker::sudo},
      {"jupyter", &Checker::jupyter},
      {"ssh", &Checker::ssh},
      {"network", &Checker::network},
      {"read_only_root", &Checker::read_only_root},
      {"slurm", &Checker::slurm},
  };
  return checks;
}

} // namespace

std::vector<std::string> profile_keys() {
  std::vector<std::string> keys;
  for (const auto& [key, check] : field_checks())
    keys.push_back(key);
  return keys;
}

const std::vector<std::string>& dangerous_opt_ins() {
  static const std::vector<std::string> names{"privileged",
                                              "mount-root",
                                              "mount-etc",
                                              "mount-system",
                                              "mount-docker-data",
                                              "mount-docker-socket",
                                              "unauthenticated-public-port"};
  return names;
}

bool is_valid_container_name(const std::string& name) {
  // [a-zA-Z0-9][a-zA-Z0-9_.-]+
  if (name.size() < 2 || name.size() > max_name_length || !is_ascii_alphanumeric(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_ascii_alphanumeric(c) || c == '_' || c == '.' || c == '-'; });
}

bool is_slurm_time_limit(const std::string& text) {
  static const std::regex form(
      "[0-9]{1,7}(:[0-9]{1,2}(:[0-9]{1,2})?)?|[0-9]{1,5}-[0-9]{1,2}(:[0-9]{1,2}(:[0-9]{1,2})?)?");
  return std::regex_match(text, form);
}

TypedFields normalize_profile(json& profile, const FieldContext& context, const std::string& pointer) {
  TypedFields typed;
  Checker checker(context, typed);
  checker.object_keys(profile, pointer, profile_keys());
  for (const auto& [key, check] : field_checks())
    if (profile.contains(key)) (checker.*check)(profile[key], child_pointer(pointer, key));
  if (typed.gpus) profile.erase("gpus");
  return typed;
}

} // namespace launcher::profile
