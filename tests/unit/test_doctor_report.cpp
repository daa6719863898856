#include <chrono>

#include <catch2/catch.hpp>

#include "doctor/checks.hpp"
#include "doctor/report.hpp"
#include "doctor_fixtures.hpp"
#include "engine/podman_engine.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::doctor::CheckResult;
using launcher::doctor::Status;
using launcher::testing::FixtureFacts;

namespace {

plan::Plan cpu_plan() {
  plan::Plan plan;
  plan.env = "project-jupyter";
  plan.image = "pytorch-cpu:2.7.1-debian12";
  plan.shm_size_bytes = 32ULL << 30;
  return plan;
}

std::vector<CheckResult> preflight(const plan::Plan& plan, FixtureFacts& facts) {
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  doctor::HostSnapshot snapshot =
      doctor::gather_preflight_facts(queries, doctor::subject_of(plan), matrix::embedded_matrix());
  return doctor::preflight_checks(plan, snapshot, matrix::embedded_matrix());
}

} // namespace

TEST_CASE("up's pre-flight asks the host nothing for a plan without GPUs or loopback ports", "[doctor][preflight]") {
  FixtureFacts facts({"gpu/no-driver", "docker/engine-20.10-no-toolkit"});
  auto started = std::chrono::steady_clock::now();
  auto results = preflight(cpu_plan(), facts);
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(facts.asked.empty());
  CHECK(results == std::vector<CheckResult>{{"shm", Status::ok, "/dev/shm is 32g", ""}});
  CHECK(elapsed < std::chrono::milliseconds(100));
}

TEST_CASE("loopback ports cost one docker version, GPUs one docker info and the GPU facts", "[doctor][preflight]") {
  plan::Plan jupyter = cpu_plan();
  jupyter.ports.push_back({"127.0.0.1", std::nullopt, 8888, plan::Protocol::tcp});
  FixtureFacts facts({"gpu/no-driver", "docker/engine-20.10-no-toolkit"});
  auto results = preflight(jupyter, facts);
  CHECK(facts.asked == std::vector<std::string>{"docker-version.json"});
  CHECK(results.size() == 3);
  CHECK(results[1].id == "loopback-publish");
  CHECK(results[1].status == Status::warn);

  plan::Plan gpu = jupyter;
  gpu.image = "pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04";
  gpu.gpus = {plan::GpuAssignment::Kind::all, {}};
  FixtureFacts gpu_facts({"gpu/h100-80gb-hbm3", "docker/engine-28.2-nvidia-toolkit"});
  auto gpu_results = preflight(gpu, gpu_facts);
  CHECK(gpu_facts.asked == std::vector<std::string>{"docker-info.json", "proc-driver-nvidia-version.txt",
                                                    "nvidia-smi-query-gpu.csv", "nvidia-smi-L.txt",
                                                    "nvidia-smi-query-compute-apps.csv", "cdi-specs.txt",
                                                    "nvidia-container-cli-version.txt", "docker-image-labels.json"});
  CHECK_FALSE(doctor::any_failed(gpu_results));
  CHECK(gpu_results.size() == 10);
}

TEST_CASE("a failed pre-flight refuses with every failure and its fix", "[doctor][preflight]") {
  plan::Plan gpu = cpu_plan();
  gpu.gpus = {plan::GpuAssignment::Kind::devices, {"0"}};
  FixtureFacts facts({"gpu/no-driver", "docker/engine-20.10-no-toolkit"});
  auto results = preflight(gpu, facts);
  testing::require_error(
      [&] { doctor::require_no_failures(results); }, ExitCode::host_incapable,
      "pre-flight checks failed:\n"
      "  driver: no NVIDIA driver: /proc/driver/nvidia/version is missing and nvidia-smi is not installed\n"
      "    fix: install the NVIDIA driver, or run without GPUs (--gpus none)\n"
      "  toolkit: no NVIDIA Container Toolkit (no nvidia runtime in docker info, no CDI spec in /etc/cdi or "
      "/var/run/cdi, no nvidia-container-cli): docker run --gpus would fail with 'could not select device "
      "driver \"\" with capabilities: [[gpu]]'\n"
      "    fix: install nvidia-container-toolkit, run 'sudo nvidia-ctk runtime configure --runtime=docker' "
      "and restart Docker\n"
      "run 'launcher doctor' for the whole report, or pass --skip-checks to start anyway");
  CHECK_NOTHROW(doctor::require_no_failures({{"shm", Status::warn, "small", "grow it"}}));
}

TEST_CASE("the report is a table with fixes under their check, and JSON with the facts", "[doctor][report]") {
  std::vector<CheckResult> results{
      {"docker", Status::ok, "Docker Engine 28.2.2 answers (client 28.2.2)", ""},
      {"loopback-publish", Status::warn, "old engine", "upgrade"},
      {"driver", Status::fail, "no NVIDIA driver", "install it"},
  };
  CHECK(doctor::format_report(results) == "CHECK             STATUS RESULT\n"
                                          "docker            OK     Docker Engine 28.2.2 answers (client 28.2.2)\n"
                                          "loopback-publish  WARN   old engine\n"
                                          "                         fix: upgrade\n"
                                          "driver            FAIL   no NVIDIA driver\n"
                                          "                         fix: install it\n"
                                          "1 OK, 1 WARN, 1 FAIL\n");
  doctor::HostSnapshot snapshot = testing::snapshot_of({"gpu/h100-80gb-hbm3"}, testing::gpu_subject(""));
  nlohmann::json json = doctor::report_json(results, snapshot);
  CHECK(json["summary"] == nlohmann::json{{"ok", 1}, {"warn", 1}, {"fail", 1}});
  CHECK(json["checks"][1] ==
        nlohmann::json{{"id", "loopback-publish"}, {"status", "WARN"}, {"message", "old engine"}, {"fix", "upgrade"}});
  CHECK(json["facts"]["gpu"]["gpus"][0]["uuid"] == "GPU-45fe05ec-d7bf-5f3b-9027-7cb7c929bdfb");
}

