// Backups to S3 (profile key "backup"): the host side. The keys travel from the host's AWS
// credentials file to a root-only secret file and nowhere else; every env resolves
// host.docker.internal to the host, where the store listens. The tests marked "[engine]" drive
// launcher-init's backup engine against a real moto_server (tests/support/moto-server.sh) and
// need an image whose launcher-init has it. Needs the CPU image (`make image`).
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "support.hpp"

using namespace launcher::e2e;
using launcher::process::run_process;
using nlohmann::json;

namespace {

// Unique per run: a match anywhere means the key leaked.
std::string secret_key() { return "e2e-secret-" + std::to_string(getpid()) + "-Zq7Jx"; }
std::string key_id() { return "AKIAE2E" + std::to_string(getpid()); }

// An AWS credentials file with profile [e2e] in `dir`, and the variables that point the launcher at it.
std::vector<std::string> write_credentials(const TempDir& dir) {
  dir.write("aws/credentials",
            "[e2e]\naws_access_key_id = " + key_id() + "\naws_secret_access_key = " + secret_key() + "\n");
  dir.write("aws/config", "[profile e2e]\nregion = us-east-1\n");
  return {"AWS_SHARED_CREDENTIALS_FILE=" + (dir.path / "aws/credentials").string(),
          "AWS_CONFIG_FILE=" + (dir.path / "aws/config").string()};
}

// A team file whose profile "bk" is a shell env (uid 4242) with the project's work/ mounted at
// /workspace and backups of /workspace/ckpt to `endpoint`. work/ is open to that user; the rest of
// the temp tree (the credentials file, the state directory) stays the test's own.
void write_backup_profile(const TempDir& dir, const std::string& endpoint, const std::string& bucket = "e2e-bucket") {
  json bk{{"extends", "shell"},
          {"gpus", "none"},
          {"user", {{"uid", 4242}, {"gid", 4242}, {"name", "e2e"}}},
          {"volumes", {{{"host", "work"}, {"container", "/workspace"}}}},
          {"backup",
           {{"to", "s3://" + bucket + "/runs"},
            {"paths", {"/workspace/ckpt"}},
            {"every", "1h"},
            {"keep", 2},
            {"endpoint", endpoint},
            {"credentials", "e2e"}}}};
  fs::create_directories(dir.path / "work");
  fs::permissions(dir.path / "work", fs::perms::all);
  dir.write("launcher.json", json{{"version", 1}, {"profiles", {{"bk", bk}}}}.dump());
  // A team file's backup sends files away with the user's keys: approved first.
  auto trusted = run_launcher(dir, {"trust", "launcher.json"});
  INFO(trusted.err);
  REQUIRE(trusted.exit_code == 0);
}

json inspect(const std::string& name) {
  auto result = run_process({docker(), "container", "inspect", name});
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out)[0];
}

launcher::process::ProcessResult docker_exec(const std::string& name, const std::string& user,
                                             const std::string& script) {
  return run_process({docker(), "exec", "-u", user, name, "sh", "-c", script});
}

// A port nothing listens on now: bound, read, closed.
int free_port() {
  int socket_fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  socklen_t length = sizeof address;
  REQUIRE(bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(socket_fd);
  return ntohs(address.sin_port);
}

// A moto_server on every address of the host (envs reach it through host.docker.internal),
// started and stopped by tests/support/moto-server.sh.
struct MotoServer {
  int port = 0;
  std::string address;
  MotoServer() {
    port = free_port();
    address = "0.0.0.0:" + std::to_string(port);
    std::string script = source_dir() + "/tests/support/moto-server.sh";
    if (!fs::exists(script))
      skip_or_fail("tests/support/moto-server.sh is missing (it comes with launcher-init's engine)");
    auto started = run_process({script, "start", address});
    if (started.exit_code != 0) skip_or_fail("moto_server did not start: " + started.err);
  }
  ~MotoServer() { run_process({source_dir() + "/tests/support/moto-server.sh", "stop", address}); }
  httplib::Client client() const { return httplib::Client("127.0.0.1", port); }
  std::string endpoint() const { return "http://host.docker.internal:" + std::to_string(port); }
};

// Skips (or fails in CI) when the image's launcher-init has no backup engine yet.
void require_backup_engine(const std::string& env) {
  if (run_process({docker(), "exec", "-u", "0", env, "launcher-init", "backup", "status", "--json"}).exit_code != 0)
    skip_or_fail("the image's launcher-init has no `backup` (launcher-init's backup engine)");
}

} // namespace

