#include "backup.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "backup_plan.hpp"
#include "error.hpp"
#include "file_hashing.hpp"
#include "files.hpp"

namespace launcher_init {

namespace contract = launcher::contract;
namespace fs = std::filesystem;

namespace {

using ObjectSet = std::set<std::string, std::less<>>;

// A file that keeps changing while it is hashed and uploaded is tried this often, then the version fails.
constexpr int attempts_per_file = 3;
// The first batch hashed before its upload starts; each later one is batch_growth times the one
// before (upload_batches): few rclone runs, while the next batch's hashing still ends before the
// upload beside it.
constexpr std::int64_t first_batch_bytes = 64 << 20;
constexpr std::int64_t batch_growth = 4;
// The names of the store's remote, configured only through RCLONE_CONFIG_STORE_* in rclone's environment.
constexpr std::string_view remote_name = "store";

Error bad_setting(std::string_view name, std::string_view reason) {
  return failure("read setting", name, reason, exit_bad_usage);
}

std::optional<std::string_view> lookup(const Environment& environment, std::string_view name) {
  auto found = environment.find(name);
  if (found == environment.end()) return std::nullopt;
  return found->second;
}

std::int64_t parse_whole_number(std::string_view name, std::string_view text, std::int64_t minimum,
                                std::int64_t maximum) {
  std::int64_t number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc{} || end != text.data() + text.size() || number < minimum || number > maximum) {
    throw bad_setting(name, "expected a whole number from " + std::to_string(minimum) + " to " +
                                std::to_string(maximum) + ", found '" + std::string(text) + "'");
  }
  return number;
}

// ---- Running programs -------------------------------------------------------------------------

// The children being waited for, so that SIGTERM (the env stopping, or `docker exec`'s caller giving
// up) ends them and the backup cleans up after them instead of leaving multipart uploads behind.
volatile sig_atomic_t interrupted = 0;
constexpr std::size_t max_running_children = 4;
volatile pid_t running_children[max_running_children] = {};

void on_stop_signal(int) {
  interrupted = 1;
  for (auto& child : running_children)
    if (child > 0) ::kill(child, SIGTERM);
}

void take_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
}

struct Outcome {
  int wait_status = 0;
  std::string output;
  std::string errors;

  bool succeeded() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
};

std::string read_back(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buffer[65536];
  while (auto count = std::fread(buffer, 1, sizeof buffer, file))
    text.append(buffer, count);
  std::fclose(file);
  return text;
}

// The non-empty lines of `text`.
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> found;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) found.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return found;
}

// A program started with exactly `environment`, stdin from /dev/null, its outputs into temporary
// files (rather than pipes: nothing to poll, nothing to deadlock).
struct Started {
  pid_t pid = 0;
  std::string name;
  std::FILE* output = nullptr;
  std::FILE* errors = nullptr;
};

Started start_program(const std::vector<std::string>& argv, const std::vector<std::string>& environment) {
  Started started{0, argv[0], std::tmpfile(), std::tmpfile()};
  if (started.output == nullptr || started.errors == nullptr)
    throw system_failure("create temporary file for", argv[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fileno(started.output), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fileno(started.errors), STDERR_FILENO);
  std::vector<char*> arguments;
  for (const auto& argument : argv)
    arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  std::vector<char*> variables;
  for (const auto& variable : environment)
    variables.push_back(const_cast<char*>(variable.c_str()));
  variables.push_back(nullptr);
  int error = ::posix_spawn(&started.pid, argv[0].c_str(), &actions, nullptr, arguments.data(), variables.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw system_failure("run", argv[0], error);
  return started;
}

Outcome finish_program(Started& started) {
  Outcome outcome;
  while (::waitpid(started.pid, &outcome.wait_status, 0) < 0) {
    if (errno != EINTR) throw system_failure("wait for", started.name);
  }
  outcome.output = read_back(started.output);
  outcome.errors = read_back(started.errors);
  return outcome;
}

// Runs each of `argvs` (at most max_running_children) side by side, each to its end; a stop signal
// meanwhile is passed on to them. Their outcomes in order.
std::vector<Outcome> run_programs(const std::vector<std::vector<std::string>>& argvs,
                                  const std::vector<std::string>& environment) {
  if (argvs.size() > max_running_children) throw failure("run", argvs.front()[0], "more programs at once than allowed");
  std::vector<Started> started;
  for (std::size_t i = 0; i < argvs.size(); ++i) {
    started.push_back(start_program(argvs[i], environment));
    running_children[i] = started.back().pid;
    if (interrupted) ::kill(started.back().pid, SIGTERM);
  }
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < started.size(); ++i) {
    outcomes.push_back(finish_program(started[i]));
    running_children[i] = 0;
  }
  return outcomes;
}

std::string program(const Settings& settings, std::string_view name) {
  auto found = find_program(name, settings.program_path);
  if (!found) throw failure("find", name, "not on " + settings.program_path);
  return *found;
}

// ---- The store, through rclone ----------------------------------------------------------------

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string region;
};

