#include "profile/flags.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "profile/catalog.hpp"

namespace launcher::profile {

using nlohmann::json;

namespace {

// Numbers become JSON integers so the schema checks their range; anything else stays text.
json port_number(const std::string& text) {
  bool digits = !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
  return digits ? json(std::stoll(text)) : json(text);
}

json parse_port(const std::string& flag, const std::string& value) {
  auto fail = [&] {
    throw Error(ExitCode::usage, flag +
                                     ": expected [IP:]HOST:CONTAINER[/tcp|udp] (HOST may be \"auto\"), like "
                                     "8888:8888 or 127.0.0.1:6006:6006, found " +
                                     quote_for_message(value));
  };
  std::string rest = value;
  json port = json::object();
  if (auto slash = rest.rfind('/'); slash != std::string::npos) {
    port["protocol"] = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (starts_with(rest, "[")) { // [IPv6]:HOST:CONTAINER
    auto close = rest.find("]:");
    if (close == std::string::npos) fail();
    port["bind"] = rest.substr(1, close - 1);
    rest = rest.substr(close + 2);
  }
  std::vector<std::string> parts = split(rest, ':');
  if (parts.size() == 3 && !port.contains("bind")) {
    port["bind"] = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.size() != 2 || parts[1].empty()) fail();
  port["host"] = parts[0].empty() ? json("auto") : port_number(parts[0]);
  port["container"] = port_number(parts[1]);
  return port;
}

json parse_volume(const std::string& flag, const std::string& value) {
  std::vector<std::string> parts = split(value, ':');
  bool mode_given = parts.size() == 3 && (parts[2] == "ro" || parts[2] == "rw");
  if (!(parts.size() == 2 || mode_given) || parts[0].empty() || parts[1].empty())
    throw Error(ExitCode::usage,
                flag + ": expected HOST:CONTAINER[:ro|:rw], like ./data:/data:ro, found " + quote_for_message(value));
  return {{"host", parts[0]}, {"container", parts[1]}, {"read_only", mode_given && parts[2] == "ro"}};
}

// NAME=VALUE, or NAME alone, whose value is taken from the launcher's environment (`env`) as
// docker run -e NAME takes it: a secret then stays off every command line, the launcher's too.
json parse_env(const std::string& flag, const std::string& value, const EnvLookup* env) {
  auto equals = value.find('=');
  if (equals != std::string::npos) return {{value.substr(0, equals), value.substr(equals + 1)}};
  if (!is_environment_name(value))
    throw Error(ExitCode::usage, flag +
                                     ": expected NAME=VALUE, or the NAME of a variable set in the environment, found " +
                                     quote_for_message(value));
  std::optional<std::string> found = env && *env ? (*env)(value) : std::nullopt;
  if (!found)
    throw Error(ExitCode::usage, flag + ": " + value + " is not set in the environment; export it first (-e " + value +
                                     " takes its value from there, off the command line) or pass " + value + "=VALUE");
  return {{value, *found}};
}

// "host" and "root" as the profile writes them; UID:GID[:NAME] as {"uid", "gid", "name"}, whose
// ranges and name the schema checks.
json parse_user(const std::string& flag, const std::string& value) {
  if (value == "host" || value == "root") return value;
  std::vector<std::string> parts = split(value, ':');
  auto number = [](const std::string& text) {
    return !text.empty() && text.size() < 11 && text.find_first_not_of("0123456789") == std::string::npos;
  };
  if ((parts.size() != 2 && parts.size() != 3) || !number(parts[0]) || !number(parts[1]))
    throw Error(ExitCode::usage, flag + ": expected host, root or UID:GID[:NAME], like 1000:1000:alice, found " +
                                     quote_for_message(value));
  json user{{"uid", std::stoll(parts[0])}, {"gid", std::stoll(parts[1])}};
  if (parts.size() == 3) user["name"] = parts[2];
  return user;
}

} // namespace

std::vector<Sourced> flag_layers(const FlagOverrides& flags, const FieldContext& context) {
  // A flag names itself in messages and origins: cut to a readable length, bytes that are not
  // UTF-8 escaped (the value itself is refused by the schema, which shows it).
  auto flag_name = [](const char* flag, const std::string& value) {
    constexpr std::size_t shown = 200;
    return std::string(flag) + " " + escape_invalid_utf8(value.substr(0, shown)) + (value.size() > shown ? "..." : "");
  };
  std::vector<std::pair<std::string, json>> fragments;
  if (flags.image) fragments.emplace_back(flag_name("--image", *flags.image), json{{"image", *flags.image}});
  if (flags.name) fragments.emplace_back(flag_name("--name", *flags.name), json{{"name", *flags.name}});
  if (flags.user) {
    std::string flag = flag_name("--user", *flags.user);
    fragments.emplace_back(flag, json{{"user", parse_user("command line (" + flag + ")", *flags.user)}});
  }
  if (flags.gpus) fragments.emplace_back(flag_name("--gpus", *flags.gpus), json{{"gpus", *flags.gpus}});
  for (const auto& port : flags.ports) {
    std::string flag = flag_name("--port", port);
    fragments.emplace_back(flag, json{{"ports", json::array({parse_port("command line (" + flag + ")", port)})}});
  }
  for (const auto& volume : flags.volumes) {
    std::string flag = flag_name("--volume", volume);
    fragments.emplace_back(flag, json{{"volumes", json::array({parse_volume("command line (" + flag + ")", volume)})}});
  }
  for (const auto& variable : flags.env) {
    std::string flag = flag_name("--env", variable);
    fragments.emplace_back(flag, json{{"env", parse_env("command line (" + flag + ")", variable, context.env)}});
  }

  std::vector<Sourced> layers;
  std::map<std::string, std::string> mounted_by; // container path -> flag: two -v for one path is a mistake
  for (auto& [flag, fields] : fragments) {
    FieldContext flag_context = context;
    flag_context.source = "command line (" + flag + ")";
    flag_context.env = nullptr; // the shell has already expanded what it should
    Sourced layer = validated_layer(std::move(fields), flag_context, "");
    if (layer.fields.contains("volumes")) {
      std::string target = layer.fields["volumes"][0]["container"];
      if (auto [seen, fresh] = mounted_by.emplace(target, flag); !fresh)
        throw Error(ExitCode::usage,
                    flag_context.source + ": container path " + target + " is already mounted by " + seen->second);
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

} // namespace launcher::profile