TEST_CASE("backup: the keys reach the env as a root-only file only: no inspect, log, argv, export or snapshot has "
          "them, and the env reaches the host as host.docker.internal",
          "[e2e][backup]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  auto variables = write_credentials(dir);
  // A store stand-in on every address of the host: what a MinIO, Ceph or moto must listen on.
  httplib::Server store;
  store.Get("/",
            [](const httplib::Request&, httplib::Response& response) { response.set_content("store", "text/plain"); });
  int port = store.bind_to_any_port("0.0.0.0");
  std::thread serving([&] { store.listen_after_bind(); });
  struct StopServer {
    httplib::Server& server;
    std::thread& thread;
    ~StopServer() { server.stop(), thread.join(); }
  } stop_server{store, serving};
  write_backup_profile(dir, "http://host.docker.internal:" + std::to_string(port));
  UpEnvironment env{dir, unique_name("backup-keys")};
  std::vector<std::string> args{"up", "--profile", "bk", "--name", env.name, "--image", lifecycle_image()};
  auto started = run_launcher(dir, args, variables);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);

  json container = inspect(env.name);
  const auto& settings = container["Config"]["Env"];
  CHECK(std::find(settings.begin(), settings.end(), "LAUNCHER_BACKUP_TO=s3://e2e-bucket/runs/" + env.name) !=
        settings.end());
  CHECK(std::find(settings.begin(), settings.end(), "LAUNCHER_BACKUP_KEEP=2") != settings.end());
  CHECK(container["Config"]["Labels"]["io.launcher.backup"] == "s3://e2e-bucket/runs/" + env.name);
  CHECK(container["HostConfig"]["ExtraHosts"] == json{"host.docker.internal:host-gateway"});
  // From inside, the env's user reaches the store on the host.
  auto reached = run_process({docker(), "exec", "-u", "4242", env.name, "bash", "-c",
                              "exec 3<>/dev/tcp/host.docker.internal/" + std::to_string(port) +
                                  " && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"});
  INFO(reached.err);
  CHECK(reached.out.find("store") != std::string::npos);

  // The file launcher-init reads: 0600 on the host, root's alone inside.
  fs::path stored = dir.path / ".state/launcher/envs" / env.name / "secrets/backup_credentials";
  struct stat file {};
  REQUIRE(stat(stored.c_str(), &file) == 0);
  CHECK((file.st_mode & 0777) == 0600);
  CHECK(json::parse(std::ifstream(stored))["aws_secret_access_key"] == secret_key());
  auto as_root = docker_exec(env.name, "0", "cat /run/launcher/root-only/secrets/backup_credentials");
  INFO(as_root.err);
  CHECK(as_root.out.find(secret_key()) != std::string::npos);
  auto as_user = docker_exec(env.name, "4242", "cat /run/launcher/root-only/secrets/backup_credentials");
  CHECK(as_user.exit_code != 0);

  // Nowhere else: argv of every process, inspect, logs, launcher's own output, export, a snapshot.
  for (const auto& line : all_command_lines())
    CHECK(line.find(secret_key()) == std::string::npos);
  CHECK(run_process({docker(), "container", "inspect", env.name}).out.find(secret_key()) == std::string::npos);
  auto logs = run_process({docker(), "logs", env.name});
  CHECK((logs.out + logs.err).find(secret_key()) == std::string::npos);
  CHECK((started.out + started.err).find(secret_key()) == std::string::npos);
  auto exported =
      run_launcher(dir, {"export", "--profile", "bk", "--name", env.name, "--format", "compose"}, variables);
  INFO(exported.err);
  CHECK(exported.exit_code == 0);
  CHECK(exported.out.find(secret_key()) == std::string::npos);
  CHECK(exported.out.find(key_id()) == std::string::npos);
  CHECK(exported.out.find("host.docker.internal:host-gateway") != std::string::npos);
  auto snapshot = run_launcher(dir, {"snapshot", env.name, "--json"});
  INFO(snapshot.err);
  REQUIRE(snapshot.exit_code == 0);
  std::string tag = json::parse(snapshot.out)["tag"];
  auto history = run_process({docker(), "history", "--no-trunc", tag});
  auto config = run_process({docker(), "image", "inspect", tag});
  CHECK((history.out + config.out).find(secret_key()) == std::string::npos);
  CHECK(run_process({docker(), "image", "rm", tag}).exit_code == 0);

  // An env without a backup: the backup commands say so in one line.
  auto none = run_launcher(dir, {"backups", "e2e-no-such-env"});
  CHECK(none.exit_code == 1);
  CHECK(none.err == "launcher: error: no environment \"e2e-no-such-env\" (`launcher ps` lists them)\n");
}

