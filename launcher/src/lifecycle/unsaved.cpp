#include "lifecycle/unsaved.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

bool is_under(const std::string& path, const std::string& root) {
  return path == root || (starts_with(path, root) && (root == "/" || path[root.size()] == '/'));
}

constexpr std::size_t files_shown = 20;

PackageVersions versions_of(const json& packages) {
  PackageVersions versions;
  for (const auto& [name, version] : packages.items())
    versions[name] = version.get<std::string>();
  return versions;
}

std::string describe(const PackageChange& change) {
  if (change.built.empty()) return change.name + " " + change.current + " (new)";
  if (change.current.empty()) return change.name + " " + change.built + " (removed)";
  return change.name + " " + change.built + " -> " + change.current;
}

} // namespace

const std::vector<std::string>& regenerated_paths() {
  static const std::vector<std::string> paths{
      "/tmp", "/var/tmp", "/run", "/var/cache", "/var/log", "/var/lib/apt/lists",
      // ldconfig's cache, rebuilt from the libraries whenever a package adds one.
      "/etc/ld.so.cache",
      // launcher-init writes the user's account at every start.
      "/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-", "/etc/shadow", "/etc/shadow-", "/etc/gshadow",
      "/etc/gshadow-",
      // The engine's: Podman writes /etc/hosts into the container's layer at each start (Docker
      // mounts it, so its diff never shows it) and /etc/mtab, a link to /proc/self/mounts.
      "/etc/hosts", "/etc/mtab"};
  return paths;
}

const std::vector<std::string>& regenerated_home_entries() {
  static const std::vector<std::string> entries{
      ".cache",     ".ipython", ".local/share/jupyter", ".jupyter", ".config/matplotlib", ".lesshst",
      ".wget-hsts", ".viminfo"};
  return entries;
}

const std::vector<std::string>& home_secret_patterns() {
  static const std::vector<std::string> patterns{
      ".bash_history",
      ".zsh_history",
      ".python_history",
      ".ipython/profile_*/history.sqlite*", // with SQLite's -journal and -wal files
      ".local/share/jupyter/runtime",       // jpserver-*.json, jpserver-*-open.html, kernel-*.json
      ".ssh",                               // private keys; known_hosts and config name the hosts
      ".cache/huggingface/token",
      ".cache/huggingface/stored_tokens",
      ".netrc",
      ".aws",
      ".config/gcloud",
      ".docker/config.json",
      ".git-credentials"};
  return patterns;
}

std::vector<std::string> secret_homes(const std::string& home) {
  if (home.empty() || home == "/root") return {"/root"};
  return {home, "/root"};
}

std::string secret_path_holding(const std::string& path, const std::vector<std::string>& homes) {
  for (const auto& home : homes) {
    if (home.empty() || !is_under(path, home) || path == home) continue;
    std::string relative = path.substr(home.size() + 1);
    // The shortest leading part of `relative` that a pattern names: the path itself or a directory above it.
    for (std::size_t end = relative.find('/');; end = relative.find('/', end + 1)) {
      std::string part = relative.substr(0, end);
      for (const auto& pattern : home_secret_patterns())
        if (fnmatch(pattern.c_str(), part.c_str(), FNM_PATHNAME) == 0) return home + "/" + part;
      if (end == std::string::npos) break;
    }
  }
  return "";
}

bool is_regenerated(const std::string& path, const std::string& home) {
  if (path.find("/__pycache__/") != std::string::npos || path.ends_with("/__pycache__")) return true;
  // A secret is never noise, wherever the tool that wrote it keeps its caches.
  if (!home.empty() && !secret_path_holding(path, {home}).empty()) return false;
  // launcher-init's sudo rule for the user, made anew at every start.
  if (starts_with(path, "/etc/sudoers.d/launcher-")) return true;
  // The launcher's own record: a snapshot rewrites it for the commit and puts it back.
  if (path == package_record) return true;
  auto under = [&](const std::string& root) { return is_under(path, root); };
  if (std::any_of(regenerated_paths().begin(), regenerated_paths().end(), under)) return true;
  return !home.empty() && std::any_of(regenerated_home_entries().begin(), regenerated_home_entries().end(),
                                      [&](const std::string& entry) { return is_under(path, home + "/" + entry); });
}

