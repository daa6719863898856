// The profile's env values and -e values against another local user (issue 25): `ps` (every
// /proc/PID/cmdline) read by nobody while `up` runs finds none of them, yet the container has
// them; `export` writes names only, in files of mode 0600.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <future>
#include <iterator>

#include "file_mode.hpp"
#include "host/state_layout.hpp"
#include "support.hpp"

using namespace launcher::e2e;
using launcher::process::run_process;
using launcher::testing::mode_of;
using nlohmann::json;

namespace {

std::string random_value(const std::string& stem) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  unsigned char bytes[12];
  random.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  std::string text = stem + "-";
  for (unsigned char byte : bytes) {
    const char* digits = "0123456789abcdef";
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  return text;
}

// Reads every /proc/*/cmdline as nobody (no groups) again and again until `stop` exists, and
// prints what it saw as JSON: the scans made, the docker CLI `run` processes seen, and each
// process whose command line held a needle (its first word). The needles come in its environment,
// never on its own command line.
constexpr const char* scanner_script = R"(
import json, os, sys
needles = [value.encode() for name, value in os.environ.items() if name.startswith('NEEDLE_')]
stop = sys.argv[1]
scans, docker_runs, hits = 0, set(), {}
while not os.path.exists(stop):
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or pid == str(os.getpid()):
            continue
        try:
            with open('/proc/' + pid + '/cmdline', 'rb') as f:
                line = f.read()
        except OSError:
            continue
        words = line.split(b'\0')
        if len(words) > 2 and words[0].endswith(b'docker') and words[1] == b'run':
            docker_runs.add(pid)
        for needle in needles:
            if needle in line:
                hits[pid + ' ' + needle.decode()] = words[0].decode(errors='replace')
    scans += 1
print(json.dumps({'scans': scans, 'docker_runs': len(docker_runs), 'hits': hits}))
)";

struct Scanner {
  fs::path stop_dir;
  std::future<launcher::process::ProcessResult> result;

  explicit Scanner(const std::vector<std::string>& needles) {
    char stop_template[] = "/tmp/launcher-e2e-scan.XXXXXX";
    REQUIRE(mkdtemp(stop_template));
    stop_dir = stop_template;
    chmod(stop_dir.c_str(), 0755); // nobody must see the stop file appear
    std::vector<std::string> environment;
    for (std::size_t i = 0; i < needles.size(); ++i)
      environment.push_back("NEEDLE_" + std::to_string(i) + "=" + needles[i]);
    fs::path stop = stop_dir / "stop";
    result = std::async(std::launch::async, [environment, stop] {
      launcher::process::ProcessOptions options;
      options.extra_env = environment;
      return run_process({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
                          scanner_script, stop.string()},
                         options);
    });
  }
  // Stops the scan and returns what it saw.
  json finish() {
    std::ofstream(stop_dir / "stop").put('\n');
    auto scanned = result.get();
    INFO(scanned.err);
    REQUIRE(scanned.exit_code == 0);
    return json::parse(scanned.out);
  }
  ~Scanner() {
    if (result.valid()) {
      std::ofstream(stop_dir / "stop").put('\n');
      result.wait();
    }
    std::error_code ignored;
    fs::remove_all(stop_dir, ignored);
  }
};

std::string printenv_in(const std::string& container, const std::string& name) {
  auto printed = run_process({docker(), "exec", container, "printenv", name});
  return printed.exit_code == 0 ? printed.out : "(not set: " + printed.err + ")";
}

