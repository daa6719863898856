#include "lifecycle/snapshot.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/inspect.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

bool is_tag_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// One path component of a repository: lowercase letters and digits, separated by '.', '_', '__' or '-'s.
bool is_path_component(const std::string& component) {
  if (component.empty() || !std::isalnum(static_cast<unsigned char>(component.front())) ||
      !std::isalnum(static_cast<unsigned char>(component.back())))
    return false;
  return std::all_of(component.begin(), component.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c))) || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_switch(const std::string& name) {
  for (const char* known : {contract::env::sudo, contract::env::read_only_root, contract::env::ssh_agent_forwarding,
                            contract::env::ssh_stream_local_forwarding, contract::env::ssh_user_rc})
    if (name == known) return true;
  return false;
}

std::pair<std::string, std::string> split_assignment(const std::string& entry) {
  auto equals = entry.find('=');
  if (equals == std::string::npos) return {entry, ""};
  return {entry.substr(0, equals), entry.substr(equals + 1)};
}

bool is_under_path(const std::string& path, const std::string& root) {
  return path == root || (starts_with(path, root) && path.size() > root.size() && path[root.size()] == '/');
}

std::string trimmed(const std::string& text) {
  auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return escape_control_characters(text.substr(begin, text.find_last_not_of(" \t\r\n") + 1 - begin));
}

std::string home_list(const std::string& home) {
  std::string text;
  for (const auto& pattern : home_secret_patterns())
    text += (text.empty() ? "" : ", ") + home + "/" + pattern;
  return text;
}

} // namespace

std::vector<std::string> environment_changes(const std::vector<std::string>& image_environment,
                                             const std::vector<std::string>& container_environment) {
  std::map<std::string, std::string> own;
  for (const auto& entry : image_environment)
    own.insert(split_assignment(entry));
  std::vector<std::string> changes;
  for (const auto& entry : container_environment) {
    auto [name, value] = split_assignment(entry);
    auto found = own.find(name);
    if (found != own.end() && found->second == value) continue;
    std::string restored = found != own.end() ? found->second : is_switch(name) ? "0" : "";
    // A Dockerfile ENV instruction: the name up to '=', the value in double quotes, where '\',
    // '"' and '$' (expanded otherwise) are escaped; one line each.
    if (name.empty() || name.find_first_of(" \t\r\n\"'\\$=") != std::string::npos)
      throw Error(ExitCode::failed, "the environment variable " + quote_for_message(name) +
                                        " of the container cannot be emptied for the snapshot (docker commit's "
                                        "ENV instruction cannot name it); remove it from the profile or -e");
    if (restored.find_first_of("\r\n") != std::string::npos)
      throw Error(ExitCode::failed, "the image's value of the environment variable " + name +
                                        " holds a line break, which docker commit's ENV instruction cannot write back");
    std::string quoted;
    for (char c : restored) {
      if (c == '\\' || c == '"' || c == '$') quoted += '\\';
      quoted += c;
    }
    changes.push_back("ENV " + name + "=\"" + quoted + "\"");
  }
  return changes;
}

std::string included_secret_path(const std::string& argument, const std::vector<std::string>& homes,
                                 const std::string& host_home) {
  const std::string home = homes.empty() ? "/root" : homes.front();
  std::string path = argument;
  bool in_a_home = std::any_of(homes.begin(), homes.end(), [&](const auto& h) { return is_under_path(path, h); });
  if (path == "~" || starts_with(path, "~/"))
    path = home + path.substr(1);
  else if (!path.empty() && path.front() != '/')
    path = home + "/" + path;
  else if (!in_a_home && !host_home.empty() && host_home != "/" && is_under_path(path, host_home))
    path = home + path.substr(host_home.size());
  path = std::filesystem::path(path).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  for (const auto& h : homes) {
    if (!is_under_path(path, h) || path == h) continue;
    std::string relative = path.substr(h.size() + 1);
    for (const auto& pattern : home_secret_patterns())
      if (relative == pattern || fnmatch(pattern.c_str(), relative.c_str(), FNM_PATHNAME) == 0) return path;
    if (std::string holder = secret_path_holding(path, {h}); !holder.empty())
      throw Error(ExitCode::usage, "--include " + argument + ": it lies in " + holder +
                                       ", which a snapshot leaves out or keeps whole: --include " + holder);
  }
  throw Error(ExitCode::usage, "--include " + argument + ": " + path +
                                   " is not a path a snapshot leaves out, which are, in the env's home " + home +
                                   (homes.size() > 1 ? " and in root's: " : ": ") + home_list("~") +
                                   "; anything else is in the snapshot already");
}