TEST_CASE("backup: up refuses a profile whose keys are missing, in one line naming the file and the profile",
          "[e2e][backup]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  write_backup_profile(dir, "http://host.docker.internal:9");
  std::string name = unique_name("backup-nokeys");
  ContainerGuard guard{name};
  std::vector<std::string> args{"up", "--profile", "bk", "--name", name, "--image", lifecycle_image()};
  auto missing = run_launcher(dir, args, {"AWS_SHARED_CREDENTIALS_FILE=" + (dir.path / "none").string()});
  CHECK(missing.exit_code == 2);
  CHECK(without_warnings(missing.err) == "launcher: error: " + (dir.path / "none").string() +
                                             " does not exist: the backup's keys go there as profile [e2e] "
                                             "(aws_access_key_id, aws_secret_access_key), or "
                                             "AWS_SHARED_CREDENTIALS_FILE names another file\n");
  dir.write("aws/credentials", "[other]\naws_access_key_id = x\naws_secret_access_key = y\n");
  auto no_profile = run_launcher(dir, args, {"AWS_SHARED_CREDENTIALS_FILE=" + (dir.path / "aws/credentials").string()});
  CHECK(no_profile.exit_code == 2);
  CHECK(without_warnings(no_profile.err).find(" has no profile [e2e] for the backup's keys") != std::string::npos);
  CHECK(run_process({docker(), "container", "inspect", name}).exit_code != 0); // nothing was made
}