Credentials read_credentials(const Settings& settings) {
  auto path = settings.secrets_dir / contract::secret_file::backup_credentials;
  auto document = parse_json(*read_secret(path), path.string());
  Credentials credentials;
  credentials.access_key_id = json_string(document, "aws_access_key_id", path.string());
  credentials.secret_access_key = json_string(document, "aws_secret_access_key", path.string());
  if (document.contains("aws_session_token")) {
    credentials.session_token = json_string(document, "aws_session_token", path.string());
  }
  credentials.region = document.contains("region") ? json_string(document, "region", path.string()) : "us-east-1";
  return credentials;
}

// rclone's environment, built from nothing: the remote from RCLONE_CONFIG_STORE_* (never argv,
// where every user could read the keys in /proc), and no AWS_* variable of ours. Bookworm's rclone
// 1.60 fails every S3 call when AWS_CA_BUNDLE is set ("LoadCustomCABundleError").
std::vector<std::string> rclone_environment(const Settings& settings, const BackupSettings& backup,
                                            const Credentials& credentials) {
  std::string prefix = "RCLONE_CONFIG_STORE_";
  std::vector<std::string> environment = {
      "PATH=" + settings.program_path,
      "HOME=/nonexistent",
      prefix + "TYPE=s3",
      prefix + "PROVIDER=" + (backup.endpoint.empty() ? "AWS" : "Other"),
      prefix + "ENV_AUTH=false",
      prefix + "ACCESS_KEY_ID=" + credentials.access_key_id,
      prefix + "SECRET_ACCESS_KEY=" + credentials.secret_access_key,
      prefix + "REGION=" + credentials.region,
      // The bucket is the user's to create: rclone must not make one under a mistyped name.
      prefix + "NO_CHECK_BUCKET=true",
  };
  if (!credentials.session_token.empty()) environment.push_back(prefix + "SESSION_TOKEN=" + credentials.session_token);
  if (!backup.endpoint.empty()) environment.push_back(prefix + "ENDPOINT=" + backup.endpoint);
  return environment;
}

class Store {
public:
  Store(const Settings& settings, const BackupSettings& backup)
      : backup_(backup), rclone_(program(settings, "rclone")),
        environment_(rclone_environment(settings, backup, read_credentials(settings))) {}

  // The file names in REPO/`directory`; empty when it does not exist yet.
  std::vector<std::string> list(std::string_view directory) { return list_side_by_side({directory}, false).front(); }

  // The same for each of `directories`, listed side by side (a backup's set-up is round trips that
  // need not wait for each other). With `abort_pending`, the multipart uploads that a killed backup
  // left are aborted meanwhile: the listings do not show them, and nothing of ours is uploading yet.
  std::vector<std::vector<std::string>> list_side_by_side(const std::vector<std::string_view>& directories,
                                                          bool abort_pending) {
    std::vector<std::vector<std::string>> commands;
    if (abort_pending) commands.push_back(abort_pending_arguments());
    for (auto directory : directories)
      commands.push_back({"lsf", "--files-only", remote(directory)});
    auto outcomes = rclone_side_by_side(commands);
    if (abort_pending && !outcomes.front().succeeded()) fail(outcomes.front());
    std::vector<std::vector<std::string>> listings;
    for (auto outcome = outcomes.begin() + (abort_pending ? 1 : 0); outcome != outcomes.end(); ++outcome) {
      if (!outcome->succeeded() && outcome->errors.find("directory not found") == std::string::npos) fail(*outcome);
      listings.push_back(lines(outcome->output));
    }
    return listings;
  }

  std::string read(std::string_view key) {
    auto outcome = rclone({"cat", remote(key)});
    if (!outcome.succeeded()) fail(outcome);
    return outcome.output;
  }

  // Uploads the files `staging` links to (rclone follows the links) into REPO/`directory`, in
  // parallel, with rclone's retries and backoff (its pacer slows down on SlowDown and 503). The
  // staging holds only objects the store lacked, so the destination is not listed again for each
  // batch (--no-check-dest). A failure is returned, not thrown: a file changing under rclone fails
  // it ("source file is being updated", "corrupted on transfer"), and only the caller can tell.
  std::optional<Error> upload_links(const fs::path& staging, std::string_view directory) {
    auto outcome =
        rclone({"copy", "--copy-links", "--no-check-dest", "--transfers", "8", staging.string(), remote(directory)});
    if (outcome.succeeded()) return std::nullopt;
    return Error(describe_store_failure(outcome.errors, backup_.bucket, backup_.endpoint));
  }

  void upload_file(const fs::path& local, std::string_view key) {
    auto outcome = rclone({"copyto", local.string(), remote(key)});
    if (!outcome.succeeded()) fail(outcome);
  }

  void download(std::string_view directory, const fs::path& list_file, const fs::path& local) {
    auto outcome = rclone({"copy", "--files-from-raw", list_file.string(), "--transfers", "8", "--no-check-dest",
                           remote(directory), local.string()});
    if (!outcome.succeeded()) fail(outcome);
  }

  // Removing what is already gone succeeds.
  void remove(std::string_view key) {
    auto outcome = rclone({"deletefile", remote(key)});
    if (!outcome.succeeded() && outcome.errors.find("is a directory or doesn't exist") == std::string::npos) {
      fail(outcome);
    }
  }

