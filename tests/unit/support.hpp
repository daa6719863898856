#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "engine/docker_engine.hpp"
#include "host/host_facts.hpp"
#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "profile/catalog.hpp"
#include "test_host.hpp"

namespace launcher::testing {

// Paths that "exist" are listed; symlinks are given as a map to their targets. Every path that
// exists is owned by root with mode 0755 unless `facts` says otherwise.
struct FakePaths {
  std::set<std::string> existing{"/home/alice/project", "/home/alice/data", "/", "/etc", "/run/docker.sock"};
  std::map<std::string, std::string> links{{"/var/run/docker.sock", "/run/docker.sock"}};
  std::map<std::string, host::FileFacts> facts;

  host::PathProbe probe() const {
    return {[this](const std::filesystem::path& path) {
              return existing.count(path.string()) > 0 || links.count(path.string()) > 0;
            },
            [this](const std::filesystem::path& path) {
              auto link = links.find(path.string());
              return link == links.end() ? path : std::filesystem::path(link->second);
            },
            [this](const std::filesystem::path& path) -> std::optional<host::FileFacts> {
              if (auto found = facts.find(path.string()); found != facts.end()) return found->second;
              if (links.count(path.string())) return host::FileFacts{0, 0120777};
              if (existing.count(path.string())) return host::FileFacts{0, 040755};
              return std::nullopt;
            }};
  }
};

inline const profile::EnvLookup no_variables = [](const std::string&) -> std::optional<std::string> {
  return std::nullopt;
};

// A profile file's text as a source named "launcher.json" in /home/alice/project.
// The built-in profiles, parsed as the launcher parses them.
inline profile::ProfileSource builtin_source() {
  profile::FieldContext context{"built-in", "/home/alice/project", "/home/alice", nullptr};
  return profile::parse_profile_source(profile::builtin_profiles_json(), context);
}

inline profile::ProfileSource team_source(const std::string& text, const profile::EnvLookup& env = no_variables) {
  profile::FieldContext context{"launcher.json", "/home/alice/project", "/home/alice", &env};
  return profile::parse_profile_source(text, context);
}

// Runs `action`, which must throw launcher::Error with exactly this code and message.
template <class Action> void require_error(Action&& action, ExitCode code, const std::string& message) {
  try {
    action();
  } catch (const Error& error) {
    CHECK(std::string(error.what()) == message);
    CHECK(static_cast<int>(error.code()) == static_cast<int>(code));
    return;
  }
  FAIL("expected launcher::Error: " << message);
}

// A one-profile file "launcher.json" whose profile "dev" has these fields.
inline profile::ProfileSource dev_profile(const nlohmann::json& fields, const profile::EnvLookup& env = no_variables) {
  return team_source(nlohmann::json{{"version", 1}, {"profiles", {{"dev", fields}}}}.dump(), env);
}

// Such a file must be refused as invalid (exit 2) with exactly this message.
inline void require_invalid(const nlohmann::json& fields, const std::string& message,
                            const profile::EnvLookup& env = no_variables) {
  require_error([&] { dev_profile(fields, env); }, ExitCode::usage, message);
}

// The plan of a built-in profile on the test host with this many GPUs.
inline plan::Plan builtin_plan(const std::string& name, int gpus) {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  profile::Catalog catalog{{profile::parse_profile_source(profile::builtin_profiles_json(), builtin)}};
  FakeGpus host_gpus(gpus);
  return plan::resolve_plan(name, profile::merge_profile(catalog, name), test_host(gpus), FakePaths{}.probe(),
                            host_gpus)
      .plan;
}

// The command `up` runs for the plan (`launch`: or only creates), as the Docker engine spells it:
// "docker run -d ...". Rendered only; nothing runs.
inline render::ContainerCommand docker_container_command(const plan::Plan& plan, const std::string& env_file,
                                                         engine::Launch launch = engine::Launch::detached) {
  return engine::DockerEngine(docker::Docker("docker")).container_command(launch, plan, env_file);
}

// Golden files hold a command or file as printed; LAUNCHER_UPDATE_GOLDEN=1 rewrites them after a deliberate change.
inline void check_golden(const std::string& file, const std::string& actual) {
  std::string path = std::string(LAUNCHER_GOLDEN_DIR) + "/" + file;
  if (const char* update = std::getenv("LAUNCHER_UPDATE_GOLDEN"); update && std::string(update) == "1")
    std::ofstream(path) << actual;
  CHECK(actual == read_file(path));
}

} // namespace launcher::testing
