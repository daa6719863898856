#include "backup_plan.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "error.hpp"

namespace launcher_init {

namespace {

constexpr std::string_view manifest_suffix = ".json";

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// The last line of rclone's that reports an error, its timestamp and "Failed to <command>:" dropped.
std::string last_error_line(std::string_view text) {
  std::string_view last;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (contains(line, "ERROR") || contains(line, "Failed")) last = line;
    start = end + 1;
  }
  if (auto at = last.find("last error was: "); at != std::string_view::npos) {
    last.remove_prefix(at + 16);
  } else if (auto colon = last.find(": "); colon != std::string_view::npos && contains(last, "Failed to ")) {
    last.remove_prefix(colon + 2);
  }
  return last.empty() ? "rclone failed without a message" : std::string(last);
}

} // namespace

std::int64_t Manifest::bytes() const {
  std::int64_t total = 0;
  for (const auto& file : files)
    total += file.size;
  return total;
}

std::string version_id(std::chrono::system_clock::time_point time) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return std::string(text) + fraction;
}

bool is_version_id(std::string_view text) {
  static constexpr std::string_view shape = "00000000T000000.000000Z";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == '0' ? !(text[i] >= '0' && text[i] <= '9') : text[i] != shape[i]) return false;
  }
  return true;
}

bool is_sha256(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

nlohmann::json parse_json(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: <reason>; last read: '<text>'":
    // the kind of error and the text read are dropped.
    std::string_view reason = error.what();
    if (auto kind_end = reason.find("] "); reason.starts_with("[json.exception.") && kind_end != reason.npos) {
      reason.remove_prefix(kind_end + 2);
    }
    reason = reason.substr(0, reason.find("; last read: "));
    throw failure("parse", source, reason);
  }
}

namespace {

Error bad_member(std::string_view source, std::string_view key, std::string_view expected) {
  return failure("read", source, std::string(key) + ": expected " + std::string(expected));
}

} // namespace

std::string json_string(const nlohmann::json& object, std::string_view key, std::string_view source) {
  auto member = object.find(key);
  if (member == object.end() || !member->is_string()) throw bad_member(source, key, "a string");
  return member->get<std::string>();
}

std::int64_t json_integer(const nlohmann::json& object, std::string_view key, std::string_view source,
                          std::int64_t minimum, std::int64_t maximum) {
  auto member = object.find(key);
  if (member == object.end() || !member->is_number()) throw bad_member(source, key, "a whole number");
  // nlohmann keeps a non-negative whole number as uint64 and a negative one as int64.
  bool fits = member->is_number_integer() &&
              (!member->is_number_unsigned() || member->get<std::uint64_t>() <= std::uint64_t{INT64_MAX});
  auto number = fits ? member->get<std::int64_t>() : 0;
  if (!fits || number < minimum || number > maximum) {
    throw bad_member(source, key,
                     "a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum) + ", found " +
                         member->dump());
  }
  return number;
}

std::vector<std::string> json_strings(const nlohmann::json& array, std::string_view source) {
  if (!array.is_array()) throw failure("read", source, "expected an array of strings");
  std::vector<std::string> strings;
  for (const auto& item : array) {
    if (!item.is_string()) throw failure("read", source, "expected an array of strings");
    strings.push_back(item.get<std::string>());
  }
  return strings;
}

std::string manifest_json(const Manifest& manifest) {
  std::string json = "{\"version\":" + nlohmann::json(manifest.version).dump() + ",\"files\":[";
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& file = manifest.files[i];
    nlohmann::ordered_json entry = {
        {"path", file.path}, {"size", file.size}, {"mtime_ns", file.mtime_ns}, {"sha256", file.sha256}};
    try {
      json += (i == 0 ? "\n" : ",\n") + entry.dump();
    } catch (const nlohmann::json::type_error&) {
      throw failure("back up", file.path, "the name is not UTF-8, which a manifest (JSON) cannot hold");
    }
  }
  return json + "]}\n";
}

