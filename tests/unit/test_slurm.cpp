#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"
#include "process/process.hpp"
#include "profile/catalog.hpp"
#include "slurm/job.hpp"
#include "slurm/output.hpp"
#include "slurm/script.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using nlohmann::json;
using testing::builtin_plan;
using testing::check_golden;

namespace {

const std::string image_id = "sha256:7882b756c45149d442f5473f886f92b07b1446e8560a702b9d963fbaad291dad";
const std::string repo_digest = "sha256:" + std::string(64, 'a');
const std::string job_env_file = "/home/alice/project/.launcher-project-shell-a1B2c3.env";

// The built-in shell profile as a batch job: odd characters in the command and the mounts.
slurm::Job cpu_job(slurm::Runtime runtime, slurm::PinnedImage image) {
  plan::Plan plan = builtin_plan("shell", 0);
  plan.service = "command";
  plan.command = {"train.py", "--note", "it's a #test; $HOME"};
  plan.mounts.push_back({"/data/my sets/o'brien", "/data", true});
  plan.environment["NCCL_DEBUG"] = "INFO"; // the profile's env wins over the defaults
  slurm::JobRequest request;
  request.nodes = 2;
  request.procs_per_node = 2;
  request.command = plan.command;
  return {"shell", plan, request, {runtime, false}, std::move(image), job_env_file};
}

slurm::PinnedImage local_image() {
  return {slurm::PinnedImage::Kind::image_id, "pytorch-cpu:1.13.0a0-debian12", image_id};
}
slurm::PinnedImage registry_image() {
  return {slurm::PinnedImage::Kind::repo_digest, "registry.example.com:5000/team/pytorch:2.7.1", repo_digest};
}

template <typename Function>
void require_error_containing(Function function, ExitCode code, const std::string& message) {
  try {
    function();
    FAIL("no error; expected: " << message);
  } catch (const Error& error) {
    CHECK(error.code() == code);
    CHECK_THAT(error.what(), Catch::Contains(message));
  }
}

} // namespace

TEST_CASE("golden: a CPU job on docker nodes, pinned by the local image ID", "[slurm][golden]") {
  check_golden("slurm-docker-cpu.sh", slurm::render_script(cpu_job(slurm::Runtime::docker, local_image())));
}

TEST_CASE("golden: a GPU job on docker nodes, pinned by a repo digest, nodes may pull", "[slurm][golden]") {
  slurm::Job job = cpu_job(slurm::Runtime::docker, registry_image());
  job.request.procs_per_node.reset();
  job.request.gpus_per_node = 4;
  job.request.partition = "gpu";
  job.request.time = "02:00:00";
  job.request.account = "team-a";
  job.cluster.pull = true;
  check_golden("slurm-docker-gpu.sh", slurm::render_script(job));
}

TEST_CASE("golden: a job on pyxis nodes: '#' before the image path, quoted mounts and command", "[slurm][golden]") {
  check_golden("slurm-pyxis.sh", slurm::render_script(cpu_job(slurm::Runtime::pyxis, registry_image())));
}

TEST_CASE("the docker script uses the node's network and only the allocated GPUs, never all", "[slurm]") {
  slurm::Job job = cpu_job(slurm::Runtime::docker, local_image());
  job.request.procs_per_node.reset();
  job.request.gpus_per_node = 2;
  std::string script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("--network host"));
  CHECK_THAT(script, Catch::Contains("--gpus \"\\\"device=$gpus\\\"\""));
  CHECK_THAT(script, !Catch::Contains("--gpus all"));
  CHECK_THAT(script, !Catch::Contains("NVIDIA_VISIBLE_DEVICES=void"));
  CHECK_THAT(script, !Catch::Contains("--publish"));
  CHECK_THAT(script, Catch::Contains("--nproc_per_node=2"));
}

TEST_CASE("pyxis cannot express what it has no syntax for", "[slurm]") {
  require_error_containing([] { slurm::render_script(cpu_job(slurm::Runtime::pyxis, local_image())); }, ExitCode::usage,
                           "image pytorch-cpu:1.13.0a0-debian12 has no registry digest (its ID here is " + image_id +
                               ")");
  slurm::Job job = cpu_job(slurm::Runtime::pyxis, registry_image());
  job.plan.mounts.push_back({"/data/a,b", "/ab", false});
  require_error_containing([&] { slurm::render_script(job); }, ExitCode::usage,
                           "mount \"/data/a,b\": pyxis's --container-mounts cannot express a path with ',' or ':'");
}

