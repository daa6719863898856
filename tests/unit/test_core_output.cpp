// Issue 24, "every write is checked": standard output through FdOutputBuffer, the end-of-command
// check in cli::run, the atomic file writer's steps, and the messages of file-system failures.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "cli/app.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/fd_output.hpp"
#include "core/read_file.hpp"
#include "host/host_facts.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::require_error;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// `launcher ARGS` with standard output going to `out`.
std::pair<int, std::string> run_into(std::ostream& out, std::vector<std::string> args) {
  args.insert(args.begin(), "launcher");
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  std::ostringstream err;
  int code = cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, err.str()};
}

// A signal's disposition set for the test's length, restored after.
struct SignalIgnored {
  int signal;
  struct sigaction previous {};
  explicit SignalIgnored(int which) : signal(which) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(signal, &ignore, &previous);
  }
  ~SignalIgnored() { sigaction(signal, &previous, nullptr); }
};

// Files of this process may not grow past `bytes` while it lives: a write beyond is EFBIG.
struct FileSizeLimit {
  struct rlimit previous {};
  SignalIgnored no_signal{SIGXFSZ};
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &previous);
    struct rlimit limit = previous;
    limit.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &previous); }
};

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST_CASE("output to a full device keeps ENOSPC and refuses every later byte", "[core][output]") {
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(full >= 0);
  {
    FdOutputBuffer buffer(full);
    std::ostream out(&buffer);
    out << "{\"a\": 1}\n";
    CHECK(buffer.error() == 0); // still buffered
    out.flush();
    CHECK_FALSE(out.good());
    CHECK(buffer.error() == ENOSPC);
    CHECK(describe_output_failure("standard output", buffer.error()) ==
          "cannot write to standard output: No space left on device");
  }
  close(full);
}

