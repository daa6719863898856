#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/text.hpp"
#include "engine/docker_engine.hpp"
#include "export/export.hpp"
#include "fake_docker.hpp"
#include "process/process.hpp"
#include "profile/catalog.hpp"
#include "profile/slurm_time.hpp"
#include "slurm/job.hpp"
#include "slurm/output.hpp"
#include "slurm/script.hpp"
#include "slurm/sif.hpp"
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
  plan.service = plan::Service::command;
  plan.command = {"train.py", "--note", "it's a #test; $HOME"};
  plan.mounts.push_back({"/data/my sets/o'brien", "/data", true});
  plan.environment["NCCL_DEBUG"] = "INFO"; // the profile's env wins over the defaults
  slurm::JobRequest request;
  request.nodes = 2;
  request.procs_per_node = 2;
  request.command = plan.command;
  slurm::ClusterSettings cluster;
  cluster.runtime = runtime;
  cluster.sif_cache = "/shared/sif";
  return {"shell",
          plan,
          request,
          cluster,
          std::move(image),
          job_env_file,
          {"01:00:00", "partition debug's DefaultTime"},
          slurm::NodeDecided{},
          plan.user.uid};
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

TEST_CASE("GPUs through CDI on the submitting host are still the node's to decide", "[slurm][cdi]") {
  slurm::Job job = cpu_job(slurm::Runtime::docker, local_image());
  job.request.procs_per_node.reset();
  job.request.gpus_per_node = 2;
  job.plan.gpus = {plan::GpuAssignment::Kind::devices, {"0", "1"}};
  job.plan.gpu_runtime = host::GpuRuntime::cdi;
  std::string script = slurm::render_script(job);
  CHECK_THAT(script, !Catch::Contains("nvidia.com/gpu="));
  CHECK_THAT(script, Catch::Contains("--gpus \"\\\"device=$gpus\\\"\""));
  CHECK_THAT(script, !Catch::Contains("NVIDIA_VISIBLE_DEVICES=void"));
  slurm::Job pyxis = cpu_job(slurm::Runtime::pyxis, registry_image());
  pyxis.plan.gpu_runtime = host::GpuRuntime::cdi;
  auto dropped = slurm::unexpressed_fields(pyxis);
  CHECK(std::find(dropped.begin(), dropped.end(), "/gpu_runtime") == dropped.end());
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
      ExitCode::usage, "/slurm/runtime: expected \"docker\" | \"pyxis\" | \"apptainer\", found \"enroot\"");
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

