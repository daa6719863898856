#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/host_facts.hpp"
#include "profile/origin.hpp"
#include "profile/schema.hpp"

// A team file (launcher.json) is code: whoever can write it decides what the next `up` runs. Two
// rules keep another user, or the code of an env that has the project mounted, from using that:
// the search for it never passes a directory another user could write, and what it would let an
// env do beyond the project directory needs the user's approval of its exact content.
namespace launcher::profile {

// Why a directory the search passes, or the launcher.json it finds, could hold another user's
// file: writable by its group or by every user, or owned by someone other than `uid` or root.
// Empty when it is safe. Only a directory's or a regular file's mode is judged (a link's says nothing).
std::string unsafe_because(const host::FileFacts& facts, unsigned uid);

struct TeamFileSearch {
  std::optional<std::filesystem::path> file; // the nearest safe launcher.json, if any
  // One line naming a launcher.json the search did not use, and why; empty when none was left.
  std::string warning;
};

// The nearest launcher.json in `start` or one of its parents, whatever it is (a broken one is an
// error when read, not a reason to use a parent's). The search stops, without using what lies
// there, at a directory (or a launcher.json) unsafe_because names; it warns only when a
// launcher.json at or above that point was left unused.
TeamFileSearch search_team_file(const std::filesystem::path& start, unsigned uid, const host::PathProbe& paths);

// An address only this host reaches (127.0.0.0/8, ::1): a port there needs no authentication.
bool is_loopback(const std::string& address);

// SHA-256 of a team file's bytes, in lowercase hex: what `launcher trust` records.
std::string content_sha256(std::string_view text);

// One value of the team file that gives an env more than the project directory and its own
// sandbox: a host path outside the project, a privilege, a host namespace, an open port.
struct Widening {
  Origin origin;    // the team file and the JSON pointer of the value inside it
  std::string what; // what it gives, for messages: "\"sudo\": true (root inside the env)"

  // "FILE:POINTER: WHAT", as an approval records it.
  std::string describe() const { return origin.describe() + ": " + what; }

  bool operator==(const Widening& other) const {
    return origin.source == other.origin.source && origin.pointer == other.origin.pointer && what == other.what;
  }
};

// The values of `profile` (merged, with origins) that `team_source` set and that widen what an
// env may do: each "allow" entry, "privileged": true, "sudo": true, "user" root, "ipc": "host",
// a volume whose host path (links followed) lies outside `team_dir` or is a Docker socket, and
// a port published on an address other than loopback for a service without authentication.
std::vector<Widening> widenings(const Sourced& profile, const std::string& team_source,
                                const std::filesystem::path& team_dir, const host::PathProbe& paths);

// The ${NAME}s of a team file (`reads`, from `source`) that hand the launcher's environment (an
// API key, a token) to the env or its command line: all but those in a volume's host path, which
// the mount rules judge by where they lead. Each once.
std::vector<Widening> variable_widenings(const std::string& source, const std::vector<VariableRead>& reads);

// The team file a command uses, and whether what it widens is approved.
struct TeamFileTrust {
  std::filesystem::path path;
  std::string sha256;           // of the bytes that were read and used
  bool approved = false;        // `launcher trust` recorded exactly this content
  std::vector<Widening> widens; // in what the command uses (one profile, or every one)

  bool refused() const { return !approved && !widens.empty(); }
};

// Sets trust.approved: `launcher trust` recorded this content (`recorded`: what it widened then)
// and every widening now is one of those. Widenings not approved are moved first, so that
// messages name one of them.
void judge_approval(TeamFileTrust& trust, const std::optional<std::vector<std::string>>& recorded);

// One line for `up`, `submit`, `export` when refused(): the file, the first widening key, how to approve.
std::string refusal_message(const TeamFileTrust& trust);
// One warning line for a preview (`render`) of a refused() request.
std::string preview_warning(const TeamFileTrust& trust);
// "approved", "widens nothing (no approval needed)" or "not approved: widens ...", for listings.
std::string trust_status(const TeamFileTrust& trust);
// {"path", "sha256", "approved", "needs_approval", "widens": [{"key", "what"}]}.
nlohmann::json trust_json(const TeamFileTrust& trust);

} // namespace launcher::profile