TEST_CASE("an image without a registry keeps its path whole in pyxis's syntax", "[slurm]") {
  slurm::Job job =
      cpu_job(slurm::Runtime::pyxis, {slurm::PinnedImage::Kind::repo_digest, "team/pytorch:1", repo_digest});
  CHECK_THAT(slurm::render_script(job), Catch::Contains("--container-image=team/pytorch@" + repo_digest));
}

TEST_CASE("job requests are checked before Slurm is asked", "[slurm]") {
  slurm::JobRequest request;
  request.command = {"train.py"};
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (--nodes 0): a job needs at least 1 node");
  request.nodes = 2;
  request.gpus_per_node = 2;
  request.procs_per_node = 3;
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (--procs-per-node): a GPU job runs one process per GPU");
  request.procs_per_node.reset();
  request.partition = "gpu large";
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (--partition \"gpu large\"): expected letters, digits and _.:,+=/- only");
  request.partition = "gpu";
  request.command.clear();
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (-- CMD): the command torchrun runs on every node is missing");
  request.command = {"train.py"};
  CHECK_NOTHROW(slurm::check_job_request(request));
  CHECK(slurm::processes_per_node(request) == 2);
  request.gpus_per_node = 0;
  CHECK(slurm::processes_per_node(request) == 1);
  request.procs_per_node = 4;
  CHECK(slurm::processes_per_node(request) == 4);
}

TEST_CASE("a batch job is a command profile's or a shell profile's, without ports", "[slurm]") {
  profile::FieldContext context{"command line (-- CMD)", "/work", "/home/user", nullptr};
  profile::Sourced shell = profile::as_layer({{"service", "shell"}}, "launcher.json", "/profiles/train");
  profile::Sourced layer = slurm::batch_layer(shell, "train", {"train.py"}, context);
  CHECK(layer.fields == json{{"service", "command"}, {"command", {"train.py"}}});
  CHECK(layer.gpus == profile::GpuRequest{profile::GpuRequest::Kind::none, 0, {}});

  profile::Sourced jupyter = profile::as_layer({{"service", "jupyter"}}, "built-in", "/profiles/jupyter");
  require_error_containing(
      [&] { slurm::batch_layer(jupyter, "jupyter", {"train.py"}, context); }, ExitCode::usage,
      "built-in:/profiles/jupyter/service: profile \"jupyter\" runs the jupyter service, which is not a batch job");
  profile::Sourced ported = profile::as_layer(
      {{"service", "shell"},
       {"ports", {{{"host", 6006}, {"container", 6006}, {"bind", "127.0.0.1"}, {"protocol", "tcp"}}}}},
      "launcher.json", "/profiles/train");
  require_error_containing([&] { slurm::batch_layer(ported, "train", {"train.py"}, context); }, ExitCode::usage,
                           "launcher.json:/profiles/train/ports/0: a batch job publishes no ports");
}

TEST_CASE("the profile's slurm settings, with defaults", "[slurm]") {
  CHECK(slurm::cluster_settings(profile::Sourced{}).runtime == slurm::Runtime::docker);
  slurm::ClusterSettings pyxis =
      slurm::cluster_settings(profile::as_layer({{"slurm", {{"runtime", "pyxis"}, {"pull", true}}}}, "f", "/p"));
  CHECK(pyxis.runtime == slurm::Runtime::pyxis);
  CHECK(pyxis.pull);
  require_error_containing(
      [] {
        testing::dev_profile({{"slurm", {{"runtime", "enroot"}}}});
      },
      ExitCode::usage, "/slurm/runtime: expected \"docker\" | \"pyxis\", found \"enroot\"");
}

namespace {

// Runs the script's rendezvous lines in bash with a fake `scontrol` (and `timeout`, when given)
// first on PATH, as the batch step of job 40001 on nodes n7 and n8; prints LAUNCHER_RENDEZVOUS.
process::ProcessResult run_rendezvous(const testing::TempDir& dir, const std::string& node_line,
                                      const std::string& timeout_program = "") {
  dir.write("bin/scontrol", "#!/bin/sh\ncase \"$1 $2\" in\n  'show hostnames') echo n7; echo n8 ;;\n"
                            "  'show node') echo \"" +
                                node_line + "\" ;;\nesac\n");
  if (!timeout_program.empty()) dir.write("bin/timeout", timeout_program);
  for (const auto& program : {"scontrol", "timeout"})
    if (std::filesystem::exists(dir.path / "bin" / program))
      std::filesystem::permissions(dir.path / "bin" / program, std::filesystem::perms::owner_all);
  // The fakes go first on PATH inside the script: a second PATH in the environment would lose to ours.
  process::ProcessOptions options;
  options.extra_env = {"FAKE_BIN=" + (dir.path / "bin").string(), "SLURM_JOB_NODELIST=n[7-8]", "SLURM_JOB_ID=40001"};
  return process::run_process(
      {"bash", "-c",
       "set -euo pipefail\nPATH=$FAKE_BIN:$PATH\n" + slurm::rendezvous_block() + "echo \"$LAUNCHER_RENDEZVOUS\"\n"},
      options);
}

} // namespace

