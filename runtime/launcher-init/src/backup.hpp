#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "settings.hpp"
#include "supervisor.hpp"

namespace launcher_init {

// LAUNCHER_BACKUP_*: where an env's backups go and what they hold.
struct BackupSettings {
  std::string bucket;
  std::string repository; // the key prefix inside the bucket: PREFIX/ENV, no slash at either end
  std::vector<std::filesystem::path> paths;
  std::chrono::seconds every{1800};
  int keep = 5;
  std::string endpoint; // empty: AWS's own
  int retries = 3;      // rclone's --retries: tries of a transfer that failed, each after 1 s
};

// nullopt when LAUNCHER_BACKUP_TO is unset; Error naming the variable when a value is wrong.
std::optional<BackupSettings> parse_backup_settings(const Environment& environment);

// The supervised service that backs up every LAUNCHER_BACKUP_EVERY seconds (`launcher-init backup
// loop`, as root); nullopt when LAUNCHER_BACKUP_TO is unset.
std::optional<ServiceSpec> backup_service(const Environment& environment);

// `launcher-init backup run|list|restore|status|check ...`; `arguments` start after "backup".
int run_backup_command(const Settings& settings, const Environment& environment,
                       std::span<const std::string_view> arguments);

} // namespace launcher_init
