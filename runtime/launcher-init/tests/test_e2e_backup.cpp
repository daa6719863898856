#include <catch2/catch.hpp>

#include <algorithm>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "e2e_support.hpp"
#include "launcher_contract/contract.hpp"

// `launcher-init backup` on the host, as root, against a real S3 protocol server (moto_server on
// loopback, tests/support/moto-server.sh) with Debian's rclone; every path it touches lies in a
// temporary directory (LAUNCHER_ROOT, LAUNCHER_SECRETS_DIR).
using namespace e2e;

namespace {

const std::string moto_script = std::string(LAUNCHER_SOURCE_DIR) + "/tests/support/moto-server.sh";
const std::string& secret_key() {
  static const std::string key = "backup-secret-" + random_hex(8);
  return key;
}

// What moto-server.sh needs of the caller's environment: its venv lives in the user's cache.
Variables script_environment() {
  Variables variables{{"PATH", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"}};
  for (const char* name : {"HOME", "XDG_CACHE_HOME"})
    if (const char* value = getenv(name)) variables[name] = value;
  return variables;
}

class MotoServer {
public:
  explicit MotoServer(const std::vector<std::string>& server_settings = {})
      : address_("127.0.0.1:" + std::to_string(free_port())) {
    std::vector<std::string> argv = {"env"};
    argv.insert(argv.end(), server_settings.begin(), server_settings.end());
    argv.insert(argv.end(), {moto_script, "start", address_});
    auto started = run_program(argv, script_environment());
    REQUIRE(started.exit_status == 0);
  }
  ~MotoServer() { stop(); }
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  void stop() { run_program({moto_script, "stop", address_}, script_environment()); }
  std::string endpoint() const { return "http://" + address_; }
  // moto without its auth check takes unsigned requests, as curl sends them.
  ProcessResult request(const std::string& method, const std::string& path) const {
    return run_program({"curl", "--silent", "--show-error", "--fail", "-X", method, endpoint() + path});
  }
  // Signed, through rclone: moto answers an unsigned PUT of a key like a sha256 with 403.
  ProcessResult put(const fs::path& file, const std::string& key) const {
    return run_program({"rclone", "--config", "/dev/null", "copyto", file.string(), "moto:" + key},
                       {{"PATH", getenv("PATH")},
                        {"RCLONE_CONFIG_MOTO_TYPE", "s3"},
                        {"RCLONE_CONFIG_MOTO_PROVIDER", "Other"},
                        {"RCLONE_CONFIG_MOTO_ACCESS_KEY_ID", "AKIAE2ETEST"},
                        {"RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY", "test"},
                        {"RCLONE_CONFIG_MOTO_ENDPOINT", endpoint()}});
  }

private:
  std::string address_;
};

// An env's tree with its secrets and LAUNCHER_BACKUP_* pointing at `server`'s bucket.
struct BackupEnv {
  BackupEnv(const MotoServer& server, const std::string& bucket = "backups") {
    fs::create_directories(secrets);
    write_secret(secrets / launcher::contract::secret_file::backup_credentials,
                 R"({"aws_access_key_id":"AKIAE2ETEST","aws_secret_access_key":")" + secret_key() + "\"}", 0);
    settings = {{"LAUNCHER_SERVICE", "shell"},
                {"LAUNCHER_USER", "root"},
                {"LAUNCHER_UID", "0"},
                {"LAUNCHER_GID", "0"},
                {"LAUNCHER_ROOT", root.string()},
                {"LAUNCHER_SECRETS_DIR", secrets.string()},
                {"LAUNCHER_BACKUP_TO", "s3://" + bucket + "/team/env1"},
                {"LAUNCHER_BACKUP_PATHS", R"(["/workspace/checkpoints"])"},
                {"LAUNCHER_BACKUP_KEEP", "5"},
                {"LAUNCHER_BACKUP_ENDPOINT", server.endpoint()},
                // This machine exports it, and bookworm's rclone fails every call when it sees it.
                {"AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"}};
  }

  void write(const std::string& name, const std::string& content) const {
    fs::create_directories(checkpoints());
    std::ofstream(checkpoints() / name, std::ios::binary | std::ios::trunc) << content;
  }
  fs::path checkpoints() const { return root / "workspace/checkpoints"; }
  ProcessResult backup(const std::vector<std::string>& arguments) const {
    std::vector<std::string> all = {"backup"};
    all.insert(all.end(), arguments.begin(), arguments.end());
    return run_launcher(settings, all);
  }

  TemporaryDirectory directory;
  fs::path root = directory.path() / "root";
  fs::path secrets = directory.path() / "secrets";
  Variables settings;
};

std::string big_content(std::size_t bytes, char seed) {
  std::string content(bytes, '\0');
  std::uint32_t state = static_cast<unsigned char>(seed) + 1;
  for (auto& c : content) {
    state = state * 1664525 + 1013904223;
    c = static_cast<char>(state >> 24);
  }
  return content;
}

bool one_line(const std::string& output) { return !output.empty() && output.find('\n') == output.size() - 1; }

} // namespace

TEST_CASE("backup: versions, an unchanged second one uploads nothing, restore is byte-identical, tampering refused") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  env.write("model.pt", big_content(3'000'000, 'a'));
  env.write("notes.txt", "step 100\n");

