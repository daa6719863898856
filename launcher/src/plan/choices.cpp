#include "plan/choices.hpp"

#include <charconv>
#include <initializer_list>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::plan {

namespace {

// "\"a\", \"b\" or \"c\"", for the Error that names what was expected.
template <typename Choices> std::string quoted_names(const Choices& choices) {
  std::string text;
  std::size_t left = choices.size();
  for (const auto& choice : choices)
    text += "\"" + name(choice) + "\"" + (--left > 1 ? ", " : left == 1 ? " or " : "");
  return text;
}

[[noreturn]] void fail(std::string_view what, std::string_view text, const std::string& source,
                       const std::string& expected) {
  throw Error(ExitCode::usage,
              source + ": unknown " + std::string(what) + " " + quote_for_message(text) + "; expected " + expected);
}

template <typename Choice>
std::optional<Choice> choice_named(std::string_view text, std::initializer_list<Choice> choices) {
  for (const Choice& choice : choices)
    if (name(choice) == text) return choice;
  return std::nullopt;
}

template <typename Choice>
Choice parse_choice(std::string_view what, std::string_view text, const std::string& source,
                    std::initializer_list<Choice> choices) {
  if (auto choice = choice_named(text, choices)) return *choice;
  fail(what, text, source, quoted_names(choices));
}

constexpr std::initializer_list<Protocol> protocols{Protocol::tcp, Protocol::udp};

constexpr std::string_view on_failure_with_count = "on-failure:";

} // namespace

Service parse_service(std::string_view text, const std::string& source) {
  if (auto service = contract::service_named(text)) return *service;
  fail("service", text, source, quoted_names(contract::services));
}

std::string name(Protocol protocol) {
  switch (protocol) {
  case Protocol::tcp:
    return "tcp";
  case Protocol::udp:
    return "udp";
  }
  return "unknown"; // only a value cast from outside the enum
}

std::optional<Protocol> protocol_named(std::string_view text) { return choice_named(text, protocols); }

Protocol parse_protocol(std::string_view text, const std::string& source) {
  return parse_choice("protocol", text, source, protocols);
}

std::string name(Ipc ipc) {
  switch (ipc) {
  case Ipc::engine_default:
    return "";
  case Ipc::private_:
    return "private";
  case Ipc::shareable:
    return "shareable";
  case Ipc::host:
    return "host";
  }
  return "unknown"; // only a value cast from outside the enum
}

Ipc parse_ipc(std::string_view text, const std::string& source) {
  if (text.empty()) return Ipc::engine_default;
  return parse_choice("IPC mode", text, source, {Ipc::private_, Ipc::shareable, Ipc::host});
}

std::string name(const Restart& restart) {
  switch (restart.policy) {
  case Restart::Policy::no:
    return "no";
  case Restart::Policy::always:
    return "always";
  case Restart::Policy::unless_stopped:
    return "unless-stopped";
  case Restart::Policy::on_failure:
    return restart.max_retries ? std::string(on_failure_with_count) + std::to_string(*restart.max_retries)
                               : "on-failure";
  }
  return "unknown"; // only a value cast from outside the enum
}

Restart parse_restart(std::string_view text, const std::string& source) {
  using Policy = Restart::Policy;
  if (starts_with(text, on_failure_with_count)) {
    // Digits without a leading zero, so that name() gives back the very text (the plan hash's).
    std::string_view digits = text.substr(on_failure_with_count.size());
    int count = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (error == std::errc() && end == digits.data() + digits.size() && digits.front() != '0' && count > 0)
      return {Policy::on_failure, count};
  } else {
    for (Policy policy : {Policy::no, Policy::always, Policy::unless_stopped, Policy::on_failure})
      if (name(Restart{policy, std::nullopt}) == text) return {policy, std::nullopt};
  }
  fail("restart policy", text, source,
       "\"no\", \"always\", \"unless-stopped\", \"on-failure\" or \"on-failure:N\" (N at least 1)");
}

std::string name(JupyterAuth auth) {
  switch (auth) {
  case JupyterAuth::token:
    return "token";
  case JupyterAuth::password:
    return "password";
  }
  return "unknown"; // only a value cast from outside the enum
}

JupyterAuth parse_jupyter_auth(std::string_view text, const std::string& source) {
  return parse_choice("Jupyter authentication", text, source, {JupyterAuth::token, JupyterAuth::password});
}

} // namespace launcher::plan
