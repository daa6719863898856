#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace launcher::secrets {

// Where `launcher trust` records the team files the user approved: one file of the user's own
// state, ${XDG_STATE_HOME:-~/.local/state}/launcher/trusted-files.json (mode 0600, in a 0700
// directory), never mounted into an env. It maps each file's absolute path to the SHA-256 of
// the content approved and to what that content widened then, each "KEY: WHAT" as the approval
// showed it: the same bytes that widen more later (a mounted ./data made a link out of the
// project from inside an env) are not approved for the more.
std::filesystem::path trusted_files_record(const std::filesystem::path& state_home);

// What the user approved this content of this file to widen; nothing when this content of this
// file is not approved. A record that is not one is an Error naming it.
std::optional<std::vector<std::string>> approved_widenings(const std::filesystem::path& state_home,
                                                           const std::filesystem::path& file,
                                                           const std::string& sha256);

// Records (atomically) that the user approved this content of this file, widening `widenings`;
// the file's former record, if any, is replaced.
void record_trusted(const std::filesystem::path& state_home, const std::filesystem::path& file,
                    const std::string& sha256, const std::vector<std::string>& widenings);

} // namespace launcher::secrets