TEST_CASE("squeue's rows: only the launcher's jobs, comments of old jobs included", "[slurm][parse]") {
  auto rows =
      slurm::parse_job_rows("7|RUNNING|2|n[1-2]|launcher-demo-shell|2026-12-07T01:46:33|launcher-image=" + image_id +
                            "\n8|PENDING|1||other|N/A|(null)\n\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == 7);
  CHECK(rows[0].state == "RUNNING");
  CHECK(rows[0].nodes == 2);
  CHECK(rows[0].node_list == "n[1-2]");
  CHECK(rows[0].name == "launcher-demo-shell");
  CHECK(rows[0].image == image_id);
  CHECK(rows[0].end == "2026-12-07T01:46:33");
  require_error_containing([] { slurm::parse_job_rows("7|RUNNING"); }, ExitCode::failed,
                           "squeue printed \"7|RUNNING\", expected %i|%T|%D|%N|%j|%e|%k");
  require_error_containing([] { slurm::parse_job_rows("x|RUNNING|2|n1|j|N/A|launcher-image=a"); }, ExitCode::failed,
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

TEST_CASE("a job's time limit: --time, then the profile's, then the partition's DefaultTime, then its MaxTime",
          "[slurm][time]") {
  const std::string partitions =
      "PartitionName=debug AllowGroups=ALL Default=YES DefaultTime=00:30:00 MaxTime=UNLIMITED State=UP\n"
      "PartitionName=gpu Default=NO DefaultTime=NONE MaxTime=2-00:00:00 State=UP\n"
      "PartitionName=open Default=NO DefaultTime=NONE MaxTime=UNLIMITED State=UP\n";
  slurm::JobRequest request;
  slurm::ClusterSettings cluster;
  auto limit = [&] {
    return slurm::job_time_limit(request, cluster, "launcher.json:/profiles/train/slurm/time", partitions);
  };
  CHECK(limit().value == "00:30:00");
  CHECK(limit().origin == "partition debug's DefaultTime");
  request.partition = "gpu";
  CHECK(limit().value == "2-00:00:00");
  CHECK(limit().origin == "partition gpu's MaxTime");
  request.partition = "open";
  require_error_containing(limit, ExitCode::usage,
                           "partition open sets no time limit (DefaultTime and MaxTime are unlimited): a job whose "
                           "node hangs would hold every node forever; give --time, like --time 02:00:00, or the "
                           "profile's \"slurm\": {\"time\": \"02:00:00\"}");
  cluster.time = "04:00:00";
  CHECK(limit().value == "04:00:00");
  CHECK(limit().origin == "launcher.json:/profiles/train/slurm/time");
  request.time = "10";
  CHECK(limit().value == "10");
  CHECK(limit().origin == "--time");

  request = {};
  cluster = {};
  request.partition = "nosuch";
  require_error_containing(limit, ExitCode::usage, "command line (--partition nosuch): Slurm has no such partition");
  request.partition.clear();
  require_error_containing([&] { slurm::job_time_limit(request, cluster, "", "PartitionName=a Default=NO\n"); },
                           ExitCode::usage, "Slurm names no default partition: give --partition");
}

TEST_CASE("time limits in the forms sbatch takes, bounded", "[slurm][time]") {
  for (const char* limit : {"30", "30:00", "02:00:00", "1-0", "1-12:00", "7-00:00:00"})
    CHECK(profile::is_slurm_time_limit(limit));
  for (const char* limit : {"", "2h", "UNLIMITED", "INFINITE", "-1", "1:2:3:4", "1-", "12345678"})
    CHECK_FALSE(profile::is_slurm_time_limit(limit));
  slurm::JobRequest request;
  request.nodes = 1;
  request.command = {"train.py"};
  request.time = "2h";
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (--time \"2h\"): expected a Slurm time limit: MINUTES, "
                           "HOURS:MINUTES:SECONDS or DAYS-HOURS[:MINUTES[:SECONDS]], like \"02:00:00\"");
  require_error_containing(
      [] {
        testing::dev_profile({{"slurm", {{"time", "UNLIMITED"}}}});
      },
      ExitCode::usage, "/slurm/time: expected a Slurm time limit: MINUTES, HOURS:MINUTES:SECONDS");
  require_error_containing(
      [] {
        testing::dev_profile({{"slurm", {{"max_restarts", -1}}}});
      },
      ExitCode::usage, "/slurm/max_restarts: expected 0-100 restarts of torchrun's workers, found -1");
}

TEST_CASE("the script states the time limit and its origin, and torchrun's restarts", "[slurm][time]") {
  slurm::Job job = cpu_job(slurm::Runtime::docker, local_image());
  std::string script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("#SBATCH --time=01:00:00\n"));
  CHECK_THAT(script, Catch::Contains("# Time limit: 01:00:00, from partition debug's DefaultTime.\n"));
  CHECK_THAT(script, Catch::Contains(" --max_restarts=0 "));
  job.cluster.max_restarts = 3;
  job.time = {"", "the partition's DefaultTime or MaxTime, which Slurm could not be asked for here (x)"};
  for (slurm::Runtime runtime : {slurm::Runtime::docker, slurm::Runtime::pyxis}) {
    job.cluster.runtime = runtime;
    job.image = registry_image();
    script = slurm::render_script(job);
    CHECK_THAT(script, Catch::Contains(" --max_restarts=3 "));
    CHECK_THAT(script, !Catch::Contains("#SBATCH --time"));
    CHECK_THAT(script, Catch::Contains("# Time limit: the partition's DefaultTime or MaxTime, which Slurm could not"));
  }
}

TEST_CASE("a node's part that fails, or whose step daemon dies, ends the job on every node", "[slurm]") {
  std::string script = slurm::render_script(cpu_job(slurm::Runtime::docker, local_image()));
  // The node watches its slurmstepd (the task's parent) and removes its container when it is gone.
  CHECK_THAT(script, Catch::Contains("  { tail --pid=\"$PPID\" -f /dev/null >/dev/null\n"
                                     "    docker rm --force \"$container\" >/dev/null 2>&1 || true\n"
                                     "    end_job \"Slurm's step daemon on this node is gone\"\n"));
  CHECK_THAT(script, Catch::Contains("  if [[ $1 -ne 0 && $1 -ne 143 ]]; then end_job \"torchrun exited $1\"; fi\n"));
  CHECK_THAT(script, Catch::Contains(
                         "  trap '' PIPE\n  scancel --batch --signal=USR1 \"$SLURM_JOB_ID\" 2>/dev/null || true\n"));
  // The batch script does not wait for srun alone.
  CHECK_THAT(script, Catch::Contains("trap 'node_failed=1' USR1\nsrun --nodes=2 --ntasks-per-node=1 "
                                     "--kill-on-bad-exit=1 bash -c 'set -euo pipefail; run_on_node' &\n"));
  CHECK_THAT(script, Catch::Contains("  scancel --signal=TERM \"$SLURM_JOB_ID.1\" 2>/dev/null || true\n"
                                     "  for _ in $(seq 15); do kill -0 \"$step\" 2>/dev/null || break; sleep 1; done\n"
                                     "  kill -KILL \"$step\" 2>/dev/null || true\n"));
}

TEST_CASE("the watched step: a node's USR1 ends the script with 1 once srun has ended, and srun's status otherwise",
          "[slurm]") {
  auto run_step = [](const std::string& fake_srun) {
    return process::run_process(
        {"bash", "-c", "set -euo pipefail\nSLURM_JOB_ID=7\nscancel() { :; }\n" + slurm::watched_step(fake_srun, 1)});
  };
  // A node signals the batch script (as end_job does), and srun ends the step by itself.
  process::ProcessResult failed = run_step("bash -c 'kill -USR1 $PPID; sleep 0.5; exit 0'");
  CHECK(failed.exit_code == 1);
  CHECK(failed.err == "launcher: a node's part of job 7 failed; the job ends on every node\n");
  CHECK(run_step("bash -c 'exit 3'").exit_code == 3);
  CHECK(run_step("true").exit_code == 0);
}

namespace {

// The node's options as the node_values_block computes them, in bash with this environment.
std::vector<std::string> node_options(const slurm::Job& job, const std::vector<std::string>& environment) {
  process::ProcessOptions options;
  options.extra_env = environment;
  process::ProcessResult result = process::run_process({"bash", "-c",
                                                        "set -euo pipefail\nf() {\n" + slurm::node_values_block(job) +
                                                            "  printf '%s\\n' \"${node_options[@]}\"\n}\nf\n"},
                                                       options);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return split(result.out.substr(0, result.out.size() - 1), '\n');
}

} // namespace

TEST_CASE("node values come from the node: its CPUs, the job's memory there, /dev/shm and memlock", "[slurm][node]") {
  slurm::Job job = cpu_job(slurm::Runtime::docker, local_image());
  job.plan.memory_bytes.reset(); // as submit leaves it when the profile sets no memory
  std::string script = slurm::render_script(job);
  // Not the submitting host's (the test plan's 28g and unlimited memlock are the host's).
  CHECK_THAT(script, !Catch::Contains("--shm-size 28g"));
  CHECK_THAT(script, !Catch::Contains("--ulimit memlock=-1:-1"));
  CHECK_THAT(script, Catch::Contains("\"${hosts[@]}\" \"${node_options[@]}\""));

  std::vector<std::string> options = node_options(job, {"SLURM_MEM_PER_NODE=4096", "SLURM_CPUS_ON_NODE=2"});
  REQUIRE(options.size() == 10);
  CHECK(options[0] == "--cpuset-cpus");
  CHECK(options[1].find_first_not_of("0123456789,-") == std::string::npos);
  CHECK(std::vector<std::string>(options.begin() + 2, options.begin() + 8) ==
        std::vector<std::string>{"--memory", "4096m", "--memory-swap", "4096m", "--shm-size", "2048m"});
  CHECK(options[8] == "--ulimit");
  CHECK_THAT(options[9], Catch::Matches("memlock=(-1:-1|[0-9]+:[0-9]+)"));

  options = node_options(job, {"SLURM_MEM_PER_CPU=1000", "SLURM_CPUS_ON_NODE=3"});
  CHECK(std::vector<std::string>(options.begin() + 2, options.begin() + 8) ==
        std::vector<std::string>{"--memory", "3000m", "--memory-swap", "3000m", "--shm-size", "1500m"});

  // No memory from Slurm: no limit, /dev/shm half of the node's memory.
  options = node_options(job, {"SLURM_CPUS_ON_NODE=1"});
  REQUIRE(options.size() == 6);
  CHECK(options[2] == "--shm-size");
  CHECK_THAT(options[3], Catch::Matches("[1-9][0-9]*m"));

  // What the profile sets is the profile's, on every node.
  job.node_decided = {false, false};
  job.plan.memory_bytes = 8ULL << 30;
  options = node_options(job, {"SLURM_MEM_PER_NODE=4096", "SLURM_CPUS_ON_NODE=2"});
  CHECK(options.size() == 2);
  script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("--shm-size 28g"));
  CHECK_THAT(script, Catch::Contains("--ulimit memlock=-1:-1"));
  CHECK_THAT(script, Catch::Contains("--memory 8g"));
}

TEST_CASE("squeue's rows: by job id, with the tag the profile named", "[slurm][parse]") {
  auto rows =
      slurm::parse_job_rows("12|RUNNING|2|n[1-2]|launcher-a|N/A|" + slurm::job_comment(local_image()) +
                            "\n9|COMPLETED|1|n1|launcher-b|2026-12-07T01:26:33|launcher-image=" + repo_digest + "\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == 9);
  CHECK(rows[0].image == repo_digest);
  CHECK(rows[0].tag.empty());
  CHECK(rows[1].id == 12);
  CHECK(rows[1].image == image_id);
  CHECK(rows[1].tag == "pytorch-cpu:1.13.0a0-debian12");
  CHECK(slurm::job_comment(local_image()) == "launcher-image=" + image_id + ",tag=pytorch-cpu:1.13.0a0-debian12");
  CHECK(slurm::is_launcher_comment(slurm::job_comment(registry_image()) + "\n"));
  CHECK_FALSE(slurm::is_launcher_comment("(null)\n"));
  CHECK_FALSE(slurm::is_launcher_comment(""));
}

TEST_CASE("a job's output goes to the user's state directory unless --output says", "[slurm]") {
  CHECK(slurm::job_output_pattern("/home/alice/.local/state") == "/home/alice/.local/state/launcher/slurm/%x-%j.out");
  CHECK(slurm::job_output_directory("/tmp/state/") == "/tmp/state/launcher/slurm");
  slurm::Job job = cpu_job(slurm::Runtime::docker, local_image());
  job.request.output = "/shared/out/%x-%j.out";
  CHECK_THAT(slurm::render_script(job), Catch::Contains("#SBATCH --output=/shared/out/%x-%j.out\n"));
  slurm::JobRequest request;
  request.nodes = 1;
  request.command = {"train.py"};
  request.output = "/home/my runs/%j.out";
  require_error_containing([&] { slurm::check_job_request(request); }, ExitCode::usage,
                           "command line (--output \"/home/my runs/%j.out\"): expected letters, digits and _.:,+=/-% "
                           "only (sbatch's #SBATCH lines are not quoted)");
}

TEST_CASE("pyxis maps what it can: memory to --mem, a read-only root, root, volumes to create", "[slurm]") {
  slurm::Job job = cpu_job(slurm::Runtime::pyxis, registry_image());
  job.plan.memory_bytes = 8ULL << 30;
  job.plan.read_only_root = true;
  job.plan.user.uid = 0;
  job.plan.create_directories = {"/data/new runs"};
  std::string script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("#SBATCH --mem=8192M\n"));
  CHECK_THAT(script, Catch::Contains("mkdir -p '/data/new runs'\nsrun "));
  CHECK_THAT(script, Catch::Contains("  --container-readonly \\\n  --container-remap-root \\\n"));
  job.plan.memory_bytes.reset();
  job.plan.read_only_root = false;
  job.plan.user.uid = 1000;
  job.plan.create_directories.clear();
  script = slurm::render_script(job);
  CHECK_THAT(script, !Catch::Contains("--mem="));
  CHECK_THAT(script, !Catch::Contains("mkdir -p"));
  CHECK_THAT(script, !Catch::Contains("--container-readonly"));
  CHECK_THAT(script, !Catch::Contains("--container-remap-root"));
  // The docker runtime bounds the container itself.
  job.cluster.runtime = slurm::Runtime::docker;
  job.plan.memory_bytes = 8ULL << 30;
  CHECK_THAT(slurm::render_script(job), !Catch::Contains("--mem="));
}

TEST_CASE("golden: a job on apptainer nodes: the SIF of the digest, binds, env by name, the watched step",
          "[slurm][golden]") {
  check_golden("slurm-apptainer.sh", slurm::render_script(cpu_job(slurm::Runtime::apptainer, local_image())));
}

TEST_CASE("apptainer: --nv and Slurm's GPUs for a GPU job, --fakeroot for root, no overlay for a read-only root",
          "[slurm]") {
  slurm::Job job = cpu_job(slurm::Runtime::apptainer, registry_image());
  CHECK(slurm::sif_path(job.cluster, job.image) == "/shared/sif/" + std::string(64, 'a') + ".sif");
  std::string script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("apptainer exec --containall --cleanenv --writable-tmpfs --bind "));
  CHECK_THAT(script, !Catch::Contains("--nv"));
  CHECK_THAT(script, !Catch::Contains("--fakeroot"));
  CHECK_THAT(script, !Catch::Contains("CUDA_VISIBLE_DEVICES"));
  // torchrun's words are expanded inside, where --cleanenv leaves only what is handed over.
  CHECK_THAT(script, Catch::Contains("  export APPTAINERENV_SLURM_NODEID=$SLURM_NODEID "
                                     "APPTAINERENV_SLURM_JOB_ID=$SLURM_JOB_ID\n"
                                     "  export APPTAINERENV_LAUNCHER_RENDEZVOUS=$LAUNCHER_RENDEZVOUS\n"));
  job.request.procs_per_node.reset();
  job.request.gpus_per_node = 4;
  job.plan.user.uid = 0;
  job.plan.read_only_root = true;
  job.plan.memory_bytes = 8ULL << 30;
  script = slurm::render_script(job);
  CHECK_THAT(script, Catch::Contains("apptainer exec --containall --cleanenv --nv --fakeroot --bind "));
  CHECK_THAT(script, Catch::Contains("export APPTAINERENV_CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"));
  CHECK_THAT(script, Catch::Contains("#SBATCH --mem=8192M\n"));
  CHECK_THAT(script, Catch::Contains("--nproc_per_node=4"));
  job.plan.mounts.push_back({"/data/a:b", "/ab", false});
  require_error_containing([&] { slurm::render_script(job); }, ExitCode::usage,
                           "mount \"/data/a:b\": apptainer's --bind cannot express a path with ',' or ':'");
}

