#include "profile/trust.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <regex>
#include <string_view>

#include <fmt/format.h>

#include "core/text.hpp"
#include "launcher_contract/service.hpp"

namespace launcher::profile {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string mode_text(unsigned mode) { return fmt::format("{:04o}", mode & 07777); }

// A path as a shell word, for the `launcher trust PATH` a message proposes.
std::string shell_word(const std::string& text) {
  bool plain = !text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                       "_-./+:@%,=") == std::string::npos;
  if (plain) return text;
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Whether `path` is `directory` or lies inside it (both absolute and normal).
bool is_within(const fs::path& path, const fs::path& directory) {
  auto [end, at] = std::mismatch(directory.begin(), directory.end(), path.begin(), path.end());
  if (end == directory.end()) return true;
  // "/a/" against "/a": a trailing empty element.
  return std::next(end) == directory.end() && end->empty();
}

// The directories of the container's system: what is mounted there changes what root runs inside
// (a library in /etc/ld.so.preload, a program in /usr/bin), whoever the env's user is.
bool is_system_path(const std::string& container_path) {
  static const std::array<std::string_view, 16> system{"/bin",   "/boot",   "/dev", "/etc",  "/lib",  "/lib32",
                                                       "/lib64", "/libx32", "/opt", "/proc", "/root", "/run",
                                                       "/sbin",  "/sys",    "/usr", "/var"};
  fs::path target = fs::path(container_path).lexically_normal();
  return std::any_of(system.begin(), system.end(),
                     [&](std::string_view directory) { return is_within(target, fs::path(directory)); });
}

const Origin* set_by(const Sourced& profile, const std::string& pointer, const std::string& team_source) {
  auto found = profile.origins.find(pointer);
  return found != profile.origins.end() && found->second.source == team_source ? &found->second : nullptr;
}

} // namespace

std::string unsafe_because(const host::FileFacts& facts, unsigned uid) {
  if (facts.owner != uid && facts.owner != 0)
    return fmt::format("is owned by uid {}, neither you (uid {}) nor root", facts.owner, uid);
  // Only a directory's or a regular file's mode says who may change what it holds; what another
  // type is (a device behind a link) is reported when the file is read.
  if (!S_ISDIR(facts.mode) && !S_ISREG(facts.mode)) return "";
  if (facts.mode & S_IWOTH) return "is writable by every user (mode " + mode_text(facts.mode) + ")";
  if (facts.mode & S_IWGRP) return "is writable by its group (mode " + mode_text(facts.mode) + ")";
  return "";
}

TeamFileSearch search_team_file(const fs::path& start, unsigned uid, const host::PathProbe& paths) {
  auto is_top = [](const fs::path& dir) { return dir == dir.root_path() || dir.parent_path() == dir; };
  for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
    std::optional<host::FileFacts> facts = paths.facts(dir);
    std::string why = facts ? unsafe_because(*facts, uid) : "cannot be examined";
    if (!why.empty()) {
      // Nothing at or above here is used; a launcher.json there is named, so that its owner
      // learns why it is ignored.
      for (fs::path above = dir; !above.empty(); above = above.parent_path()) {
        fs::path left = above / "launcher.json";
        if (paths.facts(left))
          return {std::nullopt, "not using " + left.string() + ": the search for a team file stops at " + dir.string() +
                                    ", which " + why + ", so another user could have put it there"};
        if (is_top(above)) break;
      }
      return {};
    }
    fs::path candidate = dir / "launcher.json";
    // Whatever is there is the team's file: a directory, device, dangling link or link loop is
    // reported when it is read, never skipped for a parent's file.
    if (std::optional<host::FileFacts> file = paths.facts(candidate)) {
      std::string file_why = unsafe_because(*file, uid);
      if (file_why.empty() && S_ISLNK(file->mode) && paths.exists(candidate))
        if (std::optional<host::FileFacts> target = paths.facts(paths.canonical(candidate)))
          file_why = unsafe_because(*target, uid);
      if (!file_why.empty())
        return {std::nullopt,
                "not using " + candidate.string() + ": it " + file_why + ", so another user could have written it"};
      return {candidate, ""};
    }
    if (is_top(dir)) break;
  }
  return {};
}

bool is_loopback(const std::string& address) { return starts_with(address, "127.") || address == "::1"; }

std::string content_sha256(std::string_view text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::string hex;
  for (unsigned char byte : digest)
    hex += fmt::format("{:02x}", byte);
  return hex;
}

