#include "setup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "accounts.hpp"
#include "error.hpp"
#include "files.hpp"
#include "jupyter_config.hpp"
#include "launcher_contract/contract.hpp"
#include "process_environment.hpp"
#include "sshd_config.hpp"

namespace launcher_init {
namespace {

namespace contract = launcher::contract;

namespace fs = std::filesystem;

struct Programs {
  std::string sshd;
  std::vector<std::string> jupyter;
  std::vector<std::string> command;
};

struct Secrets {
  std::string jupyter_token;
  std::optional<std::string> jupyter_password_hash;
  std::string ssh_host_key;
  std::string ssh_host_public_key;
  std::string authorized_keys;
  std::optional<std::string> user_password_hash;
};

Error missing_program(std::string_view names, const Settings& settings) {
  return failure("find program", names, "not installed (searched PATH=" + settings.program_path + ")");
}

fs::path runtime_dir(const Settings& settings) { return settings.under_root(contract::mount::runtime_dir); }

fs::path jupyter_dir(const Settings& settings) { return runtime_dir(settings) / "jupyter"; }

Programs find_programs(const Settings& settings, const Invocation& invocation) {
  auto find = [&settings](std::string_view name) { return find_program(name, settings.program_path); };
  Programs programs;
  if (settings.has(Service::ssh)) {
    auto sshd = find("sshd");
    if (!sshd) throw missing_program("sshd", settings);
    programs.sshd = *sshd;
  }
  if (settings.has(Service::jupyter)) {
    auto command = jupyter_command(find, (jupyter_dir(settings) / "jupyter_server_config.py").string());
    if (!command) throw missing_program("jupyter-lab, jupyter-server or python3", settings);
    programs.jupyter = *command;
  }
  if (settings.has(Service::command)) {
    auto program = find(invocation.command.front());
    if (!program) throw missing_program(invocation.command.front(), settings);
    programs.command = invocation.command;
    programs.command.front() = *program;
  }
  return programs;
}

// A hash file may end with a newline; a hash never contains one.
std::optional<std::string> read_hash(const fs::path& path, std::string (*problem)(std::string_view)) {
  auto hash = read_secret(path, true);
  if (!hash) return std::nullopt;
  if (hash->ends_with('\n')) hash->pop_back();
  if (auto reason = problem(*hash); !reason.empty()) throw failure("read secret", path.string(), reason);
  return hash;
}

Secrets read_secrets(const Settings& settings) {
  const auto& dir = settings.secrets_dir;
  Secrets secrets;
  if (settings.has(Service::jupyter)) {
    auto path = dir / contract::secret_file::jupyter_token;
    secrets.jupyter_token = *read_secret(path);
    // An empty token switches Jupyter's authentication off; Jupyter keeps a newline as part of it.
    if (secrets.jupyter_token.empty()) throw failure("read secret", path.string(), "empty");
    for (char c : secrets.jupyter_token) {
      if (c <= ' ' || c == 0x7f)
        throw failure("read secret", path.string(), "contains whitespace or a control character");
    }
    secrets.jupyter_password_hash =
        read_hash(dir / contract::secret_file::jupyter_password_hash, jupyter_password_hash_problem);
  }
  if (settings.has(Service::ssh)) {
    secrets.ssh_host_key = *read_secret(dir / contract::secret_file::ssh_host_key);
    secrets.ssh_host_public_key = *read_secret(dir / contract::secret_file::ssh_host_public_key);
    secrets.authorized_keys = *read_secret(dir / contract::secret_file::authorized_keys);
    if (secrets.authorized_keys.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw failure("read secret", (dir / contract::secret_file::authorized_keys).string(),
                    "no keys, so nobody could log in");
    }
  }
  secrets.user_password_hash = read_hash(dir / contract::secret_file::user_password_hash, password_hash_problem);
  return secrets;
}

// Keeps the mode and owner of the file it replaces (shadow is root:shadow 0640).
void replace_account_file(const fs::path& path, const std::string& old_content, const std::string& new_content) {
  if (old_content == new_content) return;
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) throw system_failure("read", path.string());
  write_file_atomically(path, new_content, status.st_mode & 07777, {status.st_uid, status.st_gid});
}

// Where libnss-extrausers reads additional accounts: the images link /var/lib/extrausers here.
fs::path extrausers_dir(const Settings& settings) { return settings.under_root("/run/launcher/extrausers"); }

// On a read-only root the user's lines go to the extrausers files; they must be additions only.
void write_extra_account_file(const Settings& settings, const std::string& name, const std::string& before,
                              const std::string& after, mode_t mode) {
  if (after.compare(0, before.size(), before) != 0) {
    throw failure("add user", settings.user,
                  "a read-only root can only add accounts, and /etc/" + name + " would change");
  }
  ensure_directory(extrausers_dir(settings), 0755, root_ownership);
  write_file_atomically(extrausers_dir(settings) / name, after.substr(before.size()), mode, root_ownership);
}

Account set_up_account(const Settings& settings, const Secrets& secrets) {
  auto etc = settings.under_root("/etc");
  AccountFiles files{read_file(etc / "passwd"), read_file(etc / "group"), read_file(etc / "shadow"),
                     read_file_if_exists(etc / "gshadow")};
  if (settings.runs_as_root()) {
    auto root = find_account(files.passwd, "root");
    if (!root) throw failure("find user", "root", "not in " + (etc / "passwd").string());
    return *root;
  }
  AccountRequest request;
  request.account = {settings.user, settings.uid, settings.gid, "/home/" + settings.user,
                     ::access(settings.under_root("/bin/bash").c_str(), X_OK) == 0 ? "/bin/bash" : "/bin/sh"};
  request.password_field = secrets.user_password_hash.value_or("*");
  request.days_since_epoch = static_cast<long>(std::time(nullptr) / 86400);
  auto change = add_account(files, request);
  if (settings.read_only_root) {
    write_extra_account_file(settings, "group", files.group, change.files.group, 0644);
    write_extra_account_file(settings, "passwd", files.passwd, change.files.passwd, 0644);
    write_extra_account_file(settings, "shadow", files.shadow, change.files.shadow, 0600);
    return change.account;
  }
  // group first: a passwd entry must never name a group that does not exist yet
  replace_account_file(etc / "group", files.group, change.files.group);
  if (files.gshadow) replace_account_file(etc / "gshadow", *files.gshadow, *change.files.gshadow);
  replace_account_file(etc / "passwd", files.passwd, change.files.passwd);
  replace_account_file(etc / "shadow", files.shadow, change.files.shadow);
  return change.account;
}

void set_up_sudo(const Settings& settings, const Account& account) {
  if (!settings.sudo || settings.runs_as_root()) return;
  if (!find_program("sudo", settings.program_path))
    throw missing_program(std::string("sudo (") + contract::env::sudo + "=1)", settings);
  auto dir = settings.under_root("/etc/sudoers.d");
  create_directory_if_missing(dir, 0750, root_ownership);
  write_file_atomically(dir / ("launcher-" + account.name), account.name + " ALL=(ALL:ALL) NOPASSWD: ALL\n", 0440,
                        root_ownership);
}

ServiceSpec prepare_sshd(const Settings& settings, const Secrets& secrets, const Account& account,
                         const std::string& sshd) {
  // The keys baked in by the openssh-server package would be shared by every container of the image.
  remove_files_with_prefix(settings.under_root("/etc/ssh"), "ssh_host_");
  ensure_directory(settings.under_root("/run/sshd"), 0755, root_ownership); // sshd's privilege separation dir
  auto dir = runtime_dir(settings) / "ssh";
  ensure_directory(dir, 0755, root_ownership);
  SshdOptions options;
  options.user = account.name;
  options.port = settings.ssh_port;
  options.listen_address = settings.listen_address;
  options.host_key_path = (dir / "ssh_host_ed25519_key").string();
  options.authorized_keys_path = (dir / "authorized_keys").string();
  options.password_login = secrets.user_password_hash.has_value() && !settings.runs_as_root();
  options.forwarding = settings.ssh_forwarding;
  write_file_atomically(options.host_key_path, secrets.ssh_host_key, 0600, root_ownership);
  write_file_atomically(options.host_key_path + ".pub", secrets.ssh_host_public_key, 0644, root_ownership);
  // sshd reads it as the user, who must not change who may log in: root's, readable by all, in
  // root's directories, which StrictModes accepts.
  write_file_atomically(options.authorized_keys_path, secrets.authorized_keys, 0644, root_ownership);
  auto config = dir / "sshd_config";
  write_file_atomically(config, render_sshd_config(options), 0600, root_ownership);
  return {"ssh", {sshd, "-D", "-e", "-f", config.string()}, {"PATH=" + settings.program_path}, std::nullopt, "/",
          false};
}

// The environment and working directory for a process of the user's.
struct UserProcess {
  Account account; // home as the process sees it, i.e. under LAUNCHER_ROOT
  std::optional<Ownership> run_as;
  fs::path working_directory;
};

ServiceSpec prepare_jupyter(const Settings& settings, const Secrets& secrets, const UserProcess& user,
                            const Environment& inherited, const std::vector<std::string>& command) {
  auto dir = jupyter_dir(settings);
  ensure_directory(dir, 0755, root_ownership);
  Ownership owner{user.account.uid, user.account.gid};
  auto token_file = dir / "token";
  write_file_atomically(token_file, secrets.jupyter_token, 0400, owner);
  // Jupyter writes the full token into a 0644 file there: keep it off volumes, on this tmpfs.
  auto jupyter_runtime = dir / "runtime";
  ensure_directory(jupyter_runtime, 0700, owner);
  JupyterOptions options;
  options.port = settings.jupyter_port;
  options.listen_address = settings.listen_address;
  options.root_dir = user.working_directory.string();
  options.password_hash = secrets.jupyter_password_hash;
  options.allow_root = settings.runs_as_root();
  write_file_atomically(dir / "jupyter_server_config.py", render_jupyter_config(options), 0400, owner);
  auto environment = service_environment(
      inherited, user.account,
      {{"JUPYTER_TOKEN_FILE", token_file.string()}, {"JUPYTER_RUNTIME_DIR", jupyter_runtime.string()}});
  return {"jupyter", command, environment, user.run_as, user.working_directory, false};
}

UserProcess set_up_home(const Settings& settings, const Account& account) {
  Ownership owner{account.uid, account.gid};
  UserProcess user{account, std::nullopt, {}};
  user.account.home = settings.under_root(account.home).string();
  if (!settings.runs_as_root()) {
    user.run_as = owner;
    create_directory_if_missing(user.account.home, 0700, owner);
  }
  user.working_directory = settings.workdir ? settings.under_root(*settings.workdir) : fs::path(user.account.home);
  create_directory_if_missing(user.working_directory, 0755, owner);
  return user;
}

// The mounted secrets belong to the host user, so to the user inside too (same uid), and a
// read-only mount cannot be chmodded: only root may pass the directory that holds it. Each
// consumer reads a copy owned as it needs.
void seal_secrets(const Settings& settings) {
  ensure_directory(settings.secrets_dir.parent_path(), 0700, root_ownership);
}

} // namespace

