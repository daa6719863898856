// `down` and `up --recreate` never lose work: files anywhere outside the volumes, packages
// installed with pip or apt since the image was built; `launcher snapshot` keeps all of it,
// and no secret. Against the real engine and the lifecycle image.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "host/state_layout.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using launcher::process::run_process;
using nlohmann::json;

namespace {

launcher::process::ProcessResult docker_exec(const std::string& env, const std::string& script,
                                             const std::string& user = "0") {
  return run_process({docker(), "exec", "-u", user, env, "sh", "-c", script});
}

// Which of `texts` a person finds in the image's history or anywhere in its file system.
std::vector<std::string> found_in_image(const std::string& image, const std::vector<std::string>& texts) {
  std::string history = run_process({docker(), "history", "--no-trunc", image}).out;
  std::string container = unique_name("export");
  REQUIRE(run_process({docker(), "create", "--name", container, image}).exit_code == 0);
  ContainerGuard guard{container};
  std::string patterns;
  for (const auto& text : texts)
    patterns += " -e '" + text + "'";
  // grep -o prints each match in the file system's tar stream.
  std::string matches = run_process({"sh", "-c", docker() + " export " + container + " | grep -aoF" + patterns}).out;
  std::vector<std::string> found;
  for (const auto& text : texts)
    if (history.find(text) != std::string::npos || matches.find(text) != std::string::npos) found.push_back(text);
  return found;
}

} // namespace

TEST_CASE("unsaved: files anywhere outside the volumes keep down and up --recreate from removing the container",
          "[e2e][unsaved]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("files")};
  up(dir, {"--profile", "jupyter", "--gpus", "none", "-p", "auto:8888", "--name", env.name});

  // Temporary and cache places are noise: down would not ask.
  REQUIRE(docker_exec(env.name, "echo t > /tmp/scratch && mkdir -p /var/cache/tool && echo c > /var/cache/tool/c")
              .exit_code == 0);
  REQUIRE(docker_exec(env.name, "echo precious > /opt/unsaved-work.txt && mkdir -p /srv && echo notes > /srv/notes && "
                                "echo tool > /usr/local/bin/tool")
              .exit_code == 0);
  auto refused = run_launcher(dir, {"down", env.name});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("has changes outside its volumes that removing the container would lose:\n  files (3):\n    "
                         "/opt/unsaved-work.txt\n    /srv/notes\n    /usr/local/bin/tool\n") != std::string::npos);
  CHECK(refused.err.find("launcher snapshot " + env.name) != std::string::npos);
  CHECK(refused.err.find("/tmp") == std::string::npos);
  CHECK(refused.err.find("/var/cache") == std::string::npos);
  auto recreate = run_launcher(dir, {"up", "--profile", "jupyter", "--gpus", "none", "-p", "auto:8888", "--name",
                                     env.name, "--image", lifecycle_image(), "--recreate"});
  CHECK(recreate.exit_code == 1);
  CHECK(recreate.err.find("files (3):\n    /opt/unsaved-work.txt") != std::string::npos);
  CHECK(recreate.err.find("`launcher down " + env.name + " --force`, then `launcher up` again") != std::string::npos);

  // The snapshot keeps the file, and no secret: the token lives on the secrets mount and the tmpfs.
  auto snapshot = run_launcher(dir, {"snapshot", env.name, "--json"});
  INFO(snapshot.err);
  REQUIRE(snapshot.exit_code == 0);
  std::string tag = json::parse(snapshot.out)["tag"];
  std::string token = json::parse(run_launcher(dir, {"secret", "show", env.name, "--json"}).out)["jupyter_token"];
  CHECK(found_in_image(tag, {token}).empty());
  CHECK(run_process({docker(), "image", "rm", tag}).exit_code == 0);

  // Without the work outside /tmp and /var/cache, down goes ahead without asking.
  REQUIRE(docker_exec(env.name, "rm /opt/unsaved-work.txt /srv/notes /usr/local/bin/tool").exit_code == 0);
  auto down = run_launcher(dir, {"down", env.name});
  INFO(down.err);
  CHECK(down.exit_code == 0);
}

