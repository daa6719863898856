#pragma once

// The closed sets a Plan's members choose from. name() spells a value as profiles and Docker do,
// and to_json writes that spelling (plan hashes are taken of it). Each parse_* reads that spelling
// back; anything else is a usage Error naming `source`, the value and the choices.

#include <optional>
#include <string>
#include <string_view>

#include "launcher_contract/service.hpp"

namespace launcher::plan {

// Shared with launcher-init, which reads the name from LAUNCHER_SERVICE.
using contract::name;
using contract::Service;
Service parse_service(std::string_view text, const std::string& source);

enum class Protocol { tcp, udp };
std::string name(Protocol protocol);
Protocol parse_protocol(std::string_view text, const std::string& source);
std::optional<Protocol> protocol_named(std::string_view text); // nullopt for any other (sctp)

// engine_default passes no --ipc; its name is "", as is an unset "ipc" when parsed.
enum class Ipc { engine_default, private_, shareable, host };
std::string name(Ipc ipc);
Ipc parse_ipc(std::string_view text, const std::string& source);

// Docker's --restart: "on-failure:N" gives up after N restarts.
struct Restart {
  enum class Policy { no, always, unless_stopped, on_failure };
  Policy policy = Policy::no;
  std::optional<int> max_retries; // on_failure only; nullopt: no limit
  friend bool operator==(const Restart&, const Restart&) = default;
};
std::string name(const Restart& restart);
Restart parse_restart(std::string_view text, const std::string& source);

enum class JupyterAuth { token, password };
std::string name(JupyterAuth auth);
JupyterAuth parse_jupyter_auth(std::string_view text, const std::string& source);

} // namespace launcher::plan