TEST_CASE("apptainer needs a SIF cache every node shares", "[slurm]") {
  require_error_containing(
      [] {
        slurm::cluster_settings(profile::as_layer({{"slurm", {{"runtime", "apptainer"}}}}, "f", "/p"));
      },
      ExitCode::usage,
      ": the apptainer runtime needs \"sif_cache\", a directory every node shares where the image is built as a SIF, "
      "like \"slurm\": {\"runtime\": \"apptainer\", \"sif_cache\": \"/shared/sif\"}");
  // A relative sif_cache is the profile file's directory's.
  profile::ProfileSource source = testing::dev_profile({{"slurm", {{"runtime", "apptainer"}, {"sif_cache", "sifs"}}}});
  slurm::ClusterSettings settings = slurm::cluster_settings(source.profiles.at("dev"));
  CHECK(settings.runtime == slurm::Runtime::apptainer);
  CHECK(settings.sif_cache == "/home/alice/project/sifs");
}

namespace {

// A plan field set to ask for something, and the field a runtime that cannot express it names.
struct FieldAsk {
  std::string field;
  std::function<void(slurm::Job&)> ask;
};

const std::vector<FieldAsk>& user_namespace_refusals() {
  static const std::vector<FieldAsk> asks{
      {"/access/secrets_dir", [](slurm::Job& job) { job.plan.access.secrets_dir = "/home/alice/.secrets"; }},
      {"/access/ssh_password", [](slurm::Job& job) { job.plan.access.ssh_password = true; }},
      {"/idle", [](slurm::Job& job) { job.plan.self_stop.idle_seconds = 600; }},
      {"/ipc", [](slurm::Job& job) { job.plan.ipc = plan::Ipc::host; }},
      {"/labels/team", [](slurm::Job& job) { job.plan.labels["team"] = "vision"; }},
      {"/max_age", [](slurm::Job& job) { job.plan.self_stop.max_age_seconds = 3600; }},
      {"/privileged", [](slurm::Job& job) { job.plan.privileged = true; }},
      {"/resources/cpu_shares", [](slurm::Job& job) { job.plan.cpu_shares = 512; }},
      {"/resources/cpus", [](slurm::Job& job) { job.plan.cpus = 4; }},
      {"/resources/cpuset_cpus", [](slurm::Job& job) { job.plan.cpuset_cpus = "0-3"; }},
      {"/resources/cpuset_mems", [](slurm::Job& job) { job.plan.cpuset_mems = "0"; }},
      {"/resources/pids_limit", [](slurm::Job& job) { job.plan.pids_limit = 4096; }},
      {"/shm_size",
       [](slurm::Job& job) {
         job.plan.shm_size_bytes = 1LL << 30;
         job.node_decided.shm_size = false;
       }},
      {"/ulimits/memlock", [](slurm::Job& job) { job.node_decided.memlock = false; }},
      {"/ulimits/nofile",
       [](slurm::Job& job) {
         job.plan.ulimits.push_back({"nofile", 1024, 4096});
       }},
      {"/user/sudo", [](slurm::Job& job) { job.plan.user.sudo = true; }},
      {"/user/uid", [](slurm::Job& job) { job.plan.user.uid = job.submitter_uid + 1; }},
  };
  return asks;
}

// The job of cpu_job with nothing the runtime cannot express: pids and ulimits the built-in profile sets are taken out.
slurm::Job expressible_job(slurm::Runtime runtime) {
  slurm::Job job = cpu_job(runtime, registry_image());
  job.plan.pids_limit.reset();
  job.plan.ulimits.erase(std::remove_if(job.plan.ulimits.begin(), job.plan.ulimits.end(),
                                        [](const plan::Ulimit& limit) { return limit.name != "memlock"; }),
                         job.plan.ulimits.end());
  return job;
}

} // namespace