  // Aborts the multipart uploads pending under REPO: those a killed or failed backup left.
  void abort_pending_uploads() {
    auto outcome = rclone(abort_pending_arguments());
    if (!outcome.succeeded()) fail(outcome);
  }

  void check_bucket() {
    auto outcome = rclone({"lsf", "--dirs-only", "--max-depth", "1", std::string(remote_name) + ":" + backup_.bucket});
    if (!outcome.succeeded()) {
      if (outcome.errors.find("directory not found") != std::string::npos) outcome.errors += "\nNoSuchBucket";
      fail(outcome);
    }
  }

  const std::string& location() const { return location_; }

private:
  std::string remote(std::string_view key) const {
    return std::string(remote_name) + ":" + backup_.bucket + "/" + backup_.repository + "/" + std::string(key);
  }

  std::vector<std::string> abort_pending_arguments() const {
    return {"backend", "cleanup", remote(""), "-o", "max-age=0s"};
  }

  Outcome rclone(const std::vector<std::string>& arguments) { return rclone_side_by_side({arguments}).front(); }

  std::vector<Outcome> rclone_side_by_side(const std::vector<std::vector<std::string>>& commands) {
    std::vector<std::vector<std::string>> argvs;
    for (const auto& arguments : commands) {
      argvs.push_back(rclone_options());
      argvs.back().insert(argvs.back().end(), arguments.begin(), arguments.end());
    }
    auto outcomes = run_programs(argvs, environment_);
    if (interrupted) throw failure("back up", location_, "stopped by a signal");
    return outcomes;
  }

  std::vector<std::string> rclone_options() const {
    return {rclone_,
            "--config",
            "/dev/null",
            "--retries",
            std::to_string(backup_.retries),
            "--retries-sleep",
            "1s",
            "--low-level-retries",
            "5",
            "--contimeout",
            "10s",
            "--stats",
            "0"};
  }

  [[noreturn]] void fail(const Outcome& outcome) const {
    throw Error(describe_store_failure(outcome.errors, backup_.bucket, backup_.endpoint));
  }

  const BackupSettings& backup_;
  std::string rclone_;
  std::vector<std::string> environment_;
  std::string location_ = "s3://" + backup_.bucket + "/" + backup_.repository;
};

// ---- The files ---------------------------------------------------------------------------------

std::string object_key(std::string_view sha256) { return "objects/" + std::string(sha256); }
std::string manifest_key(std::string_view version) { return "versions/" + std::string(version) + ".json"; }

std::int64_t mtime_ns(const struct stat& status) {
  return static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1000000000 + status.st_mtim.tv_nsec;
}

// The regular files under the backed-up paths (symlinks are not followed), with size and mtime.
std::vector<BackupFile> current_files(const Settings& settings, const BackupSettings& backup) {
  std::vector<BackupFile> files;
  auto add = [&](const fs::path& on_disk, const fs::path& inside) {
    struct stat status {};
    if (::lstat(on_disk.c_str(), &status) != 0 || !S_ISREG(status.st_mode)) return;
    files.push_back({inside.string(), status.st_size, mtime_ns(status), {}});
  };
  for (const auto& path : backup.paths) {
    auto on_disk = settings.under_root(path);
    std::error_code error;
    if (!fs::is_directory(fs::symlink_status(on_disk, error))) {
      add(on_disk, path);
      continue;
    }
    for (fs::recursive_directory_iterator walk(on_disk, error), end; !error && walk != end; walk.increment(error)) {
      add(walk->path(), path / walk->path().lexically_relative(on_disk));
    }
    if (error) throw failure("list", on_disk.string(), error.message());
  }
  std::ranges::sort(files, {}, &BackupFile::path);
  files.erase(std::unique(files.begin(), files.end(),
                          [](const BackupFile& a, const BackupFile& b) { return a.path == b.path; }),
              files.end());
  return files;
}

// Hashes on one thread per CPU: the upload beside it is mostly the store's and rclone's work.
unsigned hashing_threads() { return std::clamp(std::thread::hardware_concurrency(), 1u, 16u); }

// What a file that went while it was hashed (gone, or replaced by a symlink) means to the caller.
enum class GoneFile { left_out, an_error };

// The hashes of a finished hashing, in the order of its paths; "" for a file that went meanwhile
// when the caller leaves such files out. Any other failure names the file and its cause.
std::vector<std::string> finished_hashes(BackgroundHashing& hashing, GoneFile gone) {
  auto results = hashing.results();
  if (interrupted) throw failure("hash", "files", "stopped by a signal");
  std::vector<std::string> hashes;
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto error = results[i].error;
    bool went = error == ENOENT || error == ELOOP;
    if (error != 0 && (!went || gone == GoneFile::an_error))
      throw system_failure("hash", hashing.paths()[i].string(), error);
    hashes.push_back(std::move(results[i].sha256));
  }
  return hashes;
}

// Every file's hash; one that cannot be read is an error naming it.
std::vector<std::string> hash_files(const std::vector<fs::path>& paths) {
  BackgroundHashing hashing(paths, hashing_threads());
  return finished_hashes(hashing, GoneFile::an_error);
}

bool unchanged_since(const fs::path& on_disk, const BackupFile& file) {
  struct stat status {};
  return ::lstat(on_disk.c_str(), &status) == 0 && status.st_size == file.size && mtime_ns(status) == file.mtime_ns;
}

