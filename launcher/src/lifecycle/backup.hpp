#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.hpp"

namespace launcher::lifecycle {

// The env's backup repository ("s3://BUCKET/PREFIX/ENV", its io.launcher.backup label); "" when
// its profile has no "backup".
std::string backup_repository_of(const nlohmann::json& container);

// The env's container when it backs up and runs; otherwise an Error of one line saying which
// (no such env, no "backup" in its profile, not running) and what to do.
nlohmann::json require_backing_up_env(const engine::Engine& engine, const std::string& env, const std::string& purpose);

// `launcher-init backup ARGS --json` as root inside the running env, and its JSON answer.
// launcher-init's one line on failure becomes an Error "<action> failed: <line>" (exit 1).
nlohmann::json run_backup_tool(const engine::Engine& engine, const std::string& env, std::vector<std::string> args,
                               const std::string& action);

// The status file launcher-init keeps (contract::mount::backup_status), {} before the first
// backup; nullopt when it cannot be read (the env stopped, an image without it).
std::optional<nlohmann::json> read_backup_status(const engine::Engine& engine, const std::string& container);

// "2m ago ok", "3h ago failed: <reason>", "never": the last backup as `ps` shows it, from the
// status file launcher-init writes ({"version", "finished_at": "2026-12-07T01:15:00Z", "result":
// "ok" or "failed", "message", ...}) and the time now (Unix seconds).
std::string describe_backup_status(const nlohmann::json& status, long long now_seconds);

// One finished backup as a line: "backup 20261207T011500Z of dev: 64 files, 1.0 GiB (12 MiB
// uploaded) in 8.2 s, 131 MB/s".
std::string describe_backup_run(const std::string& env, const nlohmann::json& result);

// The versions `launcher-init backup list --json` gave, as a table.
std::string backup_versions_table(const nlohmann::json& listing);

// Restores a version (the latest complete one when empty) into `host_path`, which must not exist
// or be an empty directory: restored and verified inside the env in a temporary directory, copied
// out with `docker cp` into a new directory beside `host_path`, each file's SHA-256 compared with
// the env's, then renamed into place. Nothing outside that new directory is written, and it is
// deleted on failure. Returns the number of files.
std::size_t restore_to_host(const engine::Engine& engine, const std::string& env, const std::string& version,
                            const std::filesystem::path& host_path);

} // namespace launcher::lifecycle