PackageListing parse_package_listing(const std::string& text, const std::string& source) {
  const std::string expected = " is not a package listing ({\"python\": {NAME: VERSION}, \"debian\": {NAME: VERSION}})";
  try {
    json listing = json::parse(text);
    if (!listing.is_object() || !listing.contains("python") || !listing["python"].is_object() ||
        !listing.contains("debian") || !listing["debian"].is_object())
      throw Error(ExitCode::failed, source + expected);
    std::vector<std::string> new_files;
    if (listing.contains("new_package_files")) new_files = listing["new_package_files"].get<std::vector<std::string>>();
    return {versions_of(listing["python"]), versions_of(listing["debian"]), std::move(new_files)};
  } catch (const json::exception& error) {
    throw Error(ExitCode::failed, source + expected + ": " + escape_control_characters(json_error_text(error)) +
                                      "; it starts with " + quote_for_message(text));
  }
}

std::vector<PackageChange> package_changes(const PackageVersions& built, const PackageVersions& current) {
  std::vector<PackageChange> changes;
  for (const auto& [name, version] : current) {
    auto before = built.find(name);
    if (before == built.end())
      changes.push_back({name, "", version});
    else if (before->second != version)
      changes.push_back({name, before->second, version});
  }
  for (const auto& [name, version] : built)
    if (!current.count(name)) changes.push_back({name, version, ""});
  std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return changes;
}

UnsavedWork unsaved_work(const std::string& diff_output, const std::vector<std::string>& mount_targets,
                         const std::string& home, const std::string& workdir,
                         const std::optional<PackageListing>& built, const std::optional<PackageListing>& current) {
  UnsavedWork work;
  std::vector<std::string> package_files;
  if (built && current) {
    work.python = package_changes(built->python, current->python);
    work.debian = package_changes(built->debian, current->debian);
    package_files = current->new_package_files;
    std::sort(package_files.begin(), package_files.end());
  }
  // Deletions are not listed: the image still has what was deleted.
  std::vector<std::string> changed;
  std::set<std::string> added;
  for (const auto& line : split(diff_output, '\n'))
    if (line.size() > 2 && (line[0] == 'A' || line[0] == 'C') && line[1] == ' ') {
      changed.push_back(line.substr(2));
      if (line[0] == 'A') added.insert(line.substr(2));
    }
  // With '/' sorting first, a directory's changed entries follow it right away ("d", "d/x",
  // "d-1"): only leaves are listed.
  std::sort(changed.begin(), changed.end(), [](const std::string& a, const std::string& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](char x, char y) { return (x == '/' ? '\0' : x) < (y == '/' ? '\0' : y); });
  });
  for (std::size_t i = 0; i < changed.size(); ++i) {
    const std::string& path = changed[i];
    bool has_child = i + 1 < changed.size() && is_under(changed[i + 1], path) && changed[i + 1] != path;
    if (has_child && added.count(path)) work.added_directories.push_back(path);
    bool on_volume = std::any_of(mount_targets.begin(), mount_targets.end(),
                                 [&](const auto& target) { return is_under(path, target); });
    bool told_as_package =
        std::binary_search(package_files.begin(), package_files.end(), path) ||
        (!work.debian.empty() && (is_under(path, "/var/lib/dpkg") || is_under(path, "/var/lib/apt")));
    if (has_child || on_volume || told_as_package || path == home || path == workdir || is_regenerated(path, home))
      continue;
    work.files.push_back(path);
  }
  std::sort(work.added_directories.begin(), work.added_directories.end());
  std::set<std::string> secrets;
  for (const auto& file : work.files)
    if (std::string secret = secret_path_holding(file, secret_homes(home)); !secret.empty()) secrets.insert(secret);
  work.secrets.assign(secrets.begin(), secrets.end());
  return work;
}

