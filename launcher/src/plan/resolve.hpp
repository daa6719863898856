#pragma once

#include <string>

#include "host/host_facts.hpp"
#include "plan/plan.hpp"
#include "profile/origin.hpp"

namespace launcher::plan {

struct Resolution {
  Plan plan;
  profile::Sourced profile; // the fields as merged over the defaults, with their origins
};

// The defaults every GPU user needs, some sized from the host: a /dev/shm of half the
// host's memory (Docker's 64 MB kills DataLoader workers), unlimited memlock, a 64 MiB
// stack, every GPU when there are any, the invoking user's ids.
profile::Sourced host_defaults(const host::HostFacts& host);

// The default environment name: "<directory>-<profile>", made acceptable to Docker.
std::string default_env_name(const std::filesystem::path& cwd, const std::string& profile_name);

// Decides everything the profile left open and checks what needs the whole picture: host
// paths exist, host ports are not published twice, dangerous requests are opted into,
// the host has the GPUs asked for. Throws Error naming the origin of the culprit.
Resolution resolve_plan(const std::string& profile_name, const profile::Sourced& profile, const host::HostFacts& host,
                        const host::PathProbe& paths);

} // namespace launcher::plan