std::string read_text(const TempDir& dir, const std::string& relative) {
  std::ifstream stream(dir.path / relative);
  return {std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_CASE("security: another user's ps during up -e and a ${VAR} profile env sees no value, and the container has them",
          "[e2e][security][env][root]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  UpEnvironment env{dir, unique_name("env-values")};
  const std::string from_environment = random_value("from-environment"); // -e NAME, the value in up's environment
  const std::string on_command_line = random_value("on-command-line");   // -e NAME=VALUE, typed by the user
  const std::string expanded = random_value("expanded");                 // "${E2E_EXPANDED_SOURCE}" in the profile
  dir.write(
      "launcher.json",
      json{{"version", 1},
           {"profiles",
            {{"leaky",
              {{"extends", "shell"}, {"gpus", "none"}, {"env", {{"EXPANDED_TOKEN", "${E2E_EXPANDED_SOURCE}"}}}}}}}}
          .dump());
  // The team file hands a variable of the launcher's environment to the env: the user approves that.
  auto trusted = run_launcher(dir, {"trust"}, {"E2E_EXPANDED_SOURCE=" + expanded});
  INFO(trusted.out << trusted.err);
  REQUIRE(trusted.exit_code == 0);
  Scanner scanner({from_environment, on_command_line, expanded});
  auto result = run_launcher(dir,
                             {"up", "--json", "--profile", "leaky", "--image", lifecycle_image(), "--name", env.name,
                              "--timeout", "180", "-e", "HF_TOKEN", "-e", "TYPED_TOKEN=" + on_command_line},
                             {"HF_TOKEN=" + from_environment, "E2E_EXPANDED_SOURCE=" + expanded});
  json seen = scanner.finish();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  INFO(seen.dump());
  // The scan saw docker run's command line: it looked while the values were being handed over.
  CHECK(seen["docker_runs"].get<int>() >= 1);
  // The only command line with a value is the launcher's own, with the value the user typed there.
  for (const auto& [pid_and_needle, program] : seen["hits"].items()) {
    INFO(pid_and_needle << " in the command line of " << program.get<std::string>());
    CHECK(program.get<std::string>() == launcher_binary());
    CHECK(pid_and_needle.find(on_command_line) != std::string::npos);
  }
  CHECK(printenv_in(env.name, "HF_TOKEN") == from_environment + "\n");
  CHECK(printenv_in(env.name, "TYPED_TOKEN") == on_command_line + "\n");
  CHECK(printenv_in(env.name, "EXPANDED_TOKEN") == expanded + "\n");
  // The env file lived only while docker run read it.
  auto layout = launcher::host::state_layout(launcher::EnvName::parse(env.name), dir.path / ".state");
  CHECK(!fs::exists(layout.run_environment()));
  // A preview shows the names and no value.
  auto rendered = run_launcher(
      dir, {"render", "--profile", "leaky", "--image", lifecycle_image(), "--name", env.name, "-e", "HF_TOKEN"},
      {"HF_TOKEN=" + from_environment, "E2E_EXPANDED_SOURCE=" + expanded});
  INFO(rendered.err);
  REQUIRE(rendered.exit_code == 0);
  CHECK(rendered.out.find(from_environment) == std::string::npos);
  CHECK(rendered.out.find(expanded) == std::string::npos);
  CHECK(rendered.out.find("# --env-file holds the values of EXPANDED_TOKEN HF_TOKEN") != std::string::npos);
}

TEST_CASE("export: compose and devcontainer files name the env's variables, hold no value, and are 0600",
          "[e2e][export][env]") {
  require_engine();
  require_lifecycle_image();
  TempDir dir;
  const std::string secret = random_value("exported");
  std::string name = unique_name("export-env");
  ContainerGuard guard{name}; // the devcontainer export makes the env's network
  fs::create_directories(dir.path / "out");
  auto exported = run_launcher(dir,
                               {"export", "--format", "compose", "-o", "out/compose.yaml", "--profile", "shell",
                                "--gpus", "none", "--image", lifecycle_image(), "--name", name, "-e", "HF_TOKEN"},
                               {"HF_TOKEN=" + secret});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  std::string compose = read_text(dir, "out/compose.yaml");
  CHECK(compose.find(secret) == std::string::npos);
  CHECK(compose.find("HF_TOKEN: null") != std::string::npos);
  CHECK(mode_of(dir.path / "out/compose.yaml") == 0600);
  CHECK(read_text(dir, "out/.env").find("\nHF_TOKEN=\n") != std::string::npos);
  CHECK(mode_of(dir.path / "out/.env") == 0600);
  CHECK(exported.err.find("out/.env (mode 0600): fill in the values of HF_TOKEN") != std::string::npos);

  // The user fills the .env; Compose takes the value from it, and a new export leaves it alone.
  dir.write("out/.env", "HF_TOKEN=" + secret + "\n");
  auto config =
      run_process({docker(), "compose", "-f", (dir.path / "out/compose.yaml").string(), "config", "--format", "json"});
  if (config.exit_code == 0) CHECK(json::parse(config.out)["services"]["shell"]["environment"]["HF_TOKEN"] == secret);
  auto again =
      run_launcher(dir,
                   {"export", "--format", "compose", "-o", "out/compose.yaml", "--force", "--profile", "shell",
                    "--gpus", "none", "--image", lifecycle_image(), "--name", name, "-e", "HF_TOKEN", "-e", "OTHER=1"},
                   {"HF_TOKEN=" + secret});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(read_text(dir, "out/.env") == "HF_TOKEN=" + secret + "\n");
  CHECK(again.err.find(".env exists and was left as it is; add OTHER to it") != std::string::npos);

  auto devcontainer =
      run_launcher(dir,
                   {"export", "--format", "devcontainer", "-o", "out/devcontainer.json", "--profile", "shell", "--gpus",
                    "none", "--image", lifecycle_image(), "--name", name, "-e", "HF_TOKEN"},
                   {"HF_TOKEN=" + secret});
  INFO(devcontainer.err);
  REQUIRE(devcontainer.exit_code == 0);
  std::string text = read_text(dir, "out/devcontainer.json");
  CHECK(text.find(secret) == std::string::npos);
  CHECK(json::parse(text)["containerEnv"]["HF_TOKEN"] == "${localEnv:HF_TOKEN}");
  CHECK(mode_of(dir.path / "out/devcontainer.json") == 0600);
}