// A directory of root's, emptied, for staging links and rclone's file lists.
fs::path fresh_work_directory(const Settings& settings, std::string_view name) {
  auto directory = settings.under_root(contract::mount::runtime_dir) / name;
  std::error_code ignored;
  fs::remove_all(directory, ignored);
  ensure_directory(directory, 0700, Ownership{::getuid(), ::getgid()});
  return directory;
}

// ---- Versions ---------------------------------------------------------------------------------

struct Repository {
  ObjectSet objects;
  std::vector<std::string> versions; // oldest first
};

// With `abort_pending`, the multipart uploads a killed backup left are aborted meanwhile.
Repository read_repository(Store& store, bool abort_pending = false) {
  auto listings = store.list_side_by_side({"objects", "versions"}, abort_pending);
  Repository repository;
  for (auto& name : listings[0])
    if (is_sha256(name)) repository.objects.insert(std::move(name));
  repository.versions = versions_in_listing(listings[1]);
  return repository;
}

std::optional<Manifest> read_manifest(Store& store, const std::string& version) {
  try {
    return parse_manifest(store.read(manifest_key(version)), manifest_key(version));
  } catch (const Error&) {
    return std::nullopt;
  }
}

struct BackupResult {
  std::string version;
  std::size_t files = 0;
  std::int64_t bytes = 0;
  std::int64_t uploaded_bytes = 0;
  double seconds = 0;
};

// The files to hash and upload, in consecutive batches that start at first_batch_bytes and grow:
// the first upload starts soon, and each batch is hashed while the one before it uploads.
std::vector<std::vector<std::size_t>> upload_batches(const std::vector<BackupFile>& files,
                                                     const std::vector<std::size_t>& pending) {
  std::vector<std::vector<std::size_t>> batches;
  std::int64_t budget = first_batch_bytes;
  std::int64_t bytes = 0;
  for (auto i : pending) {
    if (batches.empty() || bytes >= budget) {
      if (!batches.empty()) budget *= batch_growth;
      batches.emplace_back();
      bytes = 0;
    }
    batches.back().push_back(i);
    bytes += files[i].size;
  }
  return batches;
}

// Uploads one hashed batch and returns the files in it to try again, those that changed from
// before their hash to after the upload first; objects gets the hashes stored. When rclone failed
// and a file changed, the whole batch is tried again: which of its uploads ended is unknown.
std::vector<std::size_t> upload_batch(const Settings& settings, Store& store, std::vector<BackupFile>& files,
                                      const std::vector<std::size_t>& batch, const std::vector<std::string>& hashes,
                                      ObjectSet& objects, std::set<std::size_t>& gone, BackupResult& result) {
  auto staging = fresh_work_directory(settings, "backup-staging");
  std::map<std::string, std::size_t> uploads; // hash -> a file with it
  for (std::size_t k = 0; k < batch.size(); ++k) {
    if (hashes[k].empty()) {
      gone.insert(batch[k]); // went before it was read: not in this version
      continue;
    }
    files[batch[k]].sha256 = hashes[k];
    if (!objects.contains(hashes[k]) && uploads.emplace(hashes[k], batch[k]).second) {
      fs::create_symlink(settings.under_root(files[batch[k]].path), staging / hashes[k]);
    }
  }
  auto upload_failure = uploads.empty() ? std::nullopt : store.upload_links(staging, "objects");
  std::vector<std::size_t> again;
  for (auto i : batch) {
    const auto& file = files[i];
    if (gone.contains(i)) continue;
    if (!unchanged_since(settings.under_root(file.path), file)) {
      again.push_back(i);
      // What was uploaded under this hash may be newer content (or nothing): never keep it.
      if (uploads.erase(file.sha256) > 0) store.remove(object_key(file.sha256));
    }
  }
  if (upload_failure) {
    if (again.empty()) throw *upload_failure;
    for (auto i : batch)
      if (!gone.contains(i) && std::ranges::find(again, i) == again.end()) again.push_back(i);
    return again;
  }
  for (const auto& [hash, file_index] : uploads) {
    objects.insert(hash);
    result.uploaded_bytes += files[file_index].size;
  }
  return again;
}

// Whether the file at `path` is (still) a regular file; its size and mtime into `file` when it is.
bool still_there(const fs::path& path, BackupFile& file) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode)) return false;
  file.size = status.st_size;
  file.mtime_ns = mtime_ns(status);
  return true;
}

