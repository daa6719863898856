#pragma once

#include <string>
#include <vector>

#include "accounts.hpp"
#include "settings.hpp"

namespace launcher_init {

// What a service started as `account` sees: the container's environment (CUDA, PATH, ...)
// without launcher-init's own settings and without any JUPYTER_TOKEN that would override the
// token file, plus the account's identity and `additions`. Entries are "NAME=value", sorted.
std::vector<std::string> service_environment(const Environment& inherited, const Account& account,
                                             const Environment& additions);

// 128 + signal for a signalled process, as shells report it.
int exit_status_of(int wait_status);
// "exit status 3" or "signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

} // namespace launcher_init
