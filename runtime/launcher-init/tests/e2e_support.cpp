#include "e2e_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <libssh/libssh.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "settings.hpp"

namespace e2e {
namespace {

bool required_by_ci() {
  const char* value = std::getenv("LAUNCHER_E2E_REQUIRED");
  return value != nullptr && std::string(value) == "1";
}

std::string process_path() { return std::getenv("PATH") ? std::getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin"; }

std::optional<std::string> find_on_path(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) return program;
  std::stringstream directories(path);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    auto candidate = directory + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& text : strings)
    pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<std::string> entries(const Variables& variables) {
  std::vector<std::string> list;
  for (const auto& [name, value] : variables)
    list.push_back(name + "=" + value);
  return list;
}

[[noreturn]] void child_failed(const char* what) {
  std::string message = std::string("test child: ") + what + ": " + std::strerror(errno) + "\n";
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, message.data(), message.size());
  ::_exit(126);
}

void bind(const fs::path& source, const char* target) {
  if (::mount(source.c_str(), target, nullptr, MS_BIND | MS_REC, nullptr) != 0) child_failed(target);
}

} // namespace

bool prerequisites_met(const std::vector<std::string>& programs) {
  std::string missing;
  if (::geteuid() != 0) missing = "root";
  for (const auto& program : programs) {
    if (!find_on_path(program, process_path())) missing += (missing.empty() ? "" : ", ") + program;
  }
  if (missing.empty()) return true;
  if (required_by_ci()) {
    FAIL("LAUNCHER_E2E_REQUIRED=1 but this test needs: " << missing);
  } else {
    WARN("skipped: this test needs " << missing);
  }
  return false;
}

TemporaryDirectory::TemporaryDirectory() {
  std::string pattern = (fs::temp_directory_path() / "launcher-init-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  fs::permissions(path_, fs::perms(0755)); // the test user must reach what lies below
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

uid_t free_uid() {
  std::mt19937 random(std::random_device{}());
  while (true) {
    auto uid = static_cast<uid_t>(std::uniform_int_distribution<int>(20000, 59999)(random));
    if (::getpwuid(uid) == nullptr && ::getgrgid(uid) == nullptr) return uid;
  }
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  REQUIRE(::getrandom(raw.data(), raw.size(), 0) == static_cast<ssize_t>(raw.size()));
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : raw) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

void write_secret(const fs::path& path, const std::string& content, uid_t owner) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  REQUIRE(::chown(path.c_str(), owner, owner) == 0);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
}

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

ProcessResult run_program(const std::vector<std::string>& argv, const Variables& environment) {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  auto variables_map = environment.empty() ? Variables{{"PATH", process_path()}} : environment;
  // execvpe would search the caller's PATH, not the child's
  auto program = find_on_path(argv.front(), variables_map["PATH"]);
  REQUIRE(program);
  auto arguments = argv;
  arguments.front() = *program;
  auto variables = entries(variables_map);
  auto argument_pointers = c_strings(arguments);
  auto variable_pointers = c_strings(variables);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execve(argument_pointers[0], argument_pointers.data(), variable_pointers.data());
    child_failed(argument_pointers[0]);
  }
  ::close(pipe_fds[1]);
  ProcessResult result;
  char buffer[4096];
  ssize_t count;
  while ((count = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0)
    result.output.append(buffer, static_cast<std::size_t>(count));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Launcher::Launcher(const Variables& environment, const std::vector<std::string>& arguments, const fs::path& log_file,
                   std::optional<fs::path> sandbox_root)
    : log_file_(log_file) {
  std::vector<std::string> argv{LAUNCHER_INIT_PROGRAM};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  auto variables = entries(environment);
  auto argument_pointers = c_strings(argv);
  auto variable_pointers = c_strings(variables);
  int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(log_fd >= 0);
  const fs::path sandbox = sandbox_root.value_or(fs::path());
  // clone() with a null stack returns in the child like fork(); the child is PID 1 of a new PID namespace.
  unsigned long flags = SIGCHLD | (sandbox_root ? CLONE_NEWPID | CLONE_NEWNS : 0);
  pid_ = static_cast<pid_t>(::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr));
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    if (sandbox_root) {
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_failed("make mounts private");
      bind(sandbox / "etc", "/etc");
      bind(sandbox / "run", "/run");
      bind(sandbox / "home", "/home");
      if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) child_failed("mount /proc");
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argument_pointers[0], argument_pointers.data(), variable_pointers.data());
    child_failed(argument_pointers[0]);
  }
  ::close(log_fd);
}