TEST_CASE("runtimes as a table: each names every plan field it cannot express, docker none", "[slurm][runtimes]") {
  CHECK(slurm::runtime_name(slurm::Runtime::docker) == "docker");
  CHECK(slurm::runtime_name(slurm::Runtime::pyxis) == "pyxis");
  CHECK(slurm::runtime_name(slurm::Runtime::apptainer) == "apptainer");
  CHECK(slurm::runtime_named("apptainer") == slurm::Runtime::apptainer);
  require_error_containing([] { slurm::runtime_named("singularity"); }, ExitCode::usage,
                           "Slurm runtime \"singularity\": expected one of docker, pyxis, apptainer");
  for (slurm::Runtime runtime : {slurm::Runtime::pyxis, slurm::Runtime::apptainer}) {
    const std::string name = slurm::runtime_name(runtime);
    // What it maps, the launcher's own labels, docker's default CPU weight, the node's /dev/shm and
    // memlock, the submitter and root: nothing to refuse.
    slurm::Job job = expressible_job(runtime);
    job.plan.memory_bytes = 8ULL << 30;
    job.plan.read_only_root = true;
    job.plan.create_directories = {"/data/new"};
    job.plan.labels["io.launcher.project-dir"] = "/home/alice/project";
    CHECK(slurm::unexpressed_fields(job).empty());
    job.plan.user.uid = 0;
    CHECK(slurm::unexpressed_fields(job).empty());
    for (const auto& [field, ask] : user_namespace_refusals()) {
      slurm::Job asking = expressible_job(runtime);
      ask(asking);
      INFO(name << " " << field);
      CHECK(slurm::unexpressed_fields(asking) == std::vector<std::string>{field});
      require_error_containing(
          [&] {
            exporting::refuse_unless_lossy("Slurm runtime " + name, slurm::unexpressed_fields(asking), false,
                                           "submits");
          },
          ExitCode::usage,
          "Slurm runtime " + name + " cannot express the plan's \"" + field.substr(1) +
              "\"; --lossy submits without it");
    }
  }
  // docker run expresses every field of the plan.
  slurm::Job docker = cpu_job(slurm::Runtime::docker, local_image());
  for (const auto& [field, ask] : user_namespace_refusals())
    ask(docker);
  CHECK(slurm::unexpressed_fields(docker).empty());
}