TEST_CASE("backup: against moto_server, a backup during writes, its faults in one line each, a restore that "
          "verifies, and down's final backup",
          "[e2e][backup][engine]") {
  require_engine();
  require_lifecycle_image();
  MotoServer moto;
  TempDir dir;
  auto variables = write_credentials(dir);
  REQUIRE(moto.client().Put("/e2e-bucket", "", "text/plain"));
  write_backup_profile(dir, moto.endpoint());
  UpEnvironment env{dir, unique_name("backup-moto")};
  auto started =
      run_launcher(dir, {"up", "--profile", "bk", "--name", env.name, "--image", lifecycle_image()}, variables);
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  require_backup_engine(env.name);

  // Two writers while the backup runs: one replaces its checkpoint (write, then rename), one
  // rewrites its file in place.
  fs::create_directories(dir.path / "work/ckpt");
  fs::permissions(dir.path / "work/ckpt", fs::perms::all);
  dir.write("work/ckpt/steady.bin", std::string(3 << 20, 's'));
  REQUIRE(run_process({docker(), "exec", "-d", "-u", "0", env.name, "sh", "-c",
                       "cd /workspace/ckpt || exit 1; "
                       "(i=0; while [ $i -lt 100 ]; do head -c 1048576 /dev/urandom > .model.tmp && "
                       "mv .model.tmp model.pt; i=$((i+1)); done) & "
                       "(i=0; while [ $i -lt 100 ]; do head -c 1048576 /dev/urandom > inplace.bin; i=$((i+1)); done) & "
                       "wait; touch /tmp/writers-done"})
              .exit_code == 0);
  auto during = run_launcher(dir, {"backup", env.name, "--json"});
  INFO(during.err);
  CHECK(during.exit_code == 0);
  // Then a quiet one: it holds exactly what the directory holds.
  CHECK(wait_until([&] { return docker_exec(env.name, "0", "test -e /tmp/writers-done").exit_code == 0; },
                   std::chrono::seconds(60), std::chrono::milliseconds(500)));
  auto quiet = run_launcher(dir, {"backup", env.name, "--json"});
  INFO(quiet.err);
  REQUIRE(quiet.exit_code == 0);
  json version = json::parse(quiet.out);
  CHECK(version["files"] == 3);

  auto listed = run_launcher(dir, {"backups", env.name, "--json"});
  REQUIRE(listed.exit_code == 0);
  CHECK(json::parse(listed.out)["versions"].size() >= 1);

  // A restore to a new host directory holds the same bytes.
  auto restored = run_launcher(dir, {"restore", env.name, "--to", (dir.path / "restored").string()});
  INFO(restored.err);
  CHECK(restored.exit_code == 0);
  CHECK(fs::file_size(dir.path / "restored/workspace/ckpt/steady.bin") == (3u << 20));
  auto refused_overwrite = run_launcher(dir, {"restore", env.name, "--to", (dir.path / "restored").string()});
  CHECK(refused_overwrite.exit_code == 1);

  // ps shows the last backup's age and result.
  json ps = json::parse(run_launcher(dir, {"ps", "--json"}).out);
  for (const auto& entry : ps)
    if (entry["env"] == env.name) CHECK(entry["backup"]["summary"].get<std::string>().find("ok") != std::string::npos);

  // Every object of the env's versions (not the manifests), tampered: the restore refuses. Written
  // signed, through rclone: moto answers an unsigned PUT of a key like a sha256 with 403.
  auto objects = moto.client().Get("/e2e-bucket?list-type=2&prefix=runs/" + env.name + "/objects/");
  REQUIRE(objects);
  std::size_t tampered = 0;
  for (std::size_t at = objects->body.find("<Key>"); at != std::string::npos;
       at = objects->body.find("<Key>", at + 1)) {
    std::string key = objects->body.substr(at + 5, objects->body.find("</Key>", at) - at - 5);
    auto original = moto.client().Get("/e2e-bucket/" + key);
    REQUIRE(original);
    std::string changed = original->body;
    if (!changed.empty()) changed[0] = static_cast<char>(changed[0] ^ 1);
    dir.write("tampered-object", changed);
    launcher::process::ProcessOptions signed_put;
    signed_put.extra_env = {"RCLONE_CONFIG_MOTO_TYPE=s3", "RCLONE_CONFIG_MOTO_PROVIDER=Other",
                            "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID=AKIATAMPER",
                            "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY=tamper",
                            "RCLONE_CONFIG_MOTO_ENDPOINT=http://127.0.0.1:" + std::to_string(moto.port)};
    auto put = run_process({"env", "-u", "AWS_CA_BUNDLE", "rclone", "--config", "/dev/null", "copyto",
                            (dir.path / "tampered-object").string(), "moto:e2e-bucket/" + key},
                           signed_put);
    INFO(put.err);
    REQUIRE(put.exit_code == 0);
    ++tampered;
  }
  CHECK(tampered > 0);
  auto refused = run_launcher(dir, {"restore", env.name, "--to", (dir.path / "tampered").string()});
  CHECK(refused.exit_code == 1);
  CHECK(!fs::exists(dir.path / "tampered"));
  CHECK(refused.err.find(secret_key()) == std::string::npos);

  // A missing bucket and an unreachable store: one line each, exit 1, no key in it.
  write_backup_profile(dir, moto.endpoint(), "e2e-no-bucket");
  auto recreated = run_launcher(
      dir, {"up", "--profile", "bk", "--name", env.name, "--image", lifecycle_image(), "--recreate"}, variables);
  INFO(recreated.err);
  REQUIRE(recreated.exit_code == 0);
  auto no_bucket = run_launcher(dir, {"backup", env.name});
  CHECK(no_bucket.exit_code == 1);
  CHECK(std::count(no_bucket.err.begin(), no_bucket.err.end(), '\n') == 1);
  CHECK(no_bucket.err.find(secret_key()) == std::string::npos);
  write_backup_profile(dir, "http://host.docker.internal:9");
  recreated = run_launcher(
      dir, {"up", "--profile", "bk", "--name", env.name, "--image", lifecycle_image(), "--recreate"}, variables);
  REQUIRE(recreated.exit_code == 0);
  auto unreachable = run_launcher(dir, {"backup", env.name});
  CHECK(unreachable.exit_code == 1);
  CHECK(std::count(unreachable.err.begin(), unreachable.err.end(), '\n') == 1);
  CHECK(unreachable.err.find(secret_key()) == std::string::npos);

  // down: the final backup fails, so nothing is removed; --force removes it without one.
  auto refused_down = run_launcher(dir, {"down", env.name});
  CHECK(refused_down.exit_code == 1);
  CHECK(refused_down.err.find("nothing was removed (--force removes it without a final backup)") != std::string::npos);
  CHECK(run_process({docker(), "container", "inspect", env.name}).exit_code == 0);
  write_backup_profile(dir, moto.endpoint());
  recreated = run_launcher(
      dir, {"up", "--profile", "bk", "--name", env.name, "--image", lifecycle_image(), "--recreate"}, variables);
  REQUIRE(recreated.exit_code == 0);
  auto down = run_launcher(dir, {"down", env.name});
  INFO(down.err);
  CHECK(down.exit_code == 0);
  CHECK(down.err.find("launcher: final backup ") != std::string::npos);
}