// Hashes and uploads what is new, retrying the files that changed meanwhile: an object is stored
// under a hash only when its file did not change from before the hash to after the upload. A file
// that disappears meanwhile (the temporary file of a write-then-rename), unreadable when hashed or
// missing after its upload, is left out of the version, as if the listing had come after it went.
void store_contents(const Settings& settings, Store& store, std::vector<BackupFile>& files, ObjectSet& objects,
                    const std::map<std::string, BackupFile>& previous, BackupResult& result) {
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (auto hash = unchanged_hash(files[i], previous, objects)) {
      files[i].sha256 = *hash;
    } else {
      pending.push_back(i);
    }
  }
  auto paths_of = [&](const std::vector<std::size_t>& batch) {
    std::vector<fs::path> on_disk;
    for (auto i : batch)
      on_disk.push_back(settings.under_root(files[i].path));
    return on_disk;
  };
  std::set<std::size_t> gone;
  // The files to try again that are still there, their sizes and mtimes looked at again.
  auto drop_gone = [&](std::vector<std::size_t>& indices) {
    std::erase_if(indices, [&](std::size_t i) {
      if (still_there(settings.under_root(files[i].path), files[i])) return false;
      gone.insert(i);
      return true;
    });
  };
  for (int attempt = 1; !pending.empty(); ++attempt) {
    if (attempt > attempts_per_file) {
      throw failure("back up", files[pending.front()].path, "the file kept changing while it was uploaded");
    }
    auto batches = upload_batches(files, pending);
    std::vector<std::size_t> to_retry;
    // A failed upload ends the next batch's hashing as it unwinds (~BackgroundHashing).
    auto hashing = std::make_unique<BackgroundHashing>(paths_of(batches.front()), hashing_threads());
    for (std::size_t b = 0; b < batches.size(); ++b) {
      auto hashes = finished_hashes(*hashing, GoneFile::left_out);
      if (b + 1 < batches.size()) {
        hashing = std::make_unique<BackgroundHashing>(paths_of(batches[b + 1]), hashing_threads());
      }
      auto again = upload_batch(settings, store, files, batches[b], hashes, objects, gone, result);
      to_retry.insert(to_retry.end(), again.begin(), again.end());
    }
    drop_gone(to_retry);
    pending = std::move(to_retry);
  }
  std::size_t index = 0;
  std::erase_if(files, [&](const BackupFile&) { return gone.contains(index++); });
}

// Deletes the manifests beyond the newest `keep` complete ones, then the objects no remaining
// manifest names. Runs only after the new manifest exists.
void prune(Store& store, const BackupSettings& backup, const Repository& repository) {
  if (static_cast<int>(repository.versions.size()) <= backup.keep) return;
  std::vector<Manifest> manifests;
  for (const auto& version : repository.versions) {
    // An unreadable manifest counts as a version without files: it is pruned like an incomplete one.
    manifests.push_back(read_manifest(store, version).value_or(Manifest{version, {}}));
  }
  auto pruning = plan_pruning(manifests, repository.objects, backup.keep);
  for (const auto& version : pruning.versions)
    store.remove(manifest_key(version));
  for (const auto& object : pruning.objects)
    store.remove(object_key(object));
}

std::string utc_time(std::chrono::system_clock::time_point time) {
  auto seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// "20261207T012233.123456Z" -> "2026-12-07T01:22:33Z"
std::string created_time(std::string_view version) {
  return std::string(version.substr(0, 4)) + "-" + std::string(version.substr(4, 2)) + "-" +
         std::string(version.substr(6, 2)) + "T" + std::string(version.substr(9, 2)) + ":" +
         std::string(version.substr(11, 2)) + ":" + std::string(version.substr(13, 2)) + "Z";
}

std::string decimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

// Held while a backup runs: a second `backup run`, and the periodic one, wait for it.
class BackupLock {
public:
  explicit BackupLock(const Settings& settings) {
    auto directory = settings.under_root(contract::mount::runtime_dir);
    create_directory_if_missing(directory, 0755, root_ownership);
    auto path = directory / "backup.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw system_failure("open", path.string());
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR || interrupted) throw system_failure("lock", path.string());
    }
  }
  ~BackupLock() { ::close(fd_); }
  BackupLock(const BackupLock&) = delete;
  BackupLock& operator=(const BackupLock&) = delete;

private:
  int fd_ = -1;
};