  auto first = env.backup({"run", "--json"});
  INFO(first.output);
  REQUIRE(first.exit_status == 0);
  CHECK(first.output.find("\"files\":2,\"bytes\":3000009,\"uploaded_bytes\":3000009") != std::string::npos);
  auto second = env.backup({"run", "--json"});
  INFO(second.output);
  REQUIRE(second.exit_status == 0);
  CHECK(second.output.find("\"uploaded_bytes\":0,") != std::string::npos);

  auto list = env.backup({"list", "--json"});
  INFO(list.output);
  REQUIRE(list.exit_status == 0);
  CHECK(list.output.find("\"state\":\"complete\",\"files\":2,\"bytes\":3000009") != std::string::npos);
  auto status = env.backup({"status", "--json"});
  CHECK(status.output.find("\"result\":\"ok\"") != std::string::npos);
  CHECK(env.backup({"check"}).exit_status == 0);

  // Restored over damaged files: byte-identical, with the version's mtime.
  env.write("model.pt", "damaged");
  fs::last_write_time(env.checkpoints() / "model.pt", fs::file_time_type::clock::now() - std::chrono::hours(1));
  // The user's file stays the user's: owner and mode of the file replaced.
  REQUIRE(::chown((env.checkpoints() / "model.pt").c_str(), 4242, 4243) == 0);
  REQUIRE(::chmod((env.checkpoints() / "model.pt").c_str(), 0640) == 0);
  auto restored = env.backup({"restore"});
  INFO(restored.output);
  REQUIRE(restored.exit_status == 0);
  CHECK(read_text(env.checkpoints() / "model.pt") == big_content(3'000'000, 'a'));
  auto facts = file_facts(env.checkpoints() / "model.pt");
  CHECK(facts.uid == 4242);
  CHECK(facts.gid == 4243);
  CHECK((facts.mode & 07777) == 0640);

  // A file newer than the version is kept unless --force, and named.
  env.write("notes.txt", "step 200\n");
  auto refused = env.backup({"restore"});
  CHECK(refused.exit_status == 1);
  CHECK(refused.output == "launcher-init: failed to restore: /workspace/checkpoints/notes.txt: the file is newer "
                          "than version " +
                              refused.output.substr(refused.output.find("version ") + 8, 23) +
                              " (--force overwrites it)\n");
  CHECK(read_text(env.checkpoints() / "notes.txt") == "step 200\n");