TEST_CASE("output larger than the buffer is written whole, and close reports success", "[core][output]") {
  TempDir dir;
  int fd = open((dir.path / "out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::string big(100000, 'x');
  FdOutputBuffer buffer(fd);
  std::ostream out(&buffer);
  out << "head\n" << big << 'y' << "\n";
  CHECK(out.good());
  CHECK(buffer.close() == 0);
  CHECK(read_file(dir.path / "out") == "head\n" + big + "y\n");
}

TEST_CASE("output to a pipe nobody reads is EPIPE, not a death by SIGPIPE", "[core][output]") {
  SignalIgnored no_sigpipe(SIGPIPE);
  int ends[2];
  REQUIRE(pipe2(ends, O_CLOEXEC) == 0);
  close(ends[0]);
  {
    FdOutputBuffer buffer(ends[1]);
    std::ostream out(&buffer);
    out << "row\n" << std::flush;
    CHECK(buffer.error() == EPIPE);
    CHECK(describe_output_failure("standard output", buffer.error()) == "cannot write to standard output: Broken pipe");
  }
  close(ends[1]);
}

TEST_CASE("output to a descriptor closed at start fails with EBADF only once something is written", "[core][output]") {
  FdOutputBuffer quiet(-1);
  CHECK(quiet.close() == 0);
  FdOutputBuffer buffer(-1);
  std::ostream out(&buffer);
  out << "x" << std::flush;
  CHECK_FALSE(out.good());
  CHECK(buffer.error() == EBADF);
  CHECK(describe_output_failure("standard output", buffer.error()) ==
        "cannot write to standard output: it is closed (Bad file descriptor)");
  CHECK(describe_output_failure("standard output", 0) == "cannot write to standard output");
}

TEST_CASE("a command whose output is lost exits 1 with the reason, not 0", "[core][output][cli]") {
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(full >= 0);
  FdOutputBuffer buffer(full);
  std::ostream out(&buffer);
  auto [code, err] = run_into(out, {"--version"});
  CHECK(code == 1);
  CHECK(err == "launcher: error: cannot write to standard output: No space left on device\n");
  close(full);

  // Any stream that turned bad counts, its reason unknown.
  std::ostringstream bad;
  bad.setstate(std::ios::badbit);
  auto [bad_code, bad_err] = run_into(bad, {"--help"});
  CHECK(bad_code == 1);
  CHECK(bad_err == "launcher: error: cannot write to standard output\n");

  // A command that failed keeps its own status; its output was empty, so nothing more is said.
  std::ostringstream fine;
  auto [usage_code, usage_err] = run_into(fine, {"rendr"});
  CHECK(usage_code == 2);
  CHECK(usage_err.find("cannot write") == std::string::npos);
}

TEST_CASE("an atomic write that fails leaves the old file and no temporary file", "[core][output][atomic]") {
  TempDir dir;
  dir.write("compose.yaml", "old\n");
  {
    FileSizeLimit limit(1024);
    try {
      write_file_atomically(dir.path / "compose.yaml", std::string(4096, 'n'), 0644);
      FAIL("the write past the file size limit succeeded");
    } catch (const Error& error) {
      std::string message = error.what();
      CHECK(message.rfind("failed to write: " + (dir.path / ".compose.yaml.").string(), 0) == 0);
      CHECK(message.substr(message.size() - std::string(": File too large").size()) == ": File too large");
      CHECK(error.code() == ExitCode::failed);
    }
  }
  CHECK(read_file(dir.path / "compose.yaml") == "old\n");
  CHECK(names_in(dir.path) == std::vector<std::string>{"compose.yaml"});

  // A rename onto a directory fails after the data was written: the temporary file goes too.
  fs::create_directories(dir.path / "taken" / "inside");
  require_error([&] { write_file_atomically(dir.path / "taken", "new\n", 0644); }, ExitCode::failed,
                "failed to replace: " + (dir.path / "taken").string() + ": Is a directory");
  CHECK(names_in(dir.path) == std::vector<std::string>{"compose.yaml", "taken"});

  require_error([&] { write_file_atomically(dir.path / "missing" / "file", "new\n", 0644); }, ExitCode::failed,
                "failed to create a file in: " + (dir.path / "missing").string() + ": No such file or directory");
}

TEST_CASE("a file-system exception no check foresaw is one line: operation, path, reason", "[cli][output]") {
  std::ostringstream err;
  int code = cli::run_reporting_errors(
      []() -> int {
        throw fs::filesystem_error("cannot create directories", "/proc/x",
                                   std::make_error_code(std::errc::permission_denied));
      },
      err);
  CHECK(code == 1);
  CHECK(err.str() == "launcher: error: cannot create directories: /proc/x: Permission denied\n");
}

TEST_CASE("a working directory deleted under the launcher is named as such", "[host][output]") {
  fs::path previous = fs::current_path();
  {
    TempDir dir;
    fs::create_directories(dir.path / "gone");
    fs::current_path(dir.path / "gone");
    fs::remove(dir.path / "gone");
    require_error([] { host::working_directory(); }, ExitCode::failed,
                  "the working directory no longer exists (it was deleted or moved away since the shell entered "
                  "it); cd to an existing directory and run the command again");
    fs::current_path(previous);
  }
  CHECK(host::working_directory() == previous);
}

TEST_CASE("write_fully writes every byte through a pipe's short writes", "[core][output]") {
  int ends[2];
  REQUIRE(pipe(ends) == 0);
  std::string data(300 * 1024, 'x'); // more than a pipe holds: the writes come back short
  std::string received;
  std::thread reader([&] {
    char buffer[4096];
    for (ssize_t n; (n = read(ends[0], buffer, sizeof buffer)) > 0;)
      received.append(buffer, static_cast<std::size_t>(n));
  });
  int error = write_fully(ends[1], data);
  close(ends[1]);
  reader.join();
  close(ends[0]);
  CHECK(error == 0);
  CHECK(received == data);
}

TEST_CASE("write_fully returns the errno of the write that failed", "[core][output]") {
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(full >= 0);
  CHECK(write_fully(full, "checkpoint") == ENOSPC);
  close(full);
  int ends[2];
  REQUIRE(pipe(ends) == 0);
  close(ends[1]);
  CHECK(write_fully(ends[1], "checkpoint") == EBADF);
  CHECK(write_fully(ends[0], "") == 0); // nothing to write: no write at all
  close(ends[0]);
}