TEST_CASE("submit --lossy goes without what the runtime cannot express and lists it", "[slurm][runtimes]") {
  slurm::Job job = cpu_job(slurm::Runtime::pyxis, registry_image()); // the built-in pids limit and stack ulimit
  std::vector<std::string> dropped = slurm::unexpressed_fields(job);
  CHECK(dropped == std::vector<std::string>{"/resources/pids_limit", "/ulimits/stack"});
  require_error_containing(
      [&] { exporting::refuse_unless_lossy("Slurm runtime pyxis", dropped, false, "submits"); }, ExitCode::usage,
      "Slurm runtime pyxis cannot express the plan's \"resources/pids_limit\", \"ulimits/stack\"; --lossy submits "
      "without them");
  CHECK_NOTHROW(exporting::refuse_unless_lossy("Slurm runtime pyxis", dropped, true, "submits"));
  CHECK(exporting::lossy_warnings(dropped, "the job") ==
        "launcher: warning: left out of the job: the plan's \"resources/pids_limit\" (--lossy)\n"
        "launcher: warning: left out of the job: the plan's \"ulimits/stack\" (--lossy)\n");
}

TEST_CASE("the launcher's own defaults a runtime cannot carry are said, one line each, not refused",
          "[slurm][runtimes]") {
  CHECK(slurm::unenforced_defaults_notice({}, slurm::Runtime::pyxis).empty());
  CHECK(slurm::unenforced_defaults_notice({"/resources/pids_limit", "/ulimits/stack"}, slurm::Runtime::apptainer) ==
        "launcher: note: Slurm runtime apptainer does not enforce the launcher's default \"resources/pids_limit\" (a "
        "profile that sets it is refused unless --lossy)\n"
        "launcher: note: Slurm runtime apptainer does not enforce the launcher's default \"ulimits/stack\" (a profile "
        "that sets it is refused unless --lossy)\n");
}

