#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "export/export.hpp"
#include "host/host_facts.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/unsaved.hpp"
#include "plan/plan.hpp"

namespace launcher::lifecycle {

// The container of environment `env`, found by its label: the engine is the source of truth.
std::optional<nlohmann::json> find_environment(const engine::Engine& engine, const std::string& env);

// The same, or an error that says how to list environments.
nlohmann::json require_environment(const engine::Engine& engine, const std::string& env);

// ENV when the user gave one; otherwise the one environment made from this directory.
EnvName choose_environment(const engine::Engine& engine, const std::optional<std::string>& given,
                           const host::HostFacts& host);

// What removing the container would lose (see unsaved_work).
UnsavedWork find_unsaved_work(const engine::Engine& engine, const nlohmann::json& container);

// What `down` or `up --recreate` would lose: an error naming it by group, with how to keep each
// and `discard`, how to go on without it.
void refuse_unsaved_work(const engine::Engine& engine, const nlohmann::json& container, const std::string& discard,
                         const UnsavedReport& report = {});

// Stops gracefully (SIGTERM, then SIGKILL after `timeout`) and removes the container. Volumes stay.
void stop_and_remove(const engine::Engine& engine, const nlohmann::json& container, std::chrono::seconds timeout);

// Makes the plan's network when the engine lacks it: the env's own with traffic between its
// containers off, or the shared one a profile names, where its envs reach each other.
// True when this call created it.
bool ensure_network(const engine::Engine& engine, const plan::Plan& plan);
// The plan's network as ensure_network makes it: its own (isolated, labelled with the env) or a shared one.
engine::NetworkSpec network_spec(const plan::Plan& plan);
// `target` (what the exporter knows of the engine's version) with the engine's own network
// options and commands for the plan's network, and its container: an exported file makes them as
// `up` does.
exporting::Engine export_target(const engine::Engine& engine, const plan::Plan& plan, exporting::Engine target = {});

// The URL a person opens for an env's Jupyter: with its token, unless the env logs in by password
// (a password hash among its secrets, which is what launcher-init goes by).
std::string jupyter_login_url(const Endpoint& endpoint, const host::StateLayout& layout);

// How an env's sshd is reached, its host key checked against the pinned one.
struct SshTarget {
  std::string host;
  int port = 0;
  std::string user;
  std::string alias; // HostKeyAlias: the name the pinned key is recorded under
  std::string known_hosts;
};

// `ssh -p PORT -o HostKeyAlias=... -o UserKnownHostsFile=... -o StrictHostKeyChecking=yes USER@HOST`:
// what `launcher ssh` runs and `up` shows.
std::vector<std::string> ssh_argv(const SshTarget& target);

// Removes the env's own network once its container is gone; a shared network stays.
void remove_own_network(const engine::Engine& engine, const std::string& env);

// Removes the env's own network where no container is left to remove it with (a devcontainer's:
// its CLI makes the network at start and never removes it). Only a network of that name that is
// labelled as this env's; whether one was removed.
bool remove_leftover_network(const engine::Engine& engine, const std::string& env);

// Holds a per-environment lock (host::StateLayout::lock_file) for its lifetime, so two `up`s, an
// `up` and a `down`, or two `secret rotate`s of one environment never race: the second waits,
// saying so; without `wait`, it fails saying who is busy. The string form checks the name first.
class EnvironmentLock {
public:
  EnvironmentLock(const host::StateLayout& layout, std::ostream& notices, bool wait = true);
  EnvironmentLock(const std::filesystem::path& state_home, const std::string& env, std::ostream& notices,
                  bool wait = true);
  ~EnvironmentLock();
  EnvironmentLock(const EnvironmentLock&) = delete;
  EnvironmentLock& operator=(const EnvironmentLock&) = delete;

  // Deletes the lock file (`down --purge`), still holding the lock; a launcher waiting on it
  // then locks a new file.
  void remove_file();

private:
  std::filesystem::path path_;
  int fd_ = -1;
};

} // namespace launcher::lifecycle