  // An object changed in the store: restore fails naming the file and writes nothing.
  auto hash = run_program({"sha256sum", (env.checkpoints() / "model.pt").string()}).output.substr(0, 64);
  auto tampered = env.directory.path() / "tampered";
  std::ofstream(tampered) << "not the model";
  auto replaced = server.put(tampered, "backups/team/env1/objects/" + hash);
  INFO(replaced.output);
  REQUIRE(replaced.exit_status == 0);
  auto to = env.directory.path() / "elsewhere";
  auto refused_tampered = env.backup({"restore", "--to", to.string()});
  CHECK(refused_tampered.exit_status == 1);
  CHECK(refused_tampered.output == "launcher-init: failed to restore: /workspace/checkpoints/model.pt: its object " +
                                       hash + " does not match its sha256 (damaged or tampered with)\n");
  CHECK_FALSE(fs::exists(to / "workspace/checkpoints/model.pt"));
  CHECK(fs::is_empty(to / "workspace/checkpoints"));

  // A manifest naming a file outside the backed-up paths, or a symlink leading out of them, is refused.
  // The object of "step 100\n", which the store holds.
  auto notes_hash = run_program({"sh", "-c", "echo 'step 100' | sha256sum"}).output.substr(0, 64);
  auto forged = env.directory.path() / "forged.json";
  std::ofstream(forged) << R"({"version":"20300101T000000.000000Z","files":[{"path":"/etc/forged","size":9,)"
                        << R"("mtime_ns":1,"sha256":")" << notes_hash << R"("}]})";
  REQUIRE(server.put(forged, "backups/team/env1/versions/20300101T000000.000000Z.json").exit_status == 0);
  auto outside = env.backup({"restore", "--version", "20300101T000000.000000Z"});
  CHECK(outside.output == "launcher-init: failed to restore: /etc/forged: it lies outside the backed-up paths "
                          "(LAUNCHER_BACKUP_PATHS)\n");
  CHECK_FALSE(fs::exists(env.root / "etc/forged"));
  fs::create_directories(env.root / "etc");
  fs::create_symlink(env.root / "etc", env.checkpoints() / "link");
  std::ofstream(forged) << R"({"version":"20300101T000000.000000Z","files":[{"path":"/workspace/checkpoints/link/x",)"
                        << R"("size":9,"mtime_ns":1,"sha256":")" << notes_hash << "\"}]}";
  REQUIRE(server.put(forged, "backups/team/env1/versions/20300101T000000.000000Z.json").exit_status == 0);
  auto through_link = env.backup({"restore", "--version", "20300101T000000.000000Z"});
  CHECK(through_link.output == "launcher-init: failed to restore: /workspace/checkpoints/link/x: it lies outside "
                               "the backed-up paths (LAUNCHER_BACKUP_PATHS)\n");
  CHECK_FALSE(fs::exists(env.root / "etc/x"));
}

TEST_CASE("backup: keep deletes the oldest versions and the objects only they named, after the new manifest") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  env.settings["LAUNCHER_BACKUP_KEEP"] = "2";
  for (auto step : {"1", "2", "3"}) {
    env.write("step.txt", std::string("step ") + step);
    REQUIRE(env.backup({"run"}).exit_status == 0);
  }
  auto list = env.backup({"list"});
  INFO(list.output);
  CHECK(std::count(list.output.begin(), list.output.end(), '\n') == 2);
  auto objects = server.request("GET", "/backups?prefix=team/env1/objects/").output;
  INFO(objects);
  auto first_hash = run_program({"sh", "-c", "printf 'step 1' | sha256sum"}).output.substr(0, 64);
  auto last_hash = run_program({"sh", "-c", "printf 'step 3' | sha256sum"}).output.substr(0, 64);
  CHECK(objects.find(first_hash) == std::string::npos);
  CHECK(objects.find(last_hash) != std::string::npos);
}