TEST_CASE("InfiniBand: a node's verbs devices and RDMA CM, looked for on the node, go to the container",
          "[slurm][infiniband]") {
  testing::TempDir devices;
  auto found = [&] {
    process::ProcessResult result =
        process::run_process({"bash", "-c",
                              "set -euo pipefail\nf() {\n" + slurm::infiniband_block(devices.path.string()) +
                                  "  printf '%s\\n' \"${infiniband[@]}\"\n}\nf\n"});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return result.out;
  };
  CHECK(found() == "\n"); // none: an empty list
  for (const char* name : {"uverbs0", "uverbs1", "rdma_cm", "issm0", "umad0"})
    devices.write(name, "");
  const std::string dir = devices.path.string();
  CHECK(found() == dir + "/uverbs0\n" + dir + "/uverbs1\n" + dir + "/rdma_cm\n");

  std::string docker = slurm::render_script(cpu_job(slurm::Runtime::docker, local_image()));
  CHECK_THAT(docker, Catch::Contains("for device in /dev/infiniband/uverbs* /dev/infiniband/rdma_cm; do"));
  CHECK_THAT(docker,
             Catch::Contains("for device in \"${infiniband[@]}\"; do node_options+=(--device \"$device\"); done"));
  CHECK_THAT(docker, Catch::Contains("[[ $memlock =~ ^[0-9]+$ && ${#infiniband[@]} -eq 0 ]] || memlock=-1"));
  std::string apptainer = slurm::render_script(cpu_job(slurm::Runtime::apptainer, local_image()));
  CHECK_THAT(apptainer, Catch::Contains("for device in \"${infiniband[@]}\"; do devices+=(--bind \"$device\"); done"));
  CHECK_THAT(apptainer, Catch::Contains("ulimit -S -l \"$(ulimit -H -l)\"; exec python3 -m torch.distributed.run"));
  std::string pyxis = slurm::render_script(cpu_job(slurm::Runtime::pyxis, registry_image()));
  CHECK_THAT(pyxis, Catch::Contains("export MELLANOX_VISIBLE_DEVICES=all\n"));
  CHECK_THAT(pyxis, Catch::Contains("ulimit -S -l \"$(ulimit -H -l)\"; exec python3 -m torch.distributed.run"));
  // A memlock limit the profile sets is the profile's.
  slurm::Job job = cpu_job(slurm::Runtime::pyxis, registry_image());
  job.node_decided.memlock = false;
  CHECK_THAT(slurm::render_script(job), !Catch::Contains("ulimit -S -l"));
}