// A report as one line of JSON; a message naming a file whose name is not UTF-8 gets U+FFFD there.
std::string json_line(const nlohmann::ordered_json& report) {
  return report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Seconds and MB/s to the millisecond, as the text output has them.
double to_thousandths(double value) { return std::round(value * 1000) / 1000; }

void write_status(const Settings& settings, const BackupResult& result, std::string_view outcome,
                  std::string_view message) {
  nlohmann::ordered_json status = {{"version", result.version},
                                   {"finished_at", utc_time(std::chrono::system_clock::now())},
                                   {"result", outcome},
                                   {"message", message},
                                   {"files", result.files},
                                   {"bytes", result.bytes},
                                   {"seconds", to_thousandths(result.seconds)}};
  write_file_atomically(settings.under_root(contract::mount::backup_status), json_line(status), 0644, root_ownership);
}

BackupResult back_up(const Settings& settings, const BackupSettings& backup) {
  BackupLock lock(settings);
  auto started = std::chrono::steady_clock::now();
  BackupResult result;
  result.version = version_id(std::chrono::system_clock::now());
  try {
    Store store(settings, backup);
    auto repository = read_repository(store, true);
    std::map<std::string, BackupFile> previous;
    if (!repository.versions.empty()) {
      if (auto manifest = read_manifest(store, repository.versions.back())) {
        for (auto& file : manifest->files)
          previous.emplace(file.path, std::move(file));
      }
    }
    Manifest manifest{result.version, current_files(settings, backup)};
    store_contents(settings, store, manifest.files, repository.objects, previous, result);
    auto work = fresh_work_directory(settings, "backup-manifest");
    write_file_atomically(work / "manifest.json", manifest_json(manifest), 0600, Ownership{::getuid(), ::getgid()});
    store.upload_file(work / "manifest.json", manifest_key(manifest.version));
    repository.versions.push_back(manifest.version);
    prune(store, backup, repository);
    result.files = manifest.files.size();
    result.bytes = manifest.bytes();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    write_status(settings, result, "ok", "");
    return result;
  } catch (const Error& error) {
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (interrupted) {
      // rclone leaves its multipart uploads when it is killed; abort them now, not at the next backup.
      interrupted = 0;
      try {
        Store(settings, backup).abort_pending_uploads();
      } catch (const Error&) {
        // The next backup aborts them first thing.
      }
      interrupted = 1;
    }
    write_status(settings, result, "failed", error.what());
    throw;
  }
}

// ---- Restore ----------------------------------------------------------------------------------

struct RestoreOptions {
  std::optional<std::string> version;
  std::optional<fs::path> to;
  bool force = false;
};

fs::path restore_target(const Settings& settings, const RestoreOptions& options, const std::string& path) {
  if (options.to) return *options.to / fs::path(path).relative_path();
  return settings.under_root(path);
}

// Manifests hold no owners: a restored file gets the owner and mode of the file it replaces, or
// else its directory's owner and 0644, so that the env's user owns their checkpoints again.
void take_over_ownership(const fs::path& temporary, const fs::path& target, const fs::path& directory) {
  struct stat status {};
  mode_t mode = 0644;
  if (::lstat(target.c_str(), &status) == 0 && S_ISREG(status.st_mode)) {
    mode = status.st_mode & 07777;
  } else if (::stat(directory.c_str(), &status) != 0) {
    throw system_failure("restore into", directory.string());
  }
  if (::chown(temporary.c_str(), status.st_uid, status.st_gid) != 0 || ::chmod(temporary.c_str(), mode) != 0) {
    throw system_failure("set the owner of", temporary.string());
  }
}

bool lies_within(const fs::path& path, const fs::path& directory) {
  auto relative = path.lexically_relative(directory);
  return !relative.empty() && *relative.begin() != "..";
}

// A manifest comes from the store, which anyone with the bucket's keys can write, and restore runs
// as root: a file is restored only into the backed-up paths (or under --to), and no symlink in
// the env may lead its directory elsewhere.
void check_containment(const Settings& settings, const BackupSettings& backup, const RestoreOptions& options,
                       const std::string& path) {
  std::vector<fs::path> allowed;
  if (options.to) {
    allowed.push_back(fs::weakly_canonical(*options.to));
  } else {
    for (const auto& backed_up : backup.paths)
      allowed.push_back(fs::weakly_canonical(settings.under_root(backed_up)));
  }
  auto target = fs::weakly_canonical(restore_target(settings, options, path).parent_path()) / fs::path(path).filename();
  if (std::ranges::none_of(allowed, [&](const fs::path& directory) { return lies_within(target, directory); })) {
    throw failure("restore", path,
                  options.to
                      ? "it would land outside " + options.to->string()
                      : std::string("it lies outside the backed-up paths (") + contract::env::backup_paths + ")");
  }
}

// Every file of the version is downloaded next to its target and verified before the first one is
// renamed into place, so a tampered object leaves every target as it was.
void restore(const Settings& settings, const BackupSettings& backup, const RestoreOptions& options, bool json) {
  Store store(settings, backup);
  auto repository = read_repository(store);
  std::optional<Manifest> chosen;
  if (options.version) {
    if (!std::ranges::binary_search(repository.versions, *options.version)) {
      throw failure("restore", *options.version, "no such version in " + store.location());
    }
    chosen = parse_manifest(store.read(manifest_key(*options.version)), manifest_key(*options.version));
    if (!is_complete(*chosen, repository.objects)) {
      throw failure("restore", *options.version, "the version is incomplete: objects are missing");
    }
  } else {
    for (auto version = repository.versions.rbegin(); version != repository.versions.rend() && !chosen; ++version) {
      auto manifest = read_manifest(store, *version);
      if (manifest && is_complete(*manifest, repository.objects)) chosen = std::move(manifest);
    }
    if (!chosen) throw failure("restore", store.location(), "no complete version");
  }
  const auto& manifest = *chosen;
  for (const auto& file : manifest.files)
    check_containment(settings, backup, options, file.path);
  for (const auto& file : manifest.files) {
    struct stat status {};
    auto target = restore_target(settings, options, file.path);
    if (!options.force && ::lstat(target.c_str(), &status) == 0 && mtime_ns(status) > file.mtime_ns) {
      throw failure("restore", file.path,
                    "the file is newer than version " + manifest.version + " (--force overwrites it)");
    }
  }
  // One staging directory per target directory: the renames stay on one file system.
  std::map<fs::path, std::vector<const BackupFile*>> by_directory;
  for (const auto& file : manifest.files) {
    by_directory[restore_target(settings, options, file.path).parent_path()].push_back(&file);
  }
  auto staging_name = ".launcher-restore-" + manifest.version;
  std::vector<fs::path> stagings;
  auto clean_up = [&] {
    std::error_code ignored;
    for (const auto& staging : stagings)
      fs::remove_all(staging, ignored);
  };
  try {
    for (const auto& [directory, files] : by_directory) {
      fs::create_directories(directory);
      auto staging = directory / staging_name;
      std::error_code ignored;
      fs::remove_all(staging, ignored);
      fs::create_directory(staging);
      stagings.push_back(staging);
      std::string names;
      for (const auto* file : files)
        names += file->sha256 + "\n";
      write_file_atomically(staging / "objects.list", names, 0600, Ownership{::getuid(), ::getgid()});
      store.download("objects", staging / "objects.list", staging);
      std::vector<fs::path> downloaded;
      for (const auto* file : files)
        downloaded.push_back(staging / file->sha256);
      auto hashes = hash_files(downloaded);
      for (std::size_t i = 0; i < files.size(); ++i) {
        if (hashes[i] != files[i]->sha256) {
          throw failure("restore", files[i]->path,
                        "its object " + files[i]->sha256 + " does not match its sha256 (damaged or tampered with)");
        }
      }
    }
    for (const auto& [directory, files] : by_directory) {
      auto staging = directory / staging_name;
      for (const auto* file : files) {
        auto object = staging / file->sha256;
        auto temporary = staging / (fs::path(file->path).filename().string() + ".restoring");
        fs::copy_file(object, temporary, fs::copy_options::overwrite_existing);
        struct timespec times[2] = {{0, UTIME_OMIT}, {file->mtime_ns / 1000000000, file->mtime_ns % 1000000000}};
        if (::utimensat(AT_FDCWD, temporary.c_str(), times, 0) != 0) {
          throw system_failure("set the time of", temporary.string());
        }
        auto target = directory / fs::path(file->path).filename();
        take_over_ownership(temporary, target, directory);
        if (::rename(temporary.c_str(), target.c_str()) != 0) throw system_failure("restore", target.string());
      }
    }
  } catch (...) {
    clean_up();
    throw;
  }
  clean_up();
  if (json) {
    std::cout << json_line(
        {{"version", manifest.version}, {"files", manifest.files.size()}, {"bytes", manifest.bytes()}});
  } else {
    std::cout << "restored version " << manifest.version << ": " << manifest.files.size() << " files, "
              << manifest.bytes() << " bytes\n";
  }
}

// ---- Commands ---------------------------------------------------------------------------------

Error usage(std::string_view reason) { return failure("parse arguments", "backup", reason, exit_bad_usage); }

BackupSettings required_backup_settings(const Environment& environment) {
  auto backup = parse_backup_settings(environment);
  if (!backup) throw failure("back up", "this env", std::string(contract::env::backup_to) + " is not set");
  return *backup;
}

int run_once(const Settings& settings, const BackupSettings& backup, bool json) {
  take_stop_signals();
  auto result = back_up(settings, backup);
  double throughput = result.seconds > 0 ? static_cast<double>(result.bytes) / 1e6 / result.seconds : 0;
  if (json) {
    std::cout << json_line({{"version", result.version},
                            {"files", result.files},
                            {"bytes", result.bytes},
                            {"uploaded_bytes", result.uploaded_bytes},
                            {"seconds", to_thousandths(result.seconds)},
                            {"throughput_mb_s", to_thousandths(throughput)}});
  } else {
    std::cout << "backed up version " << result.version << ": " << result.files << " files, " << result.bytes
              << " bytes (" << result.uploaded_bytes << " uploaded) in " << decimal(result.seconds) << " s, "
              << decimal(throughput) << " MB/s\n";
  }
  return 0;
}

// The periodic backups: one every `every`, a failure logged (and in the status file) and tried
// again next time, never ending the env's services. SIGTERM ends the backup running (its multipart
// uploads aborted) and the loop.
int loop(const Settings& settings, const BackupSettings& backup) {
  take_stop_signals();
  while (!interrupted) {
    auto next = std::chrono::steady_clock::now() + backup.every;
    while (!interrupted && std::chrono::steady_clock::now() < next) {
      auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(next - std::chrono::steady_clock::now());
      struct timespec pause {
        static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)
      };
      ::nanosleep(&pause, nullptr); // a signal cuts it short
    }
    if (interrupted) break;
    try {
      auto result = back_up(settings, backup);
      std::cout << "backed up version " << result.version << ": " << result.files << " files, " << result.bytes
                << " bytes (" << result.uploaded_bytes << " uploaded) in " << decimal(result.seconds) << " s"
                << std::endl;
    } catch (const Error& error) {
      std::cout << "backup failed: " << error.what() << std::endl;
    }
  }
  return 0;
}