bool is_included(const std::string& path, const std::vector<std::string>& included) {
  return std::any_of(included.begin(), included.end(), [&](const std::string& pattern) {
    return path == pattern || fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
  });
}

std::string default_snapshot_tag(const std::string& image, const std::string& env, std::time_t when) {
  std::string name = image.substr(0, image.find('@'));
  std::string tag = "latest";
  if (auto colon = name.rfind(':'); colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    tag = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  std::tm utc{};
  gmtime_r(&when, &utc);
  return fmt::format("{}:{}-snapshot-{}-{:04}{:02}{:02}-{:02}{:02}", name, tag, env, utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min);
}

std::string image_reference_problem(const std::string& reference) {
  if (reference.empty()) return "it is empty";
  if (reference.find('@') != std::string::npos)
    return "a digest (@sha256:...) is Docker's to give, not a name to choose";
  std::string repository = reference, tag;
  if (auto colon = reference.rfind(':');
      colon != std::string::npos && reference.find('/', colon) == std::string::npos) {
    repository = reference.substr(0, colon);
    tag = reference.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !std::all_of(tag.begin(), tag.end(), is_tag_character) ||
        tag.front() == '.' || tag.front() == '-')
      return "the tag \"" + tag + "\" is not 1-128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')";
  }
  if (repository.size() > 255) return "the repository name is longer than 255 characters";
  // The first component may be a registry host ("registry.example.com:5000").
  std::size_t start = 0;
  if (auto slash = repository.find('/'); slash != std::string::npos) {
    std::string first = repository.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") start = slash + 1;
  }
  for (std::size_t begin = start; begin <= repository.size();) {
    std::size_t end = std::min(repository.find('/', begin), repository.size());
    std::string component = repository.substr(begin, end - begin);
    if (!is_path_component(component))
      return "\"" + component + "\" in the repository is not lowercase letters and digits separated by '.', '_' or '-'";
    begin = end + 1;
  }
  return "";
}

std::string snapshot_hints(const std::string& env, const std::string& tag, const std::string& id,
                           const std::string& profile) {
  std::string name = profile.empty() ? "PROFILE" : profile;
  return "snapshot of " + env + ": " + tag + " (" + id + ")\n" + "  use it:   launcher up --image " + tag + "\n" +
         "  share it: docker push " + tag + "; others: docker pull " + tag + " && launcher up --image " + tag + "\n" +
         "  pin it:   set \"image\": \"" + tag + "\" for profile \"" + name +
         "\" in launcher.json, then launcher pin --profile " + name + "\n";
}

json snapshot_record_json(const SnapshotRecord& record) {
  json packages = json::array();
  for (const auto& change : record.held.packages)
    packages.push_back({{"name", change.name}, {"built", change.built}, {"current", change.current}});
  return {{"container", record.container_id}, {"image", record.image_id},   {"tag", record.held.tag},
          {"time", record.held.time},         {"files", record.held.files}, {"packages", packages}};
}