TEST_CASE("backup: wrong credentials, a missing bucket and an unreachable store fail in one line without the secret") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  BackupEnv env(server, "no-such-bucket");
  env.write("a", "a");
  auto missing = env.backup({"run"});
  CHECK(missing.exit_status == 1);
  CHECK(missing.output == "launcher-init: bucket no-such-bucket does not exist at " + server.endpoint() + "\n");
  auto status = env.backup({"status"});
  CHECK(status.output.find("\"result\":\"failed\",\"message\":\"bucket no-such-bucket does not exist") !=
        std::string::npos);
  auto check = env.backup({"check"});
  CHECK(check.output == "launcher-init: bucket no-such-bucket does not exist at " + server.endpoint() + "\n");

  MotoServer checking_keys({"INITIAL_NO_AUTH_ACTION_COUNT=0"});
  env.settings["LAUNCHER_BACKUP_ENDPOINT"] = checking_keys.endpoint();
  auto refused = env.backup({"run"});
  CHECK(refused.exit_status == 1);
  CHECK(refused.output ==
        "launcher-init: " + checking_keys.endpoint() + " refused the backup credentials (InvalidAccessKeyId)\n");

  auto closed = "http://127.0.0.1:" + std::to_string(free_port());
  env.settings["LAUNCHER_BACKUP_ENDPOINT"] = closed;
  auto unreachable = env.backup({"run"});
  CHECK(unreachable.exit_status == 1);
  CHECK(unreachable.output == "launcher-init: cannot reach " + closed + ": connection refused\n");
  for (const auto* output : {&missing.output, &refused.output, &unreachable.output}) {
    CHECK(one_line(*output));
    CHECK(output->find(secret_key()) == std::string::npos);
  }
}

TEST_CASE("backup: a backup stopped mid-multipart leaves the previous version restorable and no upload pending") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  env.write("model.pt", "version one");
  REQUIRE(env.backup({"run"}).exit_status == 0);

  // Above rclone's 200 MiB cutoff: uploaded in 5 MiB parts.
  env.write("model.pt", big_content(210 * 1024 * 1024, 'b'));
  auto log = env.directory.path() / "backup.log";
  Launcher backup(launcher_environment(env.settings), {"backup", "run"}, log);
  auto uploads_started = [&] {
    return server.request("GET", "/backups?uploads").output.find("<UploadId>") != std::string::npos;
  };
  REQUIRE(wait_until(uploads_started, 60s));
  // The keys reach rclone by environment (readable by root only), never by argv, which anyone can read.
  for (const auto& process : all_processes())
    CHECK(proc_file(process.pid, "cmdline").find(secret_key()) == std::string::npos);
  ::kill(backup.pid(), SIGTERM);
  auto exit_status = backup.wait_for_exit(30s);
  REQUIRE(exit_status);
  CHECK(*exit_status == 1);
  INFO(backup.output());
  CHECK(backup.output() == "launcher-init: failed to back up: s3://backups/team/env1: stopped by a signal\n");
  CHECK_FALSE(uploads_started());

  auto to = env.directory.path() / "restored";
  auto restored = env.backup({"restore", "--to", to.string()});
  INFO(restored.output);
  REQUIRE(restored.exit_status == 0);
  CHECK(read_text(to / "workspace/checkpoints/model.pt") == "version one");
}

TEST_CASE("backup: the multipart uploads of a SIGKILLed backup are aborted by the next backup") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  env.write("model.pt", big_content(210 * 1024 * 1024, 'k'));
  Launcher backup(launcher_environment(env.settings), {"backup", "run"}, env.directory.path() / "backup.log");
  auto uploads_pending = [&] {
    return server.request("GET", "/backups?uploads").output.find("<UploadId>") != std::string::npos;
  };
  REQUIRE(wait_until(uploads_pending, 60s));
  // As an env's container killed outright: launcher-init gets no chance to abort, nor does rclone.
  auto rclone = child_named(backup.pid(), "rclone");
  REQUIRE(rclone);
  ::kill(backup.pid(), SIGKILL);
  ::kill(*rclone, SIGKILL);
  REQUIRE(backup.wait_for_exit(10s));
  REQUIRE(uploads_pending());

  env.write("model.pt", "version two");
  auto next = env.backup({"run"});
  INFO(next.output);
  REQUIRE(next.exit_status == 0);
  CHECK_FALSE(uploads_pending());
}

