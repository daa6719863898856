#include "lifecycle/backup.hpp"

#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"

namespace launcher::lifecycle {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* backup_tool = "launcher-init";

// launcher-init's one line, fit for a message (its last line, control characters escaped).
std::string tool_message(const process::ProcessResult& result) {
  std::string text = result.err;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty()) return "(no message, exit " + std::to_string(result.exit_code) + ")";
  return escape_control_characters(
      text.substr(text.find_last_of('\n') == std::string::npos ? 0 : text.find_last_of('\n') + 1));
}

// "45s", "12m", "3h", "2d": an age in its largest unit.
std::string coarse_age(long long seconds) {
  if (seconds < 0) seconds = 0;
  for (auto [unit, size] : {std::pair{'d', 86400LL}, {'h', 3600LL}, {'m', 60LL}})
    if (seconds >= size) return std::to_string(seconds / size) + unit;
  return std::to_string(seconds) + "s";
}

std::string readable_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4)
    bytes /= 1024, ++unit;
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

double number(const JsonReader& value) {
  if (!value.json().is_number()) value.fail("a number");
  return value.json().get<double>();
}

std::string file_sha256(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ExitCode::failed, "failed to read " + file.string() + " to verify it");
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::array<char, 1 << 16> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0)
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                              static_cast<unsigned long long>(in.gcount()));
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return hex.data();
}

// `sha256sum -z` records ("HASH  ./PATH\0"), by path relative to the directory.
std::map<std::string, std::string> parse_checksums(const std::string& text) {
  std::map<std::string, std::string> sums;
  for (const auto& record : split(text, '\0')) {
    if (record.size() < 68 || record.compare(64, 4, "  ./") != 0) continue;
    sums[record.substr(68)] = record.substr(0, 64);
  }
  return sums;
}

// Deletes, on every way out, the directory restore_to_host made, unless it was renamed into place.
struct OwnDirectory {
  fs::path path;
  ~OwnDirectory() {
    std::error_code ignored;
    if (!path.empty()) fs::remove_all(path, ignored);
  }
};

} // namespace

std::string backup_repository_of(const json& container) {
  auto labels = JsonReader(container, "docker container inspect").at("Config").find("Labels");
  return labels ? labels->string_or(contract::label::backup, "") : "";
}

json require_backing_up_env(const engine::Engine& engine, const std::string& env, const std::string& purpose) {
  json container = require_environment(engine, env);
  if (backup_repository_of(container).empty())
    throw Error(ExitCode::failed,
                "environment \"" + env + "\" has no backup: its profile has no \"backup\" key (see docs/backup.md)");
  if (!is_running(container))
    throw Error(ExitCode::failed, "environment \"" + env + "\" is not running (" + status_of(container) + "); " +
                                      purpose + " runs inside it: `launcher up` it first");
  return container;
}

json run_backup_tool(const engine::Engine& engine, const std::string& env, std::vector<std::string> args,
                     const std::string& action) {
  std::vector<std::string> command{backup_tool, "backup"};
  command.insert(command.end(), args.begin(), args.end());
  command.push_back("--json");
  process::ProcessResult result = engine.exec(env, {"0", ""}, command);
  if (result.exit_code != 0) throw Error(ExitCode::failed, action + " failed: " + tool_message(result));
  try {
    return JsonReader::parse(result.out, std::string(backup_tool) + " backup " + (args.empty() ? "" : args[0]));
  } catch (const Error& error) {
    throw Error(ExitCode::failed, action + ": " + error.what());
  }
}