TEST_CASE("unsaved: pip and apt installs are named, and a snapshot keeps them with no secret in it", "[e2e][unsaved]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  ClientKey client;
  write_remote_profile(
      dir, client,
      {{"shm_size", "1g"}, {"user", {{"uid", 4242}, {"gid", 4242}, {"name", "e2e"}}}, {"ssh", {{"password", true}}}});
  // The project directory belongs to the user the profile names, as a real one does.
  REQUIRE(chown(dir.path.c_str(), 4242, 4242) == 0);
  UpEnvironment env{dir, unique_name("packages")};
  json ready = up(dir, {"--profile", "remote", "--name", env.name});
  std::string image_id = run_process({docker(), "inspect", "--format", "{{.Image}}", env.name}).out;
  image_id = image_id.substr(0, image_id.find('\n'));

  // A wheel from a local wheelhouse, and a Debian package from the archive.
  TempDir wheelhouse;
  auto wheel = run_process({"python3", std::string(LAUNCHER_SOURCE_DIR) + "/tests/e2e/make_wheel.py", "tinywheel",
                            "0.1", wheelhouse.path.string()});
  REQUIRE(wheel.exit_code == 0);
  REQUIRE(run_process({docker(), "cp", wheel.out.substr(0, wheel.out.find('\n')), env.name + ":/tmp/"}).exit_code == 0);
  auto pip =
      docker_exec(env.name, "pip install -q --no-index --break-system-packages /tmp/tinywheel-0.1-py3-none-any.whl");
  INFO(pip.err);
  REQUIRE(pip.exit_code == 0);
  auto apt = docker_exec(env.name,
                         "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends jq >/dev/null");
  INFO(apt.err);
  REQUIRE(apt.exit_code == 0);
  std::string jq_version = docker_exec(env.name, "dpkg-query -W -f '${Version}' jq").out;
  REQUIRE(docker_exec(env.name, "echo precious > /opt/unsaved-work.txt").exit_code == 0);

  auto refused = run_launcher(dir, {"down", env.name});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("  Python packages installed, changed or removed since the image was built (1):\n    "
                         "tinywheel 0.1 (new)\n") != std::string::npos);
  CHECK(refused.err.find("  Debian packages installed, changed or removed since the image was built (") !=
        std::string::npos);
  CHECK(refused.err.find("    jq " + jq_version + " (new)\n") != std::string::npos);
  CHECK(refused.err.find("  files (1):\n    /opt/unsaved-work.txt\n") != std::string::npos);
  // The packages' own files are told as the packages, not listed one by one.
  CHECK(refused.err.find("/usr/bin/jq") == std::string::npos);
  CHECK(refused.err.find("tinywheel/__init__.py") == std::string::npos);

  auto snapshot = run_launcher(dir, {"snapshot", env.name, "--json"});
  INFO(snapshot.err);
  REQUIRE(snapshot.exit_code == 0);
  std::string tag = json::parse(snapshot.out)["tag"];
  auto labels = json::parse(run_process({docker(), "inspect", "--format", "{{json .Config.Labels}}", tag}).out);
  CHECK(labels["io.launcher.snapshot-of"] == env.name);
  CHECK(labels["io.launcher.base-digest"] == image_id);
  CHECK(labels["io.launcher.env"] == "");

  // Neither the host key nor the password hash is in the snapshot.
  auto layout = launcher::host::state_layout(launcher::EnvName::parse(env.name), dir.path / ".state");
  std::string host_key, password_hash;
  std::ifstream key_file(layout.host_key());
  std::string line;
  std::getline(key_file, line);
  std::getline(key_file, host_key); // the first line of the key's body
  std::getline(std::ifstream(layout.user_password_hash()), password_hash);
  REQUIRE(host_key.size() > 20);
  REQUIRE(password_hash.size() > 20);
  CHECK(found_in_image(tag, {host_key, password_hash}).empty());
  // The running env got its password hash back after the commit.
  CHECK(docker_exec(env.name, "grep '^e2e:' /etc/shadow").out.find(password_hash) != std::string::npos);

  // down names the snapshot that holds the work; the running env kept the image's package record.
  auto held = run_launcher(dir, {"down", env.name});
  CHECK(held.exit_code == 1);
  CHECK(held.err.find("\nsnapshot " + tag + " (taken ") != std::string::npos);
  CHECK(held.err.find(") holds all of it as it was then\n") != std::string::npos);
  CHECK(held.err.find("tinywheel 0.1 (new)") != std::string::npos);
  CHECK(held.err.find("packages.json") == std::string::npos);
  // Work made since the snapshot is counted as not in it.
  REQUIRE(docker_exec(env.name, "echo later > /opt/later.txt").exit_code == 0);
  auto since = run_launcher(dir, {"down", env.name});
  CHECK(since.err.find(") holds it as it was then, but not 1 of these, new since\n") != std::string::npos);

  // down --force, then up from the snapshot: the work is all there.
  REQUIRE(run_launcher(dir, {"down", env.name, "--force"}).exit_code == 0);
  auto again = run_launcher(dir, {"up", "--profile", "remote", "--name", env.name, "--image", tag, "--timeout", "180"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(docker_exec(env.name, "python3 -c 'import tinywheel; print(tinywheel.VERSION)'").out == "0.1\n");
  CHECK(docker_exec(env.name, "jq --version").exit_code == 0);
  CHECK(docker_exec(env.name, "cat /opt/unsaved-work.txt").out == "precious\n");
  // The snapshot's package record is its own: nothing changed since, so a plain down goes ahead.
  auto plain = run_launcher(dir, {"down", env.name});
  INFO(plain.err);
  CHECK(plain.exit_code == 0);
  run_launcher(dir, {"down", env.name, "--force"});
  run_process({docker(), "image", "rm", tag});
}

TEST_CASE("unsaved: a tree renamed inside the env is one line of down's list and --list-all lists every file",
          "[e2e][unsaved]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("renamed")};
  up(dir, {"--profile", "shell", "--gpus", "none", "--name", env.name});
  REQUIRE(docker_exec(env.name,
                      "mkdir -p /opt/data/shards && for i in $(seq 10 39); do echo $i > /opt/data/shards/s$i; "
                      "done && echo n > /opt/notes.txt && mv /opt/data /opt/data-v2")
              .exit_code == 0);
  auto refused = run_launcher(dir, {"down", env.name});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("\n  files (31):\n    /opt/data-v2/ (new directory, 30 files)\n    /opt/notes.txt\n") !=
        std::string::npos);
  auto all = run_launcher(dir, {"down", env.name, "--list-all"});
  CHECK(all.exit_code == 1);
  for (int i = 10; i < 40; ++i)
    CHECK(all.err.find("\n    /opt/data-v2/shards/s" + std::to_string(i) + "\n") != std::string::npos);
}

