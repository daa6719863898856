#include "host/state_layout.hpp"

#include <system_error>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::host {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void unresolvable(const fs::path& path, const std::string& why) {
  throw Error(ExitCode::failed, "failed to resolve state path " + quote_for_message(path.string()) + ": " + why);
}

// `path` with every symbolic link resolved, a dangling one too (weakly_canonical alone stops at
// the first element that does not exist, and would take a dangling link's name as it is).
fs::path resolved(const fs::path& path) {
  std::error_code error;
  fs::path current = fs::absolute(path, error);
  if (error) unresolvable(path, error.message());
  for (int links = 0; links < 40; ++links) {
    fs::path parent = fs::weakly_canonical(current.parent_path(), error);
    if (error) unresolvable(path, error.message());
    fs::path candidate = parent / current.filename();
    if (!fs::is_symlink(candidate, error)) {
      fs::path result = fs::weakly_canonical(candidate, error);
      if (error) unresolvable(path, error.message());
      return result;
    }
    fs::path target = fs::read_symlink(candidate, error);
    if (error) unresolvable(path, error.message());
    current = target.is_absolute() ? target : parent / target;
  }
  unresolvable(path, "too many levels of symbolic links");
}

} // namespace

bool is_strictly_inside(const fs::path& root, const fs::path& path) {
  auto root_it = root.begin(), path_it = path.begin();
  for (; root_it != root.end(); ++root_it, ++path_it) {
    if (root_it->empty() && std::next(root_it) == root.end()) break; // "/a/b/" ends in an empty element
    if (path_it == path.end() || *path_it != *root_it) return false;
  }
  for (; path_it != path.end(); ++path_it)
    if (!path_it->empty()) return true;
  return false;
}

std::vector<fs::path> StateLayout::secret_files() const {
  return {jupyter_token(),   jupyter_password_hash(), host_key(),          host_public_key(),
          authorized_keys(), user_password_hash(),    backup_credentials()};
}

std::vector<fs::path> StateLayout::env_files() const {
  return {jupyter_password(), user_password(), known_hosts(), recorded_plan(),
          last_snapshot(),    open_page(),     host_ports(),  run_environment()};
}

const fs::path& StateLayout::inside(const fs::path& path) const {
  fs::path root = resolved(state_dir);
  fs::path target = resolved(path);
  if (!is_strictly_inside(root, target))
    throw Error(ExitCode::failed, "refusing to touch " + quote_for_message(path.string()) + ": it resolves to " +
                                      quote_for_message(target.string()) + ", outside the state directory " +
                                      quote_for_message(root.string()));
  return path;
}

StateLayout state_layout(const EnvName& env, const fs::path& state_home) {
  fs::path state_dir = state_home / "launcher";
  fs::path env_dir = state_dir / "envs" / env.str();
  StateLayout layout{state_dir, env_dir, env_dir / "secrets"};
  layout.inside(layout.secrets_dir);
  layout.inside(layout.lock_file());
  return layout;
}

} // namespace launcher::host
