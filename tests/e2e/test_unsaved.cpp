// `down` and `up --recreate` never lose work: files anywhere outside the volumes, packages
// installed with pip or apt since the image was built; `launcher snapshot` keeps all of it,
// and no secret. Against the real engine and the lifecycle image.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "core/text.hpp"
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
  write_remote_profile(dir, client,
                       {{"shm_size", "1g"}, {"user", test_user().profile_user("e2e")}, {"ssh", {{"password", true}}}});
  // The project directory belongs to the user the profile names, as a real one does.
  REQUIRE(chown(dir.path.c_str(), test_user().uid, test_user().gid) == 0);
  SudoBy sudo(test_user().uid,
              test_user().gid); // root trusts the team file of a directory the user owns only as its sudo
  UpEnvironment env{dir, unique_name("packages")};
  json ready = up(dir, {"--profile", "remote", "--name", env.name});
  std::string image_id = run_process({docker(), "inspect", "--format", "{{.Image}}", env.name}).out;
  image_id = image_id.substr(0, image_id.find('\n'));

  // A wheel from a local wheelhouse, and a Debian package from the archive.
  TempDir wheelhouse;
  auto wheel =
      run_process({"python3", source_dir() + "/tests/e2e/make_wheel.py", "tinywheel", "0.1", wheelhouse.path.string()});
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

namespace {

// 24 random hex digits: a value no image holds by chance.
std::string random_text() {
  std::random_device device;
  std::string text;
  for (int i = 0; i < 24; ++i)
    text += "0123456789abcdef"[device() % 16];
  return text;
}

struct ImageGuard {
  std::vector<std::string> tags;
  ~ImageGuard() {
    for (const auto& tag : tags)
      run_process({docker(), "image", "rm", tag});
  }
};

// Which of `texts` (contents) and `paths` (relative, as a layer's tar names them) are in any layer of
// `image` as `docker save` writes it, in its config, its layers' v1 configs, or `docker inspect`/`history`.
std::vector<std::string> found_in_saved_image(const std::string& image, const std::vector<std::string>& texts,
                                              const std::vector<std::string>& paths) {
  // Scanned as `docker save` streams: extracted, the real image's layers take gigabytes of disk.
  auto scan =
      run_process({"bash", "-c", "set -o pipefail; " + docker() + " save \"$1\" | python3 \"$2\" \"$3\"", "sh", image,
                   source_dir() + "/tests/e2e/scan_saved_image.py", json{{"texts", texts}, {"paths", paths}}.dump()});
  INFO(scan.err);
  REQUIRE(scan.exit_code == 0);
  json result = json::parse(scan.out);
  REQUIRE(result["manifest_layers"].get<int>() > 1);
  REQUIRE(result["layers"].get<int>() > 1);
  std::vector<std::string> found = result["found"];
  // The image's inspect and history, which hold what `docker save` has as well as what it may not.
  std::string metadata = run_process({docker(), "image", "inspect", image}).out +
                         run_process({docker(), "history", "--no-trunc", image}).out;
  for (const auto& text : texts)
    if (metadata.find(text) != std::string::npos && std::find(found.begin(), found.end(), text) == found.end())
      found.push_back(text);
  std::sort(found.begin(), found.end());
  return found;
}

} // namespace