int list(const Settings& settings, const BackupSettings& backup, bool json) {
  Store store(settings, backup);
  auto repository = read_repository(store);
  auto rows = nlohmann::ordered_json::array();
  for (auto version = repository.versions.rbegin(); version != repository.versions.rend(); ++version) {
    auto manifest = read_manifest(store, *version);
    bool complete = manifest && is_complete(*manifest, repository.objects);
    auto files = manifest ? manifest->files.size() : 0;
    auto bytes = manifest ? manifest->bytes() : 0;
    const char* state = complete ? "complete" : "incomplete";
    if (json) {
      rows.push_back({{"version", *version},
                      {"state", state},
                      {"files", files},
                      {"bytes", bytes},
                      {"created", created_time(*version)}});
    } else {
      std::cout << *version << "  " << state << "  " << files << " files  " << bytes << " bytes\n";
    }
  }
  if (json) std::cout << json_line({{"versions", rows}});
  return 0;
}

int check(const Settings& settings, const BackupSettings& backup, bool json) {
  Store store(settings, backup);
  store.check_bucket();
  auto versions = versions_in_listing(store.list("versions"));
  if (json) {
    std::cout << json_line({{"store", store.location()}, {"ok", true}, {"versions", versions.size()}});
  } else {
    std::cout << store.location() << ": the store answers and the credentials work (" << versions.size()
              << " versions)\n";
  }
  return 0;
}

