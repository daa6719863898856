#pragma once

#include <filesystem>
#include <string>

#include "host/state_layout.hpp"

namespace launcher::lifecycle {

// The page `open` hands the browser instead of the login URL, as Jupyter's own
// jpserver-*-open.html: a command line is readable by every local user (/proc/PID/cmdline), a
// file of mode 0600 only by its owner. It refreshes to `url` at once and links to it.
std::string login_page(const std::string& url);

// `file://` and the path, each byte other than an unreserved one or '/' percent-encoded.
std::string file_url(const std::filesystem::path& path);

// Where the page goes: $XDG_RUNTIME_DIR/launcher/<env>-open.html when `runtime_dir` (its value,
// null when unset) is an absolute directory of this user that no one else may enter; else the
// env's own state directory (StateLayout::open_page, which `down --purge` deletes).
std::filesystem::path login_page_path(const host::StateLayout& layout, const char* runtime_dir);

// Writes login_page(url) at `path`: its directory made private (0700), a page left there before
// unlinked, the new one created with O_EXCL|O_NOFOLLOW and mode 0600, so that no other user can
// read it or have planted it. Throws Error naming the path.
void write_login_page(const std::filesystem::path& path, const std::string& url);

} // namespace launcher::lifecycle