Launcher::~Launcher() {
  if (exited_) return;
  ::kill(pid_, SIGKILL); // as PID 1 of its namespace, it takes every service with it
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

std::optional<int> Launcher::wait_for_exit(std::chrono::milliseconds bound) {
  int status = 0;
  exited_ = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, bound, 20ms);
  if (!exited_) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void prepare_sandbox(const fs::path& root) {
  auto copy = run_program({"cp", "-a", "/etc", (root / "etc").string()});
  REQUIRE(copy.exit_status == 0);
  for (const char* directory : {"run", "home"}) {
    fs::create_directory(root / directory);
    fs::permissions(root / directory, fs::perms(0755));
  }
}

Variables launcher_environment(const Variables& settings) {
  Variables environment{{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
  for (const auto& [name, value] : settings)
    environment[name] = value;
  return environment;
}

ProcessResult run_launcher(const Variables& settings, const std::vector<std::string>& arguments) {
  std::vector<std::string> argv{LAUNCHER_INIT_PROGRAM};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return run_program(argv, launcher_environment(settings));
}

bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return connected;
}

std::string proc_file(pid_t pid, const std::string& name) {
  return read_text(fs::path("/proc") / std::to_string(pid) / name);
}

std::vector<ProcessInfo> all_processes() {
  std::vector<ProcessInfo> processes;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = proc_file(std::stoi(name), "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue; // gone meanwhile
    ProcessInfo info;
    info.pid = std::stoi(name);
    info.name = stat.substr(stat.find('(') + 1, close - stat.find('(') - 1);
    std::istringstream rest(stat.substr(close + 2));
    rest >> info.state >> info.parent;
    processes.push_back(info);
  }
  return processes;
}

std::vector<ProcessInfo> children_of(pid_t parent) {
  std::vector<ProcessInfo> children;
  for (const auto& process : all_processes()) {
    if (process.parent == parent) children.push_back(process);
  }
  return children;
}

std::optional<pid_t> child_named(pid_t parent, const std::string& name) {
  for (const auto& child : children_of(parent)) {
    if (child.name == name && child.state != 'Z') return child.pid;
  }
  return std::nullopt;
}

uid_t process_uid(pid_t pid) {
  std::istringstream status(proc_file(pid, "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("Uid:")) return static_cast<uid_t>(std::stoul(line.substr(4)));
  }
  return static_cast<uid_t>(-1);
}

FileFacts file_facts(const fs::path& path) {
  struct stat status {};
  REQUIRE(::lstat(path.c_str(), &status) == 0);
  return {status.st_uid, status.st_gid, static_cast<unsigned>(status.st_mode & 07777)};
}

std::string generate_ed25519_key(const fs::path& path, uid_t owner) {
  ssh_key key = nullptr;
  REQUIRE(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK);
  std::unique_ptr<ssh_key_struct, decltype(&ssh_key_free)> owned(key, &ssh_key_free);
  fs::create_directories(path.parent_path());
  REQUIRE(ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str()) == SSH_OK);
  char* base64 = nullptr;
  REQUIRE(ssh_pki_export_pubkey_base64(key, &base64) == SSH_OK);
  std::string public_line = std::string("ssh-ed25519 ") + base64 + " launcher-e2e";
  ssh_string_free_char(base64);
  write_secret(path.string() + ".pub", public_line + "\n", owner);
  REQUIRE(::chown(path.c_str(), owner, owner) == 0);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  return public_line;
}

Sandbox::Sandbox(const std::string& services) : secrets_dir(outside(launcher_init::Settings{}.secrets_dir)) {
  prepare_sandbox(directory.path());
  auto uid = user.uid;
  if (services.find("ssh") != std::string::npos) {
    generate_ed25519_key(secrets_dir / "ssh_host_ed25519_key", uid);
    client_key = directory.path() / "client_key";
    write_secret(secrets_dir / "authorized_keys", generate_ed25519_key(client_key, 0) + "\n", uid);
  }
  if (services.find("jupyter") != std::string::npos) write_secret(secrets_dir / "jupyter_token", token, uid);
  settings = launcher_environment({{"LAUNCHER_SERVICE", services},
                                   {"LAUNCHER_UID", std::to_string(uid)},
                                   {"LAUNCHER_GID", std::to_string(uid)},
                                   {"LAUNCHER_USER", user.name},
                                   {"LAUNCHER_WORKDIR", "/home/" + user.name + "/work"},
                                   {"LAUNCHER_LISTEN_ADDRESS", "127.0.0.1"},
                                   {"LAUNCHER_SSH_PORT", std::to_string(ssh_port)},
                                   {"LAUNCHER_JUPYTER_PORT", std::to_string(jupyter_port)},
                                   {"LAUNCHER_STOP_TIMEOUT", "5"}});
}

std::unique_ptr<Launcher> Sandbox::start(const std::vector<std::string>& arguments) const {
  return std::make_unique<Launcher>(settings, arguments, log_file(), directory.path());
}

} // namespace e2e
