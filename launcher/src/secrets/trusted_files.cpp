#include "secrets/trusted_files.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/text.hpp"
#include "secrets/state.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The record's files, path -> {"sha256", "widens": ["KEY: WHAT", ...]}; a missing record holds none.
json read_record(const fs::path& record) {
  std::optional<std::string> text = read_private_file(record);
  if (!text) return json::object();
  json document = json::parse(*text, nullptr, false);
  bool valid = document.is_object() && document.value("version", 0) == 1 && document.contains("files") &&
               document["files"].is_object();
  if (valid)
    for (const auto& [path, approval] : document["files"].items()) {
      valid = valid && approval.is_object() && approval.contains("sha256") && approval["sha256"].is_string() &&
              approval.contains("widens") && approval["widens"].is_array();
      if (valid)
        for (const auto& widening : approval["widens"])
          valid = valid && widening.is_string();
    }
  if (!valid)
    throw Error(ExitCode::failed, record.string() +
                                      ": not a record of approved team files ({\"version\": 1, \"files\": {path: "
                                      "{\"sha256\": ..., \"widens\": [...]}}}); remove it and approve your team "
                                      "files again with `launcher trust`");
  return document["files"];
}

std::string key_of(const fs::path& file) { return escape_invalid_utf8(fs::absolute(file).lexically_normal().string()); }

} // namespace

fs::path trusted_files_record(const fs::path& state_home) { return state_home / "launcher" / "trusted-files.json"; }

std::optional<std::vector<std::string>> approved_widenings(const fs::path& state_home, const fs::path& file,
                                                           const std::string& sha256) {
  json files = read_record(trusted_files_record(state_home));
  auto found = files.find(key_of(file));
  if (found == files.end() || (*found)["sha256"] != sha256) return std::nullopt;
  return (*found)["widens"].get<std::vector<std::string>>();
}

void record_trusted(const fs::path& state_home, const fs::path& file, const std::string& sha256,
                    const std::vector<std::string>& widenings) {
  fs::path record = trusted_files_record(state_home);
  ensure_private_dir(record.parent_path());
  json files = read_record(record);
  files[key_of(file)] = {{"sha256", sha256}, {"widens", widenings}};
  write_private_file(record, json{{"version", 1}, {"files", files}}.dump(2) + "\n");
}

} // namespace launcher::secrets