TEST_CASE("the rendezvous: the first node's NodeAddr and a port drawn at random, not from the job id", "[slurm]") {
  testing::TempDir dir;
  std::set<int> ports;
  for (int run = 0; run < 3; ++run) {
    process::ProcessResult result =
        run_rendezvous(dir, "NodeName=n7 Arch=x86_64 NodeAddr=127.0.0.1 NodeHostName=host7 Port=0");
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    REQUIRE(starts_with(result.out, "127.0.0.1:"));
    int port = std::stoi(result.out.substr(std::string("127.0.0.1:").size()));
    CHECK(port >= slurm::rendezvous_port_first);
    CHECK(port < slurm::rendezvous_port_first + slurm::rendezvous_port_count);
    ports.insert(port);
  }
  // Three draws from 12768 ports all alike: one chance in 10^8, or a port that is not drawn.
  CHECK(ports.size() > 1);
  std::string script = slurm::rendezvous_block();
  CHECK(script.find("SLURM_JOB_ID") == std::string::npos);
  CHECK(script.find("/dev/urandom") != std::string::npos);
}

TEST_CASE("the rendezvous: the node's name where Slurm knows no address", "[slurm]") {
  testing::TempDir dir;
  process::ProcessResult result = run_rendezvous(dir, "NodeName=n7 Arch=x86_64 State=IDLE");
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(starts_with(result.out, "n7:"));
}

TEST_CASE("the rendezvous: a port that answers is drawn again, and 100 that answer stop the job", "[slurm]") {
  testing::TempDir dir;
  // A `timeout` under which every connection succeeds: every port drawn is in use.
  process::ProcessResult result =
      run_rendezvous(dir, "NodeName=n7 NodeAddr=127.0.0.1 State=IDLE", "#!/bin/sh\nexit 0\n");
  CHECK(result.exit_code == 1);
  CHECK(result.out.empty());
  CHECK(result.err == "launcher: 100 random ports on 127.0.0.1 were all in use; no rendezvous port for torchrun\n");
}

TEST_CASE("sbatch --parsable's answer", "[slurm][parse]") {
  CHECK(slurm::parse_submitted_job_id("42\n") == 42);
  CHECK(slurm::parse_submitted_job_id("42;cluster\n") == 42);
  require_error_containing([] { slurm::parse_submitted_job_id("Submitted batch job 42"); }, ExitCode::failed,
                           "sbatch --parsable printed \"Submitted batch job 42\", not a job id");
  CHECK(slurm::is_job_id("123"));
  CHECK_FALSE(slurm::is_job_id("12a"));
  CHECK_FALSE(slurm::is_job_id(""));
  CHECK_FALSE(slurm::is_job_id(std::string(19, '1')));
}