std::optional<SnapshotRecord> parse_snapshot_record(const std::string& text) {
  try {
    json document = json::parse(text);
    SnapshotRecord record{document.at("container").get<std::string>(), document.at("image").get<std::string>(),
                          SnapshotHeld{document.at("tag").get<std::string>(),
                                       document.at("time").get<std::string>(),
                                       document.at("files").get<std::vector<std::string>>(),
                                       {}}};
    for (const auto& change : document.at("packages"))
      record.held.packages.push_back({change.at("name").get<std::string>(), change.at("built").get<std::string>(),
                                      change.at("current").get<std::string>()});
    return record;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void record_snapshot(const host::StateLayout& layout, const SnapshotRecord& record) {
  secrets::ensure_private_dir(layout.env_dir);
  secrets::write_private_file(layout.last_snapshot(), snapshot_record_json(record).dump(2) + "\n");
}

std::optional<SnapshotHeld> snapshot_holding(const engine::Engine& engine, const host::StateLayout& layout,
                                             const json& container) {
  std::optional<SnapshotRecord> record;
  try {
    if (auto text = secrets::read_private_file(layout.last_snapshot())) record = parse_snapshot_record(*text);
  } catch (const Error&) {
    return std::nullopt; // a record that cannot be read only loses the note
  }
  if (!record || !container.is_object() || container.value("Id", "") != record->container_id) return std::nullopt;
  auto image = engine.inspect_image(record->held.tag);
  if (!image || !image->is_object() || image->value("Id", "") != record->image_id) return std::nullopt;
  return record->held;
}

namespace {

// $1: the stash; the rest: the paths. Each goes to $1/N/item with its own path in $1/N/path; $1/N/whole
// says the copy is whole, and only then is the original deleted.
constexpr const char* stash_text = R"SH(set -u
stash=$1; shift
mkdir -p -m 0700 "$stash" || exit 1
n=0
for p in "$@"; do
  [ -e "$p" ] || [ -L "$p" ] || continue
  parent=$(dirname -- "$p")
  if [ "$(realpath -e -- "$parent")" != "$parent" ]; then echo "$parent is reached through a symbolic link" >&2; exit 1; fi
  n=$((n+1)); while [ -e "$stash/$n" ]; do n=$((n+1)); done
  d=$stash/$n
  mkdir "$d" && printf '%s' "$p" > "$d/path" || exit 1
  cp -a -- "$p" "$d/item" || { echo "cannot copy $p" >&2; exit 1; }
  : > "$d/whole" && rm -rf -- "$p" || { echo "cannot move $p aside" >&2; exit 1; }
done
)SH";

// $1: the stash. Puts each whole copy back where it was (into a directory that came back meanwhile,
// without replacing what is there; beside a file that came back, as PATH.before-snapshot, printed).
constexpr const char* restore_text = R"SH(set -u
stash=$1
[ -d "$stash" ] || exit 0
status=0
for d in "$stash"/*; do
  [ -f "$d/path" ] || { rm -rf -- "$d"; continue; }
  p=$(cat "$d/path")
  if [ ! -f "$d/whole" ]; then rm -rf -- "$d"; continue; fi
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then
    cp -a -- "$d/item" "$p" && rm -rf -- "$d" || { echo "cannot put back $p" >&2; status=1; }
  elif [ -d "$p" ] && [ ! -L "$p" ] && [ -d "$d/item" ] && [ ! -L "$d/item" ]; then
    cp -a -n -- "$d/item/." "$p/" && rm -rf -- "$d" || { echo "cannot put back $p" >&2; status=1; }
  elif cmp -s -- "$d/item" "$p"; then
    rm -rf -- "$d"
  else
    cp -a -- "$d/item" "$p.before-snapshot" && rm -rf -- "$d" && echo "$p.before-snapshot" ||
      { echo "cannot put back $p" >&2; status=1; }
  fi
done
rmdir -- "$stash" 2>/dev/null
exit $status
)SH";

// $1: the directory, $2: UID:GID. Made by root in root's /run/launcher (no one else can put a
// link there), then handed to the user.
constexpr const char* user_directory_text = R"SH(set -u
d=$1
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo "$d is not a directory" >&2; exit 1; fi
mkdir -p -m 0700 -- "$d" && chown -h -- "$2" "$d"
)SH";

} // namespace

const char* const SecretStash::stash_script = stash_text;
const char* const SecretStash::restore_script = restore_text;
const char* const SecretStash::user_directory_script = user_directory_text;

SecretStash::SecretStash(const engine::Engine& engine, std::string container, const std::vector<std::string>& paths,
                         std::string runner)
    : engine_(engine), container_(std::move(container)), runner_(std::move(runner)),
      directory_(runner_ == "0" ? directory : user_directory) {
  if (paths.empty()) return;
  if (runner_ != "0") {
    auto made = engine_.exec(container_, {"0", ""}, {"sh", "-c", user_directory_script, "sh", directory_, runner_});
    if (made.exit_code != 0)
      throw Error(ExitCode::failed, "cannot keep the secret files of " + container_ +
                                        " out of the snapshot (they are where they were): " + trimmed(made.err));
  }
  stashed_ = true;
  restore(); // what an interrupted snapshot left
  std::vector<std::string> command{"sh", "-c", stash_script, "sh", directory_};
  command.insert(command.end(), paths.begin(), paths.end());
  stashed_ = true;
  auto result = engine_.exec(container_, {runner_, ""}, command);
  if (result.exit_code != 0) {
    std::string why = trimmed(result.err);
    restore();
    throw Error(ExitCode::failed, "cannot keep the secret files of " + container_ +
                                      " out of the snapshot (they are where they were): " +
                                      (why.empty() ? "exit status " + std::to_string(result.exit_code) : why));
  }
}

SecretStash::~SecretStash() {
  if (!stashed_) return;
  try {
    restore();
  } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): left for the next snapshot to put back
  }
}

std::vector<std::string> SecretStash::restore() {
  if (!stashed_) return {};
  auto result = engine_.exec(container_, {runner_, ""}, {"sh", "-c", restore_script, "sh", directory_});
  if (result.exit_code != 0)
    throw Error(ExitCode::failed, "could not put every secret file of " + container_ + " back: " + trimmed(result.err) +
                                      "; the copies wait in " + directory_ + " in the container (a tmpfs: " +
                                      "copy them out before it stops; the next `launcher snapshot` tries again)");
  stashed_ = false;
  std::vector<std::string> moved;
  for (const auto& line : split(result.out, '\n'))
    if (!line.empty()) moved.push_back(line);
  return moved;
}

PackageBaseline::PackageBaseline(const engine::Engine& engine, const json& container) : engine_(engine) {
  if (!is_running(container)) return;
  container_ = name_of(container);
  if (engine_.exec(container_, {}, {"test", "-f", package_record}).exit_code != 0) return;
  std::string uid = env_variable(container, contract::env::uid);
  // As `down` lists them: as the env's user, so that its own site-packages count.
  auto listed = engine_.exec(container_, {uid.empty() ? "0" : uid, ""}, {"python3", package_lister});
  if (listed.exit_code != 0) return;
  PackageListing listing = parse_package_listing(listed.out, "the package listing of " + container_);
  // The image's own record has no "new_package_files". Each list is its own argument (the
  // kernel's limit is per argument), and none is read by the shell.
  const char* script = "cp -p \"$3\" \"$4\" && printf '{\"debian\": %s, \"python\": %s}\\n' \"$1\" \"$2\" > \"$3.new\" "
                       "&& chmod 0644 \"$3.new\" && mv -f \"$3.new\" \"$3\"";
  rewritten_ = engine_
                   .exec(container_, {"0", ""},
                         {"sh", "-c", script, "sh", json(listing.debian).dump(), json(listing.python).dump(),
                          package_record, saved})
                   .exit_code == 0;
}

PackageBaseline::~PackageBaseline() {
  if (rewritten_)
    engine_.exec(container_, {"0", ""},
                 {"sh", "-c", "cat \"$1\" > \"$2\" && rm -f \"$1\"", "sh", saved, package_record});
}

} // namespace launcher::lifecycle