SetUp set_up(const Settings& settings, const Invocation& invocation, const Environment& inherited) {
  seal_secrets(settings);
  auto programs = find_programs(settings, invocation);
  auto secrets = read_secrets(settings);
  auto account = set_up_account(settings, secrets);
  auto user = set_up_home(settings, account);
  set_up_sudo(settings, account);
  ensure_directory(runtime_dir(settings), 0755, root_ownership);
  if (settings.has(Service::jupyter) && !is_on_tmpfs(runtime_dir(settings))) {
    std::cerr << "launcher-init: warning: " << runtime_dir(settings).string()
              << " is not a tmpfs; Jupyter's runtime files stay in the container's writable layer\n";
  }

  std::vector<ServiceSpec> services;
  if (settings.has(Service::ssh)) services.push_back(prepare_sshd(settings, secrets, account, programs.sshd));
  // sshd records its sessions in utmp only when the file exists; `wall` finds their terminals there.
  if (settings.has(Service::ssh) && (settings.idle || settings.max_age)) {
    auto utmp = settings.under_root("/run/utmp");
    if (!fs::exists(utmp)) write_file_atomically(utmp, "", 0644, root_ownership);
  }
  if (settings.has(Service::jupyter)) {
    services.push_back(prepare_jupyter(settings, secrets, user, inherited, programs.jupyter));
  }
  auto environment = service_environment(inherited, user.account, {});
  if (settings.has(Service::shell)) {
    services.push_back({"shell", {account.shell, "-l"}, environment, user.run_as, user.working_directory, true});
  }
  if (settings.has(Service::command)) {
    services.push_back({"command", programs.command, environment, user.run_as, user.working_directory, true});
  }
  WatchPlaces places{jupyter_dir(settings) / "token", user.working_directory, {user.account.uid, user.account.gid}};
  return {services, places};
}

} // namespace launcher_init