int status(const Settings& settings) {
  auto text = read_file_if_exists(settings.under_root(contract::mount::backup_status));
  std::cout << (text ? *text : "{}\n");
  return 0;
}

} // namespace

std::optional<ServiceSpec> backup_service(const Environment& environment) {
  if (!parse_backup_settings(environment)) return std::nullopt;
  char self[PATH_MAX];
  auto length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length < 0) throw system_failure("find", "/proc/self/exe");
  ServiceSpec spec;
  spec.name = "backup";
  spec.argv = {std::string(self, static_cast<std::size_t>(length)), "backup", "loop"};
  // launcher-init's own environment: the loop reads the same LAUNCHER_* settings. rclone gets an
  // environment built from nothing (rclone_environment).
  for (const auto& [name, value] : environment)
    spec.environment.push_back(name + "=" + value);
  return spec; // as root: the credentials are root-only
}

std::optional<BackupSettings> parse_backup_settings(const Environment& environment) {
  auto to = lookup(environment, contract::env::backup_to);
  if (!to) return std::nullopt;
  BackupSettings backup;
  std::string_view location = *to;
  if (!location.starts_with("s3://")) throw bad_setting(contract::env::backup_to, "expected s3://BUCKET/PREFIX");
  location.remove_prefix(5);
  while (location.ends_with('/'))
    location.remove_suffix(1);
  auto slash = location.find('/');
  backup.bucket = std::string(location.substr(0, slash));
  backup.repository = slash == std::string_view::npos ? "" : std::string(location.substr(slash + 1));
  if (backup.bucket.empty() || backup.repository.empty() || backup.repository.find("//") != std::string::npos) {
    throw bad_setting(contract::env::backup_to, "expected s3://BUCKET/PREFIX, found '" + std::string(*to) + "'");
  }
  auto paths = lookup(environment, contract::env::backup_paths).value_or("[]");
  for (const auto& path : json_strings(parse_json(paths, contract::env::backup_paths), contract::env::backup_paths)) {
    fs::path absolute(path);
    if (!absolute.is_absolute()) {
      throw bad_setting(contract::env::backup_paths, "expected absolute paths, found '" + path + "'");
    }
    backup.paths.push_back(absolute.lexically_normal());
  }
  if (auto every = lookup(environment, contract::env::backup_every)) {
    backup.every = std::chrono::seconds(parse_whole_number(contract::env::backup_every, *every, 1, 366 * 86400));
  }
  if (auto keep = lookup(environment, contract::env::backup_keep)) {
    backup.keep = static_cast<int>(parse_whole_number(contract::env::backup_keep, *keep, 1, 100000));
  }
  backup.endpoint = std::string(lookup(environment, contract::env::backup_endpoint).value_or(""));
  if (auto retries = lookup(environment, contract::env::backup_retries)) {
    backup.retries = static_cast<int>(parse_whole_number(contract::env::backup_retries, *retries, 1, 100));
  }
  return backup;
}

int run_backup_command(const Settings& settings, const Environment& environment,
                       std::span<const std::string_view> arguments) {
  if (arguments.empty()) throw usage("expected run, list, restore, status or check");
  auto command = arguments.front();
  bool json = false;
  RestoreOptions restore_options;
  for (std::size_t i = 1; i < arguments.size(); ++i) {
    auto argument = arguments[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= arguments.size()) throw usage(std::string(argument) + " needs a value");
      return std::string(arguments[++i]);
    };
    if (argument == "--json") {
      json = true;
    } else if (command == "restore" && argument == "--version") {
      restore_options.version = value();
    } else if (command == "restore" && argument == "--to") {
      fs::path to(value());
      if (!to.is_absolute()) throw usage("--to expects an absolute path");
      restore_options.to = to.lexically_normal();
    } else if (command == "restore" && argument == "--force") {
      restore_options.force = true;
    } else {
      throw usage("unknown argument '" + std::string(argument) + "' for " + std::string(command));
    }
  }
  if (command == "status") return status(settings);
  auto backup = required_backup_settings(environment);
  if (command == "run") return run_once(settings, backup, json);
  if (command == "list") return list(settings, backup, json);
  if (command == "restore") {
    restore(settings, backup, restore_options, json);
    return 0;
  }
  if (command == "check") return check(settings, backup, json);
  if (command == "loop") return loop(settings, backup);
  throw usage("unknown command '" + std::string(command) + "': expected run, list, restore, status or check");
}

} // namespace launcher_init