std::optional<json> read_backup_status(const engine::Engine& engine, const std::string& container) {
  process::ProcessResult result = engine.exec(container, {"0", ""}, {backup_tool, "backup", "status", "--json"});
  if (result.exit_code != 0) return std::nullopt;
  try {
    json status = JsonReader::parse(result.out, "launcher-init backup status");
    return status.is_object() ? std::optional<json>(status) : std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
}

namespace {

// launcher-init's "finished_at" ("2026-12-07T01:15:00Z") as Unix seconds; nullopt for anything else.
std::optional<long long> utc_seconds(const json& text) {
  if (!text.is_string()) return std::nullopt;
  std::tm utc{};
  const std::string& value = text.get_ref<const std::string&>();
  const char* end = strptime(value.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<long long>(timegm(&utc));
}

} // namespace

std::string describe_backup_status(const json& status, long long now_seconds) {
  std::optional<long long> finished =
      status.is_object() ? utc_seconds(status.value("finished_at", json())) : std::nullopt;
  if (!finished) return "never";
  std::string age = coarse_age(now_seconds - *finished) + " ago";
  if (status.value("result", "") == "ok") return age + " ok";
  std::string reason =
      status.contains("message") && status["message"].is_string() ? status["message"].get<std::string>() : "";
  return age + " failed" + (reason.empty() ? "" : ": " + escape_control_characters(reason));
}

std::string describe_backup_run(const std::string& env, const json& result) {
  JsonReader read(result, "launcher-init backup run");
  auto field = [&](const char* key) { return number(read.at(key)); };
  return fmt::format("backup {} of {}: {} files, {} ({} uploaded) in {:.1f} s, {:.1f} MB/s",
                     read.at("version").string(), env, read.at("files").integer(), readable_bytes(field("bytes")),
                     readable_bytes(field("uploaded_bytes")), field("seconds"), field("throughput_mb_s"));
}

std::string backup_versions_table(const json& listing) {
  JsonReader read(listing, "launcher-init backup list");
  std::string table = fmt::format("{:<24} {:<11} {:>7} {:>10}  {}\n", "VERSION", "STATE", "FILES", "SIZE", "CREATED");
  for (const auto& version : read.at("versions").elements())
    table +=
        fmt::format("{:<24} {:<11} {:>7} {:>10}  {}\n", version.at("version").string(), version.at("state").string(),
                    version.at("files").integer(), readable_bytes(number(version.at("bytes"))),
                    version.at("created").json().is_string() ? version.at("created").string()
                                                             : version.at("created").json().dump());
  return table;
}

std::size_t restore_to_host(const engine::Engine& engine, const std::string& env, const std::string& version,
                            const fs::path& host_path) {
  fs::path target = fs::absolute(host_path).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::error_code error;
  if (fs::exists(fs::symlink_status(target)) &&
      !(fs::is_directory(fs::symlink_status(target)) && fs::is_empty(target, error)))
    throw Error(ExitCode::failed, "--to " + target.string() +
                                      " exists and is not an empty directory; restore never writes over host files: "
                                      "name a new path");
  if (!fs::is_directory(target.parent_path()))
    throw Error(ExitCode::failed,
                "--to " + target.string() + ": its directory " + target.parent_path().string() + " does not exist");

  // Inside: a directory of root's own, restored and verified there by launcher-init.
  process::ProcessResult made = engine.exec_checked(env, {"0", ""}, {"mktemp", "-d", "/tmp/launcher-restore.XXXXXXXX"},
                                                    "make a directory to restore into in environment " + env);
  std::string inside = made.out.substr(0, made.out.find('\n'));
  struct InsideDirectory {
    const engine::Engine& engine;
    std::string env, path;
    ~InsideDirectory() { engine.exec(env, {"0", ""}, {"rm", "-rf", "--one-file-system", path}); }
  } inside_directory{engine, env, inside};
  std::vector<std::string> args{"restore", "--to", inside};
  if (!version.empty()) args.insert(args.end(), {"--version", version});
  run_backup_tool(engine, env, args, "restore of " + env);
  process::ProcessResult sums =
      engine.exec_checked(env, {"0", inside}, {"sh", "-c", "find . -type f -print0 | xargs -0 -r sha256sum -z"},
                          "checksum the restored files in environment " + env);
  std::map<std::string, std::string> expected = parse_checksums(sums.out);

  // Outside: a new directory beside the target, only ours, renamed into place once verified.
  std::string pattern = (target.parent_path() / ("." + target.filename().string() + ".restore-XXXXXX")).string();
  if (!mkdtemp(pattern.data()))
    throw Error(ExitCode::failed, "failed to make a directory beside " + target.string() + ": " + std::strerror(errno));
  OwnDirectory staging{pattern};
  engine.copy_out(env, inside, staging.path.string(), "copy the restored files out of " + env);
  std::size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(staging.path); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file(error) || it->is_symlink(error)) continue;
    std::string relative = fs::relative(it->path(), staging.path).string();
    auto sum = expected.find(relative);
    if (sum == expected.end() || file_sha256(it->path()) != sum->second)
      throw Error(ExitCode::failed, "the copy of " + relative + " out of " + env +
                                        " differs from the restored file; nothing was restored to " + target.string());
    ++files;
  }
  if (files != expected.size())
    throw Error(ExitCode::failed, "the copy out of " + env + " holds " + std::to_string(files) + " of " +
                                      std::to_string(expected.size()) + " restored files; nothing was restored to " +
                                      target.string());
  if (fs::exists(fs::symlink_status(target))) fs::remove(target); // the empty directory checked above
  fs::rename(staging.path, target);
  staging.path.clear();
  return files;
}

} // namespace launcher::lifecycle