TEST_CASE("saved facts replay as they were read", "[doctor][facts]") {
  std::string pattern = (std::filesystem::temp_directory_path() / "launcher-facts-XXXXXX").string();
  std::filesystem::path saved = mkdtemp(pattern.data());
  FixtureFacts original({"gpu/no-driver", "gpu/h100-80gb-hbm3", "docker/daemon-down"});
  facts::RecordingFactSource recorder(original);
  facts::HostQueries queries(recorder, launcher::testing::replay_engine());
  doctor::Subject subject = testing::gpu_subject("pytorch-cuda:2.7.1-cu128-cudnn9-ubuntu24.04");
  doctor::HostSnapshot before = doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
  recorder.save(saved);

  CHECK(std::filesystem::exists(saved / "docker-info.json.exit-code"));
  CHECK(std::filesystem::exists(saved / "proc-driver-nvidia-version.txt.stderr"));
  CHECK_FALSE(std::filesystem::exists(saved / "proc-driver-nvidia-version.txt"));
  facts::DirectoryFactSource replay({saved});
  facts::HostQueries replay_queries(replay, launcher::testing::replay_engine());
  doctor::HostSnapshot after = doctor::gather_doctor_facts(replay_queries, subject, matrix::embedded_matrix());
  CHECK(doctor::to_json(after) == doctor::to_json(before));
  CHECK(doctor::doctor_checks(subject, after, matrix::embedded_matrix()) ==
        doctor::doctor_checks(subject, before, matrix::embedded_matrix()));
  std::filesystem::remove_all(saved);
}

TEST_CASE("the engine's facts are asked in its words under their fixture names", "[doctor][facts][engine]") {
  // Answers nothing; keeps each question's name and argv.
  struct Questions : facts::MemoryFactSource {
    std::vector<std::pair<std::string, std::vector<std::string>>> asked;
    facts::Fact command(const std::string& name, const std::vector<std::string>& argv) override {
      asked.emplace_back(name, argv);
      return MemoryFactSource::command(name, argv);
    }
  };
  engine::PodmanEngine podman(docker::Docker("podman"));
  for (const engine::Engine* engine :
       {&launcher::testing::replay_engine(), static_cast<const engine::Engine*>(&podman)}) {
    const std::string cli(engine->name());
    INFO(cli);
    Questions questions;
    facts::HostQueries queries(questions, *engine);
    queries.docker_version();
    queries.docker_info();
    queries.image_labels("img:1");
    queries.container_inspect("e");
    queries.container_gpu_list("e");
    queries.image_package_record("img:1", "/opt/launcher/packages.json");
    const std::vector<std::pair<std::string, std::vector<std::string>>> expected{
        {"docker-version.json", {cli, "version", "--format", "{{json .}}"}},
        {"docker-info.json", {cli, "info", "--format", "{{json .}}"}},
        {"docker-image-labels.json", {cli, "image", "inspect", "--format", "{{json .Config.Labels}}", "img:1"}},
        {"docker-container-inspect.json", {cli, "container", "inspect", "--format", "{{json .}}", "e"}},
        {"docker-exec-nvidia-smi-L.txt", {cli, "exec", "e", "nvidia-smi", "-L"}},
        {"docker-image-packages.json",
         {cli, "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "cat", "img:1",
          "/opt/launcher/packages.json"}},
    };
    CHECK(questions.asked == expected);
  }
}

TEST_CASE("live engine facts go through docker::Docker and keep the fact source's limit and exit codes",
          "[doctor][facts]") {
  using std::chrono::seconds;
  std::vector<std::vector<std::string>> asked;
  std::vector<std::optional<std::chrono::milliseconds>> limits;
  std::function<void()> fail;
  engine::PodmanEngine engine(
      docker::Docker("podman", [&](const std::vector<std::string>& argv, const process::ProcessOptions& options) {
        asked.push_back(argv);
        limits.push_back(options.timeout);
        if (fail) fail();
        return process::ProcessResult{0, "{}", ""};
      }));
  facts::LiveFactSource live;
  live.timeout = seconds(5);
  facts::HostQueries queries(live, engine);

  CHECK(queries.docker_info().ok());
  CHECK(queries.container_gpu_list("lab").ok());
  CHECK(asked == std::vector<std::vector<std::string>>{{"podman", "info", "--format", "{{json .}}"},
                                                       {"podman", "exec", "lab", "nvidia-smi", "-L"}});
  // The exec's own limit in docker::call_limit is 300 s: the fact source's shorter one wins.
  CHECK(limits == std::vector<std::optional<std::chrono::milliseconds>>{seconds(5), seconds(5)});

  fail = [] { throw process::TimedOut("podman info", seconds(5)); };
  CHECK(queries.docker_info().exit_code == 124);
  fail = [] { throw process::SpawnFailed("failed to run podman: not found on PATH", ENOENT); };
  facts::Fact missing = queries.docker_version();
  CHECK(missing.exit_code == 127);
  CHECK(missing.err == "failed to run podman: not found on PATH");
}
