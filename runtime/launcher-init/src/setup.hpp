#pragma once

#include <vector>

#include "env_watch.hpp"
#include "settings.hpp"
#include "supervisor.hpp"

namespace launcher_init {

// Privileged setup, in this order: find the programs and read every secret (nothing is changed
// when one is missing), create the account, then write each service's runtime files. Returns
// what to supervise and where the env's watch finds its files.
struct SetUp {
  std::vector<ServiceSpec> services;
  WatchPlaces watch_places;
};

SetUp set_up(const Settings& settings, const Invocation& invocation, const Environment& inherited);

} // namespace launcher_init