TEST_CASE("the SIF is built on the submitting host: without apptainer there, one line with the fix", "[slurm]") {
  testing::TempDir cache;
  slurm::ClusterSettings cluster;
  cluster.runtime = slurm::Runtime::apptainer;
  cluster.sif_cache = cache.path.string();
  // A PATH without apptainer (nor anything else), for this test only.
  struct EmptyPath {
    std::string saved = std::getenv("PATH");
    explicit EmptyPath(const std::string& directory) { setenv("PATH", directory.c_str(), 1); }
    ~EmptyPath() { setenv("PATH", saved.c_str(), 1); }
  } empty_path(cache.path.string());
  std::ostringstream progress;
  testing::FakeDocker fake; // answers nothing: no docker command may run
  engine::DockerEngine docker_engine(docker::Docker("docker", fake.runner()));
  require_error_containing(
      [&] { slurm::build_sif(docker_engine, cluster, registry_image(), progress); }, ExitCode::host_incapable,
      "apptainer is not on PATH: this host builds the job's image " + cache.path.string() + "/" + std::string(64, 'a') +
          ".sif from `docker save` before sbatch; install Apptainer here "
          "(https://apptainer.org/docs/admin/main/installation.html) or submit from a host that has it");
  // A SIF of the digest is built once: there, nothing runs.
  cache.write(std::string(64, 'a') + ".sif", "sif");
  CHECK_NOTHROW(slurm::build_sif(docker_engine, cluster, registry_image(), progress));
  CHECK(progress.str().empty());
  CHECK(fake.calls().empty());
}