std::vector<Widening> widenings(const Sourced& profile, const std::string& team_source, const fs::path& team_dir,
                                const host::PathProbe& paths) {
  std::vector<Widening> found;
  const json& fields = profile.fields;
  if (const Origin* origin = set_by(profile, "/allow", team_source))
    for (std::size_t i = 0; i < fields["allow"].size(); ++i)
      found.push_back({{origin->source, child_pointer(origin->pointer, i)},
                       "\"allow\" opts in to \"" + fields["allow"][i].get<std::string>() + "\""});
  if (const Origin* origin = set_by(profile, "/privileged", team_source); origin && fields["privileged"] == true)
    found.push_back({*origin, "\"privileged\": true (every device and capability of the host)"});
  if (const Origin* origin = set_by(profile, "/sudo", team_source); origin && fields["sudo"] == true)
    found.push_back({*origin, "\"sudo\": true (root inside the env)"});
  if (const Origin* origin = set_by(profile, "/user", team_source)) {
    const json& user = fields["user"];
    if (user == "root" || (user.is_object() && user.value("uid", -1) == 0))
      found.push_back({*origin, "\"user\" is root"});
  }
  if (const Origin* origin = set_by(profile, "/ipc", team_source); origin && fields["ipc"] == "host")
    found.push_back({*origin, "\"ipc\": \"host\" (the host's shared memory and IPC objects)"});

  // The env's files leave the host, signed with the user's own AWS keys.
  if (const Origin* origin = set_by(profile, "/backup", team_source)) {
    const json& backup = fields["backup"];
    std::string keys = backup.contains("credentials")
                           ? "the AWS keys of profile \"" + backup["credentials"].get<std::string>() + "\""
                           : "the host's AWS keys (AWS_PROFILE, else profile \"default\")";
    std::string store = backup.contains("endpoint") ? " at " + backup["endpoint"].get<std::string>() : "";
    found.push_back(
        {*origin, "\"backup\" sends the env's files to " + backup["to"].get<std::string>() + store + " with " + keys});
  }

  const json& volumes = fields.value("volumes", json::array());
  fs::path project = paths.canonical(team_dir);
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const Origin* origin = set_by(profile, child_pointer("/volumes", i), team_source);
    if (!origin) continue;
    fs::path host = volumes[i]["host"].get<std::string>();
    fs::path real = host::mount_source_path(host, paths);
    std::string named = host == real ? real.string() : host.string() + " -> " + real.string();
    if (real.filename() == "docker.sock")
      found.push_back({*origin, "mounts the Docker socket " + named + " (root on the host)"});
    else if (!is_within(real, project))
      found.push_back({*origin, "mounts " + named + ", outside the project directory " + project.string()});
    std::string target = volumes[i]["container"].get<std::string>();
    if (is_system_path(target))
      found.push_back({*origin, "mounts over " + target + " in the env, where the programs root runs there live"});
  }
  // What root starts inside the env (launcher-init, sshd, sudo) is found through PATH and loaded
  // with the dynamic linker's variables.
  if (fields.contains("env"))
    for (const auto& [name, value] : fields["env"].items())
      if (const Origin* origin = set_by(profile, child_pointer("/env", name), team_source);
          origin && (name == "PATH" || name.rfind("LD_", 0) == 0))
        found.push_back({*origin, "sets " + name + " (which programs root runs inside the env)"});

  const json& ports = fields.value("ports", json::array());
  // The schema checked the name (profile/ lies below plan/ and its parse): one it does not know
  // counts as a service without authentication.
  std::string service = fields.value("service", "shell");
  std::optional<contract::Service> known = contract::service_named(service);
  if (known != contract::Service::jupyter && known != contract::Service::ssh)
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const Origin* origin = set_by(profile, child_pointer("/ports", i), team_source);
      std::string bind = ports[i].value("bind", "127.0.0.1");
      if (origin && !is_loopback(bind))
        found.push_back({*origin, fmt::format("publishes port {} on {} for service \"{}\", which has no authentication",
                                              ports[i]["container"].dump(), bind, service)});
    }
  return found;
}

std::vector<Widening> variable_widenings(const std::string& source, const std::vector<VariableRead>& reads) {
  static const std::regex volume_host("/profiles/[^/]+/volumes/[0-9]+/host");
  std::vector<Widening> found;
  for (const auto& read : reads) {
    if (std::regex_match(read.pointer, volume_host)) continue;
    Widening widening{{source, read.pointer},
                      "takes the launcher's environment variable " + read.name + " (${" + read.name +
                          "}) into the env"};
    if (std::find(found.begin(), found.end(), widening) == found.end()) found.push_back(std::move(widening));
  }
  return found;
}

void judge_approval(TeamFileTrust& trust, const std::optional<std::vector<std::string>>& recorded) {
  auto approved = [&](const Widening& widening) {
    return recorded && std::find(recorded->begin(), recorded->end(), widening.describe()) != recorded->end();
  };
  std::stable_partition(trust.widens.begin(), trust.widens.end(), [&](const Widening& w) { return !approved(w); });
  trust.approved = recorded && std::all_of(trust.widens.begin(), trust.widens.end(), approved);
}

std::string refusal_message(const TeamFileTrust& trust) {
  const Widening& first = trust.widens.front();
  std::string more = trust.widens.size() > 1
                         ? fmt::format(" (and {} more value(s) that widen what an env may do)", trust.widens.size() - 1)
                         : "";
  return first.origin.describe() + ": " + first.what + more +
         ": this team file is not approved (new, changed since it was, or widening more than it did then); read it, "
         "then approve it with `launcher "
         "trust " +
         shell_word(trust.path.string()) + "`";
}

std::string preview_warning(const TeamFileTrust& trust) {
  return "the team file " + trust.path.string() + " is not approved and widens what an env may do (" +
         trust.widens.front().origin.describe() + ": " + trust.widens.front().what +
         "); `up` refuses it until `launcher trust " + shell_word(trust.path.string()) + "`";
}

std::string trust_status(const TeamFileTrust& trust) {
  if (trust.approved) return "approved";
  if (trust.widens.empty()) return "widens nothing (no approval needed)";
  return fmt::format("not approved: widens what an env may do ({}); `launcher trust` approves it",
                     trust.widens.front().origin.pointer +
                         (trust.widens.size() > 1 ? fmt::format(" and {} more", trust.widens.size() - 1) : ""));
}

json trust_json(const TeamFileTrust& trust) {
  json widens = json::array();
  for (const auto& widening : trust.widens)
    widens.push_back({{"key", widening.origin.describe()}, {"what", widening.what}});
  return {{"path", escape_invalid_utf8(trust.path.string())},
          {"sha256", trust.sha256},
          {"approved", trust.approved},
          {"needs_approval", trust.refused()},
          {"widens", widens}};
}

} // namespace launcher::profile
