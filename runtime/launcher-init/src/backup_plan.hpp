#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace launcher_init {

// The pure half of the backups: what a version holds, how it is written and read, which versions
// and objects `keep` deletes, which files need hashing, and what an rclone failure means.
//
// Layout of an env's repository REPO = s3://BUCKET/PREFIX/ENV (as restic does, content-addressed):
//   REPO/objects/<sha256>        a file's content, stored once however many files and versions have it
//   REPO/versions/<version>.json a manifest, written last: a version exists once its manifest does
// Version ids are UTC times (20261207T012233.123456Z), so their names sort in time order.

struct BackupFile {
  std::string path; // absolute, as inside the env
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0; // nanoseconds since the epoch
  std::string sha256;        // 64 lower-case hex digits; the object's name
};

struct Manifest {
  std::string version;
  std::vector<BackupFile> files; // sorted by path

  std::int64_t bytes() const;
};

std::string version_id(std::chrono::system_clock::time_point time);
bool is_version_id(std::string_view text);
bool is_sha256(std::string_view text);

// The backup JSON (manifests, the backup credentials, LAUNCHER_BACKUP_PATHS), read with nlohmann/json,
// which keeps 64-bit sizes and nanosecond times exact. parse_json throws Error "failed to parse:
// <source>: <reason>", the reason never quoting the text (the credentials are secret).
nlohmann::json parse_json(std::string_view text, std::string_view source);
// The member `key` of `object` as a string or a whole number in [minimum, maximum], or `array` as an
// array of strings; each throws Error naming `source` and the key when it is missing or of another type.
std::string json_string(const nlohmann::json& object, std::string_view key, std::string_view source);
std::int64_t json_integer(const nlohmann::json& object, std::string_view key, std::string_view source,
                          std::int64_t minimum, std::int64_t maximum);
std::vector<std::string> json_strings(const nlohmann::json& array, std::string_view source);

// One file per line, so that two versions' manifests compare line by line. Throws Error naming a
// path that is not UTF-8, which JSON cannot hold.
std::string manifest_json(const Manifest& manifest);
// Throws Error naming `source` for anything but a manifest whose files have absolute, normal paths
// and well-formed hashes.
Manifest parse_manifest(std::string_view json, std::string_view source);

// The version names in a listing of REPO/versions/ (other names ignored), oldest first.
std::vector<std::string> versions_in_listing(const std::vector<std::string>& names);

// A version is complete when every object its manifest names is present.
bool is_complete(const Manifest& manifest, const std::set<std::string, std::less<>>& objects);

// What `keep` removes once a new manifest exists: the manifests beyond the newest `keep` complete
// ones (oldest first), then the objects no remaining manifest names.
struct Pruning {
  std::vector<std::string> versions;
  std::vector<std::string> objects;
};
Pruning plan_pruning(const std::vector<Manifest>& manifests, const std::set<std::string, std::less<>>& objects,
                     int keep);

// The hash of a file already in `previous` with the same size and mtime whose object is present:
// such a file is neither hashed nor uploaded again.
std::optional<std::string> unchanged_hash(const BackupFile& current, const std::map<std::string, BackupFile>& previous,
                                          const std::set<std::string, std::less<>>& objects);

// One line naming the cause of a failed rclone call, from its stderr (never containing a secret:
// rclone prints no keys). `endpoint` is named when the store cannot be reached.
std::string describe_store_failure(std::string_view rclone_stderr, std::string_view bucket, std::string_view endpoint);

} // namespace launcher_init