TEST_CASE("squeue's rows: only the launcher's jobs", "[slurm][parse]") {
  auto rows = slurm::parse_job_rows("7|RUNNING|2|n[1-2]|launcher-demo-shell|launcher-image=" + image_id +
                                    "\n8|PENDING|1||other|(null)\n\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == 7);
  CHECK(rows[0].state == "RUNNING");
  CHECK(rows[0].nodes == 2);
  CHECK(rows[0].node_list == "n[1-2]");
  CHECK(rows[0].name == "launcher-demo-shell");
  CHECK(rows[0].image == image_id);
  require_error_containing([] { slurm::parse_job_rows("7|RUNNING"); }, ExitCode::failed,
                           "squeue printed \"7|RUNNING\", expected %i|%T|%D|%N|%j|%k");
  require_error_containing([] { slurm::parse_job_rows("x|RUNNING|2|n1|j|launcher-image=a"); }, ExitCode::failed,
                           "expected a job id and a node count");
}

TEST_CASE("GPUs per node from sinfo's GRES", "[slurm][parse]") {
  CHECK(slurm::max_gpus_per_node("(null)\n") == 0);
  CHECK(slurm::max_gpus_per_node("gpu:4\n") == 4);
  CHECK(slurm::max_gpus_per_node("gpu:a100:8(S:0-1)\ngpu:2\n") == 8);
  CHECK(slurm::max_gpus_per_node("gpu:a100:2,gpu:v100:1\n") == 3);
  CHECK(slurm::max_gpus_per_node("gpu:a100:2(S:0,1),nic:1\n") == 2);
  CHECK(slurm::max_gpus_per_node("") == 0);
}

TEST_CASE("scontrol's fields, paths with spaces included", "[slurm][parse]") {
  std::string line = "JobId=7 JobName=launcher-x StdErr=/home/u/my runs/slurm-7.out StdIn=/dev/null "
                     "StdOut=/home/u/my runs/slurm-7.out Power=";
  CHECK(slurm::scontrol_field(line, "StdOut") == "/home/u/my runs/slurm-7.out");
  CHECK(slurm::scontrol_field(line, "JobId") == "7");
  CHECK(slurm::scontrol_field(line, "Power") == "");
  CHECK_FALSE(slurm::scontrol_field(line, "WorkDir"));
}

TEST_CASE("Slurm's reason, without the client's prefix", "[slurm][parse]") {
  CHECK(
      slurm::slurm_reason("sbatch: error: invalid partition specified: x\nsbatch: error: Batch job submission failed: "
                          "Invalid partition name specified\n") ==
      "invalid partition specified: x; Batch job submission failed: Invalid partition name specified");
  CHECK(slurm::slurm_reason("") == "no reason given");
}

TEST_CASE("a job's env values are in no script, function or argv: the nodes read the job's 0600 file", "[slurm][env]") {
  const std::string secret = "hf_s3cr3t-value-4711";
  for (slurm::Runtime runtime : {slurm::Runtime::docker, slurm::Runtime::pyxis}) {
    slurm::Job job = cpu_job(runtime, registry_image());
    job.plan.environment["HF_TOKEN"] = secret;
    std::string script = slurm::render_script(job);
    CHECK(script.find(secret) == std::string::npos);
    CHECK(script.find("NCCL_DEBUG=INFO") == std::string::npos); // a value the profile set
    CHECK(script.find("export LAUNCHER_ENV_FILE=" + job_env_file +
                      "\n"
                      "trap 'rm -f -- \"$LAUNCHER_ENV_FILE\"' EXIT\n"
                      "trap 'exit 143' TERM INT\n") != std::string::npos);
    if (runtime == slurm::Runtime::docker) {
      CHECK(script.find(" \\\n    --env-file \"$LAUNCHER_ENV_FILE\" \\\n    \"$run_reference\"") != std::string::npos);
      CHECK(
          script.find("  if [[ ! -r $LAUNCHER_ENV_FILE ]]; then\n"
                      "    echo \"launcher: node $node: cannot read $LAUNCHER_ENV_FILE, the job's env file; the job's "
                      "working \" \\\n      \"directory must be on a filesystem every node shares\" >&2\n") !=
          std::string::npos);
      // The defaults the profile leaves stay options; NCCL_DEBUG is the profile's.
      CHECK(script.find("--env OMP_NUM_THREADS=1") != std::string::npos);
      CHECK(script.find("--env NCCL_DEBUG") == std::string::npos);
    } else {
      CHECK(script.find(
                "while IFS= read -r line; do export \"${line%%=*}=${line#*=}\"; done <\"$LAUNCHER_ENV_FILE\"\n") !=
            std::string::npos);
      CHECK(script.find("--container-env=HF_TOKEN,NCCL_ASYNC_ERROR_HANDLING,NCCL_DEBUG,OMP_NUM_THREADS,") !=
            std::string::npos);
      CHECK(script.find("export OMP_NUM_THREADS=1\n") != std::string::npos);
    }
  }
}

TEST_CASE("a job whose profile sets no env names no env file", "[slurm][env]") {
  for (slurm::Runtime runtime : {slurm::Runtime::docker, slurm::Runtime::pyxis}) {
    slurm::Job job = cpu_job(runtime, registry_image());
    job.plan.environment.clear();
    std::string script = slurm::render_script(job);
    CHECK(script.find("LAUNCHER_ENV_FILE") == std::string::npos);
    CHECK(script.find("--env-file") == std::string::npos);
    CHECK(script.find("NCCL_DEBUG=WARN") != std::string::npos);
  }
}

TEST_CASE("the job's env file is a hidden mkstemps template in the job's working directory", "[slurm][env]") {
  plan::Plan plan = builtin_plan("shell", 0);
  CHECK(slurm::env_file_template("/home/alice/project", plan) ==
        "/home/alice/project/.launcher-project-shell-XXXXXX.env");
  CHECK(slurm::env_file_template("/", plan) == "/.launcher-project-shell-XXXXXX.env");
}
