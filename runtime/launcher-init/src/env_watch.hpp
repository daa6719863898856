#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "files.hpp"
#include "settings.hpp"
#include "stop_watch.hpp"
#include "supervisor.hpp"

namespace launcher_init {

// Where the watch finds Jupyter's token and where a Jupyter user sees the notice.
struct WatchPlaces {
  std::filesystem::path jupyter_token_file;
  std::filesystem::path jupyter_root_dir;
  Ownership user;
};

// The name of the notice file in Jupyter's root directory: shown in its file browser, removed
// when the env stays up or stops.
inline constexpr const char* stop_notice_file = "LAUNCHER-STOPPING-SOON.txt";

// Stops the env by its profile's "idle" and "max_age" (StopWatch decides), looking at Jupyter's
// /api/status and /api/kernels over loopback with the env's token, at sshd's sessions (its child
// processes) and at nvidia-smi's utilisation. A notice goes before the stop: a line in the log,
// `wall` to SSH terminals, a file in Jupyter's root directory. nullptr when the profile set neither.
std::unique_ptr<Watch> make_env_watch(const Settings& settings, const WatchPlaces& places);

} // namespace launcher_init