Manifest parse_manifest(std::string_view json, std::string_view source) {
  auto document = parse_json(json, source);
  Manifest manifest;
  manifest.version = json_string(document, "version", source);
  if (!is_version_id(manifest.version)) throw failure("read", source, "version: expected a version id");
  auto files = document.find("files");
  if (files == document.end() || !files->is_array()) throw failure("read", source, "files: expected an array");
  for (const auto& item : *files) {
    BackupFile file;
    file.path = json_string(item, "path", source);
    std::filesystem::path path(file.path);
    if (!path.is_absolute() || path.lexically_normal() != path || path.filename().empty()) {
      throw failure("read", source, "path: expected an absolute, normal file path, found '" + file.path + "'");
    }
    file.size = json_integer(item, "size", source, 0, INT64_MAX);
    file.mtime_ns = json_integer(item, "mtime_ns", source, INT64_MIN, INT64_MAX);
    file.sha256 = json_string(item, "sha256", source);
    if (!is_sha256(file.sha256)) throw failure("read", source, "sha256: expected 64 hex digits for " + file.path);
    manifest.files.push_back(std::move(file));
  }
  std::ranges::sort(manifest.files, {}, &BackupFile::path);
  return manifest;
}

std::vector<std::string> versions_in_listing(const std::vector<std::string>& names) {
  std::vector<std::string> versions;
  for (const auto& name : names) {
    std::string_view view = name;
    if (!view.ends_with(manifest_suffix)) continue;
    view.remove_suffix(manifest_suffix.size());
    if (is_version_id(view)) versions.emplace_back(view);
  }
  std::ranges::sort(versions);
  return versions;
}

bool is_complete(const Manifest& manifest, const std::set<std::string, std::less<>>& objects) {
  return std::ranges::all_of(manifest.files, [&](const BackupFile& file) { return objects.contains(file.sha256); });
}

Pruning plan_pruning(const std::vector<Manifest>& manifests, const std::set<std::string, std::less<>>& objects,
                     int keep) {
  std::vector<const Manifest*> newest_first;
  for (const auto& manifest : manifests)
    newest_first.push_back(&manifest);
  std::ranges::sort(newest_first, std::greater<>{}, &Manifest::version);
  Pruning pruning;
  std::set<std::string, std::less<>> referenced;
  int complete_kept = 0;
  for (const auto* manifest : newest_first) {
    if (complete_kept < keep) {
      if (is_complete(*manifest, objects)) ++complete_kept;
      for (const auto& file : manifest->files)
        referenced.insert(file.sha256);
    } else {
      pruning.versions.push_back(manifest->version);
    }
  }
  std::ranges::reverse(pruning.versions);
  for (const auto& object : objects)
    if (!referenced.contains(object)) pruning.objects.push_back(object);
  return pruning;
}

std::optional<std::string> unchanged_hash(const BackupFile& current, const std::map<std::string, BackupFile>& previous,
                                          const std::set<std::string, std::less<>>& objects) {
  auto found = previous.find(current.path);
  if (found == previous.end()) return std::nullopt;
  const auto& before = found->second;
  if (before.size != current.size || before.mtime_ns != current.mtime_ns || !objects.contains(before.sha256)) {
    return std::nullopt;
  }
  return before.sha256;
}

std::string describe_store_failure(std::string_view rclone_stderr, std::string_view bucket, std::string_view endpoint) {
  const std::string where = endpoint.empty() ? std::string("AWS S3") : std::string(endpoint);
  if (contains(rclone_stderr, "LoadCustomCABundleError")) {
    return "rclone cannot use the CA bundle it was given (AWS_CA_BUNDLE): unsupported transport";
  }
  for (std::string_view code : {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}) {
    if (contains(rclone_stderr, code)) {
      return where + " refused the backup credentials (" + std::string(code) + ")";
    }
  }
  if (contains(rclone_stderr, "AccessDenied")) {
    return where + " denied access to bucket " + std::string(bucket) + " (AccessDenied)";
  }
  if (contains(rclone_stderr, "NoSuchBucket")) return "bucket " + std::string(bucket) + " does not exist at " + where;
  if (contains(rclone_stderr, "RequestTimeTooSkewed")) {
    return "this machine's clock differs too much from " + where + "'s (RequestTimeTooSkewed): set the time";
  }
  for (std::string_view cause : {"connection refused", "no such host", "i/o timeout", "connection reset by peer",
                                 "network is unreachable", "EOF"}) {
    if (contains(rclone_stderr, cause)) return "cannot reach " + where + ": " + std::string(cause);
  }
  return last_error_line(rclone_stderr);
}

} // namespace launcher_init