std::vector<FileGroup> group_files(const UnsavedWork& work) {
  std::set<std::string> added(work.added_directories.begin(), work.added_directories.end());
  std::vector<FileGroup> groups;
  std::map<std::string, std::size_t> group_of; // a directory's line in `groups`
  for (const auto& file : work.files) {
    // The topmost added directory above the file, if any.
    std::string top;
    for (std::size_t slash = file.find('/', 1); slash != std::string::npos; slash = file.find('/', slash + 1))
      if (added.count(file.substr(0, slash))) {
        top = file.substr(0, slash);
        break;
      }
    if (top.empty()) {
      groups.push_back({file, 1});
      continue;
    }
    auto [entry, inserted] = group_of.emplace(top, groups.size());
    if (inserted)
      groups.push_back({file, 1});
    else
      groups[entry->second] = {top, groups[entry->second].count + 1};
  }
  return groups;
}

std::size_t new_since_snapshot(const UnsavedWork& work, const SnapshotHeld& snapshot) {
  std::set<std::string> files(snapshot.files.begin(), snapshot.files.end());
  std::size_t count = 0;
  for (const auto& file : work.files)
    count += files.count(file) ? 0 : 1;
  auto held = [&](const PackageChange& change) {
    return std::find(snapshot.packages.begin(), snapshot.packages.end(), change) != snapshot.packages.end();
  };
  for (const auto* changes : {&work.python, &work.debian})
    for (const auto& change : *changes)
      count += held(change) ? 0 : 1;
  return count;
}

std::string unsaved_work_message(const std::string& env, const UnsavedWork& work, const std::string& workdir,
                                 const std::string& discard, const UnsavedReport& report) {
  std::string message =
      "environment \"" + env + "\" has changes outside its volumes that removing the container would lose:";
  if (!work.files.empty()) {
    message += fmt::format("\n  files ({}):", work.files.size());
    std::vector<FileGroup> groups;
    if (report.list_all)
      for (const auto& file : work.files)
        groups.push_back({file, 1});
    else
      groups = group_files(work);
    std::size_t shown = report.list_all ? groups.size() : std::min(groups.size(), files_shown);
    for (std::size_t i = 0; i < shown; ++i)
      message += "\n    " + groups[i].path +
                 (groups[i].count > 1 ? fmt::format("/ (new directory, {} files)", groups[i].count) : "");
    if (groups.size() > shown) {
      std::size_t more = 0;
      for (std::size_t i = shown; i < groups.size(); ++i)
        more += groups[i].count;
      message += fmt::format("\n    ... and {} more (`launcher down {} --list-all` lists every file)", more, env);
    }
  }
  auto packages = [&](const char* kind, const std::vector<PackageChange>& changes) {
    if (changes.empty()) return;
    message += fmt::format("\n  {} packages installed, changed or removed since the image was built ({}):", kind,
                           changes.size());
    for (const auto& change : changes)
      message += "\n    " + describe(change);
  };
  if (!work.secrets.empty()) {
    message += "\n  secrets among them, which `launcher snapshot` leaves out (`--include PATH` keeps one):";
    for (const auto& secret : work.secrets)
      message += "\n    " + secret;
  }
  packages("Python", work.python);
  packages("Debian", work.debian);
  if (report.snapshot) {
    std::size_t since = new_since_snapshot(work, *report.snapshot);
    message += "\nsnapshot " + report.snapshot->tag + " (taken " + report.snapshot->time + ") holds " +
               (since == 0 ? std::string("all of it as it was then")
                           : fmt::format("it as it was then, but not {} of these, new since", since));
  }
  message += "\nkeep all of it as an image with `launcher snapshot " + env + "` (then `launcher up --image <its tag>`)";
  if (!work.files.empty())
    message += "; keep files with `docker cp " + env + ":PATH .` or by moving them onto a volume (`launcher exec " +
               env + " -- mv PATH " + (workdir.empty() ? "/a/volume" : workdir) + "/`)";
  if (!work.python.empty() || !work.debian.empty())
    message += "; make packages part of every environment through the image's lock or the team file's image";
  return message + "; " + discard;
}

} // namespace launcher::lifecycle