TEST_CASE("backup: the server stopping mid-backup is retried, then one clear line") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  // One try (and rclone's low-level retries within it) says what three would, in a third of the time.
  env.settings["LAUNCHER_BACKUP_RETRIES"] = "1";
  env.write("model.pt", big_content(210 * 1024 * 1024, 'c'));
  auto log = env.directory.path() / "backup.log";
  Launcher backup(launcher_environment(env.settings), {"backup", "run"}, log);
  REQUIRE(wait_until(
      [&] { return server.request("GET", "/backups?uploads").output.find("<UploadId>") != std::string::npos; }, 60s));
  server.stop();
  auto exit_status = backup.wait_for_exit(60s);
  REQUIRE(exit_status);
  CHECK(*exit_status == 1);
  INFO(backup.output());
  CHECK(backup.output() == "launcher-init: cannot reach " + server.endpoint() + ": connection refused\n");
}

TEST_CASE("backup: the supervised loop backs up beside the services, a failure stops none, SIGTERM ends it") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3", "sleep", "cp"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  Sandbox sandbox("command");
  write_secret(sandbox.secrets_dir / launcher::contract::secret_file::backup_credentials,
               R"({"aws_access_key_id":"AKIAE2ETEST","aws_secret_access_key":")" + secret_key() + "\"}",
               sandbox.user.uid);
  auto work = "/home/" + sandbox.user.name + "/work";
  fs::create_directories(sandbox.outside(work));
  std::ofstream(sandbox.outside(work + "/step.txt")) << "step 1";
  sandbox.settings["LAUNCHER_BACKUP_TO"] = "s3://backups/team/env1";
  sandbox.settings["LAUNCHER_BACKUP_PATHS"] = "[\"" + work + "\"]";
  sandbox.settings["LAUNCHER_BACKUP_EVERY"] = "1";
  sandbox.settings["LAUNCHER_BACKUP_ENDPOINT"] = server.endpoint();
  sandbox.settings["LAUNCHER_BACKUP_RETRIES"] = "1";
  auto launcher = sandbox.start({"sleep", "120"});
  auto status_file = sandbox.outside(launcher::contract::mount::backup_status);
  auto status_says = [&](const std::string& part) {
    return fs::exists(status_file) && read_text(status_file).find(part) != std::string::npos;
  };
  REQUIRE(wait_until([&] { return status_says("\"result\":\"ok\""); }, 60s));
  // The log line follows the status file.
  CHECK(wait_until([&] { return launcher->output().find("[backup] backed up version ") != std::string::npos; }, 10s));

  server.stop();
  REQUIRE(wait_until([&] { return status_says("\"result\":\"failed\""); }, 60s));
  INFO(launcher->output());
  CHECK(wait_until(
      [&] {
        return launcher->output().find("[backup] backup failed: cannot reach " + server.endpoint()) !=
               std::string::npos;
      },
      10s));
  CHECK(child_named(launcher->pid(), "sleep"));

  ::kill(launcher->pid(), SIGTERM);
  CHECK(launcher->wait_for_exit(15s));
  CHECK(children_of(launcher->pid()).empty());
}

TEST_CASE("backup: a file rewritten in place during every try fails the version, which is never recorded") {
  if (!prerequisites_met({"rclone", "curl", "sha256sum", "python3"})) return;
  MotoServer server;
  REQUIRE(server.request("PUT", "/backups").exit_status == 0);
  BackupEnv env(server);
  // rclone's own retries of the file it sees change only add time: launcher-init's tries are tested.
  env.settings["LAUNCHER_BACKUP_RETRIES"] = "1";
  env.write("model.pt", big_content(1'000'000, 'd'));
  std::atomic<bool> writing = true;
  std::thread writer([&] {
    for (int step = 0; writing; ++step) {
      std::ofstream(env.checkpoints() / "model.pt", std::ios::binary | std::ios::in | std::ios::out) << step;
      std::this_thread::sleep_for(20ms);
    }
  });
  auto backup = env.backup({"run"});
  writing = false;
  writer.join();
  CHECK(backup.exit_status == 1);
  CHECK(backup.output == "launcher-init: failed to back up: /workspace/checkpoints/model.pt: the file kept changing "
                         "while it was uploaded\n");
  auto list = env.backup({"list"});
  CHECK(list.exit_status == 0);
  CHECK(list.output.empty());
}