TEST_CASE("unsaved: no -e value and no secret file of the home is in any layer or the config of a snapshot and "
          "--include keeps one",
          "[e2e][unsaved][snapshot][security]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  dir.write("launcher.json",
            json{{"version", 1},
                 {"profiles",
                  {{"worker", {{"extends", "shell"}, {"gpus", "none"}, {"user", test_user().profile_user("e2e")}}}}}}
                .dump());
  REQUIRE(chown(dir.path.c_str(), test_user().uid, test_user().gid) == 0);
  SudoBy sudo(test_user().uid,
              test_user().gid); // root trusts the team file of a directory the user owns only as its sudo
  ImageGuard images;            // removed after the env, which the last `up` starts from one of them
  UpEnvironment env{dir, unique_name("secrets")};
  const std::string token = "hf_" + random_text(), secret = random_text();
  up(dir, {"--profile", "worker", "--name", env.name, "-e", "HF_TOKEN=" + token});
  // What a user's work leaves in the home: each file holds the secret.
  // What a user's work leaves in the home, each file holding the secret.
  auto created = run_process({docker(), "exec", "-u", std::to_string(test_user().uid), "-e", "HOME=/home/e2e", env.name,
                              "sh", "-c",
                              "set -e; cd; mkdir -p .cache/huggingface .ssh .ipython/profile_default; "
                              "echo \"export HF_TOKEN=$1\" > .bash_history; echo \"$1\" > .cache/huggingface/token; "
                              "printf '%s\\n' '-----BEGIN OPENSSH PRIVATE KEY-----' \"$1\" > .ssh/id_ed25519; "
                              "chmod 700 .ssh; chmod 600 .ssh/id_ed25519; "
                              "python3 -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[2]); "
                              "d.execute(\"create table history(source)\"); "
                              "d.execute(\"insert into history values (?)\", (\"token = \" + sys.argv[1],)); "
                              "d.commit()' \"$1\" .ipython/profile_default/history.sqlite",
                              "sh", secret});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const std::vector<std::string> secret_paths{"home/e2e/.bash_history", "home/e2e/.cache/huggingface/token",
                                              "home/e2e/.ssh", "home/e2e/.ipython/profile_default/history.sqlite"};
  const std::string listing = "cd /home/e2e && stat -c '%U %a %n' .bash_history .cache/huggingface/token .ssh "
                              ".ssh/id_ed25519 .ipython/profile_default/history.sqlite && cat .bash_history "
                              ".cache/huggingface/token .ssh/id_ed25519 && sha256sum "
                              ".ipython/profile_default/history.sqlite";
  std::string before = docker_exec(env.name, listing).out;
  REQUIRE(before.find(secret) != std::string::npos);

  // down names them as work a removal loses, and as secrets a snapshot leaves out.
  auto refused = run_launcher(dir, {"down", env.name});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("\n  secrets among them, which `launcher snapshot` leaves out (`--include PATH` keeps one):\n"
                         "    /home/e2e/.bash_history\n    /home/e2e/.cache/huggingface/token\n"
                         "    /home/e2e/.ipython/profile_default/history.sqlite\n    /home/e2e/.ssh\n") !=
        std::string::npos);

  auto snapshot = run_launcher(dir, {"snapshot", env.name, "--json"});
  INFO(snapshot.err);
  REQUIRE(snapshot.exit_code == 0);
  json made_snapshot = json::parse(snapshot.out);
  std::string tag = made_snapshot["tag"];
  images.tags.push_back(tag);
  CHECK(made_snapshot["left_out"] ==
        json::array({"/home/e2e/.bash_history", "/home/e2e/.cache/huggingface/token",
                     "/home/e2e/.ipython/profile_default/history.sqlite", "/home/e2e/.ssh"}));
  // Neither the -e value nor any secret file, in any layer, the config or the history.
  CHECK(found_in_saved_image(tag, {token, secret}, secret_paths).empty());
  auto environment =
      json::parse(run_process({docker(), "image", "inspect", "--format", "{{json .Config.Env}}", tag}).out);
  CHECK(std::find(environment.begin(), environment.end(), "HF_TOKEN=") != environment.end());
  CHECK(std::find(environment.begin(), environment.end(), "LAUNCHER_SUDO=0") == environment.end()); // never set
  CHECK(std::find(environment.begin(), environment.end(), "LAUNCHER_USER=") != environment.end());
  // The env still has every file, as it was, and the stash is gone.
  CHECK(docker_exec(env.name, listing).out == before);
  CHECK(docker_exec(env.name, "test -e /run/launcher/snapshot-stash").exit_code != 0);

  // Named with --include, the history goes in, and nothing else does.
  const std::string with_history = tag + "-history";
  auto included =
      run_launcher(dir, {"snapshot", env.name, "--tag", with_history, "--include", "~/.bash_history", "--json"});
  INFO(included.err);
  REQUIRE(included.exit_code == 0);
  images.tags.push_back(with_history);
  CHECK(json::parse(included.out)["left_out"] ==
        json::array({"/home/e2e/.cache/huggingface/token", "/home/e2e/.ipython/profile_default/history.sqlite",
                     "/home/e2e/.ssh"}));
  std::vector<std::string> history_only{secret, "home/e2e/.bash_history"};
  std::sort(history_only.begin(), history_only.end());
  CHECK(found_in_saved_image(with_history, {token, secret}, secret_paths) == history_only);
  CHECK(docker_exec(env.name, listing).out == before);

  // An env started from the snapshot works: the emptied variables are set again by up.
  REQUIRE(run_launcher(dir, {"down", env.name, "--force"}).exit_code == 0);
  auto again = run_launcher(dir, {"up", "--profile", "worker", "--name", env.name, "--image", tag, "--timeout", "180"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(docker_exec(env.name, "test -e /home/e2e/.bash_history || test -e /home/e2e/.ssh").exit_code != 0);
}