TEST_CASE("unsaved: snapshot refuses an unknown env, a name Docker would refuse and an env that up is working on",
          "[e2e][unsaved]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  auto unknown = run_launcher(dir, {"snapshot", "e2e-no-such-env"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err == "launcher: error: no environment \"e2e-no-such-env\" (`launcher ps` lists them)\n");
  auto bad_tag = run_launcher(dir, {"snapshot", "e2e-no-such-env", "--tag", "Team/Lab:v1"});
  CHECK(bad_tag.exit_code == 2);
  CHECK(bad_tag.err ==
        "launcher: error: --tag Team/Lab:v1: Docker would refuse it: \"Team\" in the repository is not lowercase "
        "letters and digits separated by '.', '_' or '-'\n");

  // The very lock `up` and `down` hold, held as they hold it.
  UpEnvironment env{dir, unique_name("busy")};
  up(dir, {"--profile", "shell", "--gpus", "none", "--name", env.name});
  fs::path lock =
      launcher::host::state_layout(launcher::EnvName::parse(env.name), dir.path / ".state").env_dir.parent_path() /
      ("." + env.name + ".lock");
  int fd = open(lock.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(flock(fd, LOCK_EX) == 0);
  auto busy = run_launcher(dir, {"snapshot", env.name});
  close(fd);
  CHECK(busy.exit_code == 1);
  CHECK(busy.err == "launcher: error: another launcher (an `up` or `down`) is working on environment \"" + env.name +
                        "\"; try again when it has finished\n");
}
