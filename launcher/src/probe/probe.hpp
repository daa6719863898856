#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace launcher::probe {

// One look at a service. `waiting` means "not yet, look again"; `broken` means it answered
// in a way that must never be accepted (no authentication, a wrong host key).
struct Observation {
  enum class State { waiting, ready, broken };
  State state = State::waiting;
  std::string detail; // what was seen, for the progress line and the failure message
};

// Jupyter is ready when GET /api/status answers 200 with the token (sent in the
// Authorization header, never in the URL: Jupyter logs refused URLs whole) and 403 without.
Observation probe_jupyter(const std::string& host, int port, const std::string& token);

// The status code of a response that begins with an HTTP/1.x status line ("HTTP/1.1 403
// Forbidden\r\n..."); nullopt for any other bytes.
std::optional<int> http_status(std::string_view response);

// sshd is ready when the handshake presents exactly the pinned host key and the server
// offers only the expected methods (publickey, plus password when the profile turned it on).
Observation probe_ssh(const std::string& host, int port, const std::string& user, const std::string& pinned_public_line,
                      bool password_allowed);

} // namespace launcher::probe
