#include <httplib.h>

#include "probe/probe.hpp"

namespace launcher::probe {

Observation probe_jupyter(const std::string& host, int port, const std::string& token) {
  httplib::Client client(host, port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  auto with_token = client.Get("/api/status", {{"Authorization", "token " + token}});
  if (!with_token)
    return {Observation::State::waiting, "no HTTP answer yet (" + httplib::to_string(with_token.error()) + ")"};
  if (with_token->status != 200)
    return {Observation::State::waiting, "/api/status with the token answered " + std::to_string(with_token->status)};
  auto without_token = client.Get("/api/status");
  if (!without_token) return {Observation::State::waiting, "no HTTP answer yet"};
  if (without_token->status == 200)
    return {Observation::State::broken, "Jupyter answers /api/status without a token: authentication is off"};
  if (without_token->status != 403)
    return {Observation::State::waiting,
            "/api/status without the token answered " + std::to_string(without_token->status)};
  return {Observation::State::ready, "200 with the token, 403 without"};
}

} // namespace launcher::probe
