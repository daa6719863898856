// Issue 18: every input class a fuzzer found to abort the launcher is refused with a one-line
// Error naming its source. One test per error message; the e2e tests run the same cases through
// the real binary.
#include <catch2/catch.hpp>

#include <sstream>

#include "cli/app.hpp"
#include "core/env_name.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "docker/docker.hpp"
#include "doctor/checks.hpp"
#include "doctor/snapshot.hpp"
#include "doctor_fixtures.hpp"
#include "gpu/inventory.hpp"
#include "lifecycle/inspect.hpp"
#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "profile/flags.hpp"
#include "profile/gpu_request.hpp"
#include "profile/interpolate.hpp"
#include "profile/public_key.hpp"
#include "profile/schema.hpp"
#include "secrets/generate.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::dev_profile;
using launcher::testing::require_error;
using launcher::testing::require_invalid;
using launcher::testing::team_source;
using nlohmann::json;

namespace {

// A host without GPUs, for tests that ask for none.
testing::FakeGpus no_gpus;

std::vector<profile::Sourced> flag_layers(const profile::FlagOverrides& flags) {
  return profile::flag_layers(flags, {"command line", "/home/alice/project", "/home/alice", nullptr});
}

profile::Catalog builtin_catalog() {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  profile::Catalog catalog;
  catalog.sources.push_back(profile::parse_profile_source(profile::builtin_profiles_json(), builtin));
  return catalog;
}

} // namespace

// --- text helpers ---------------------------------------------------------------------------

TEST_CASE("UTF-8 validity follows RFC 3629", "[core][utf8]") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("donn\xc3\xa9"
                      "es \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("a\xff"));
  CHECK_FALSE(is_valid_utf8("\x81ll"));
  CHECK_FALSE(is_valid_utf8("donn\xe9"
                            "es"));               // Latin-1
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong "/"
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));     // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));         // cut short
}

TEST_CASE("quote_for_message never throws and shows bytes that are not UTF-8 escaped", "[core][utf8]") {
  CHECK(quote_for_message("a\xff") == "\"a\\xff\"");
  CHECK(quote_for_message("\x81ll") == "\"\\x81ll\"");
  CHECK(quote_for_message("donn\xc3\xa9"
                          "es") == "\"donn\xc3\xa9"
                                   "es\"");
  CHECK(quote_for_message("tab\tquote\"\x01") == "\"tab\\tquote\\\"\\u0001\"");
  CHECK(quote_for_message(std::string(200000, '\xff')).size() == 80);
  CHECK(escape_invalid_utf8("/srv/donn\xe9"
                            "es") == "/srv/donn\\xe9es");
}

TEST_CASE("environment names are checked by hand, for any length", "[core]") {
  CHECK(is_environment_name("_A1"));
  CHECK_FALSE(is_environment_name("1A"));
  CHECK_FALSE(is_environment_name(""));
  CHECK(is_environment_name(std::string(300000, 'A')));
}

// --- profile files ---------------------------------------------------------------------------

TEST_CASE("a number beyond a double names file, line and column", "[profile][catalog]") {
  require_error([] { team_source(R"({"version": 1, "profiles": {"big": {"shm_size": 1e400}}})"); }, ExitCode::usage,
                "launcher.json:1:53: number overflow parsing '1e400' (numbers must fit in a double)");
}

TEST_CASE("JSON nested deeper than the limit is refused", "[profile][catalog]") {
  std::string deep =
      R"({"version": 1, "profiles": {"x": {"labels": )" + std::string(100, '[') + std::string(100, ']') + "}}}";
  require_error([&] { team_source(deep); }, ExitCode::usage, "launcher.json:1:106: JSON nested deeper than 64 levels");
}

TEST_CASE("an integer beyond 64 signed bits is out of range, not wrapped", "[profile][schema]") {
  require_invalid({{"ulimits", {{"nofile", 18446744073709551615ULL}}}},
                  "launcher.json:/profiles/dev/ulimits/nofile/soft: expected -1 (unlimited) or an integer >= 0, found "
                  "18446744073709551615");
}

TEST_CASE("a variable that is not UTF-8 is refused, naming it", "[profile][utf8]") {
  profile::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "B") return "\x81ll";
    return std::nullopt;
  };
  require_error(
      [&] { profile::interpolate("${B}", env); }, ExitCode::usage,
      "variable B holds \"\\x81ll\", which is not UTF-8 (Docker's API would replace those bytes with U+FFFD)");
  require_invalid({{"image", "${B}"}},
                  "launcher.json:/profiles/dev/image: variable B holds \"\\x81ll\", which is not UTF-8 (Docker's API "
                  "would replace those bytes with U+FFFD)",
                  env);
}

TEST_CASE("a mount source joined to a directory that is not UTF-8 is refused when the profile is used",
          "[plan][utf8]") {
  profile::FieldContext context{"launcher.json",
                                "/srv/donn\xe9"
                                "es",
                                "/home/alice", &testing::no_variables};
  profile::Catalog catalog;
  catalog.sources.push_back(profile::parse_profile_source(
      R"({"version": 1, "profiles": {"dev": {"volumes": [{"host": "data", "container": "/data", "create": true}]}}})",
      context));
  profile::Sourced merged = profile::merge_profile(catalog, "dev");
  require_error([&] { plan::resolve_plan("dev", merged, testing::test_host(), testing::FakePaths{}.probe(), no_gpus); },
                ExitCode::usage,
                "launcher.json:/profiles/dev/volumes/0: host path \"/srv/donn\\xe9es/data\" is not UTF-8 (Docker's API "
                "would replace those bytes with U+FFFD)");
  host::HostFacts latin1_home = testing::test_host();
  latin1_home.state_home = "/home/al\xe9"
                           "ce/.local/state";
  require_error(
      [&] {
        plan::resolve_plan("jupyter", profile::merge_profile(builtin_catalog(), "jupyter"), latin1_home,
                           testing::FakePaths{}.probe(), no_gpus);
      },
      ExitCode::usage,
      "the state directory \"/home/al\\xe9ce/.local/state/launcher/envs/project-jupyter/secrets\" is not UTF-8 "
      "(Docker's API would replace those bytes with U+FFFD); set XDG_STATE_HOME to a directory whose path is UTF-8");
}

TEST_CASE("flags that are not UTF-8 are refused, naming the flag", "[profile][flags][utf8]") {
  profile::FlagOverrides gpus;
  gpus.gpus = "a\xff";
  require_error([&] { flag_layers(gpus); }, ExitCode::usage,
                "command line (--gpus a\\xff):/gpus: \"a\\xff\" is not UTF-8 (Docker's API would replace those bytes "
                "with U+FFFD)");
  profile::FlagOverrides env;
  env.env = {"A=\xff"};
  require_error([&] { flag_layers(env); }, ExitCode::usage,
                "command line (--env A=\\xff):/env/A: \"\\xff\" is not UTF-8 (Docker's API would replace those bytes "
                "with U+FFFD)");
}

TEST_CASE("each length has its own limit and message", "[profile][schema][limits]") {
  std::string digits(200000, '7');
  require_invalid({{"gpus", "0:" + digits}},
                  "launcher.json:/profiles/dev/gpus: expected " + std::string(profile::gpu_spec_expected) + ", found " +
                      quote_for_message("0:" + digits) + " (a GPU list is at most 4096 characters, found 200002)");
  require_invalid({{"gpus", "1234567"}}, "launcher.json:/profiles/dev/gpus: expected " +
                                             std::string(profile::gpu_spec_expected) +
                                             ", found \"1234567\" (a GPU count of 123456 is not plausible)");
  require_invalid({{"gpus", "device=1234567"}},
                  "launcher.json:/profiles/dev/gpus: expected " + std::string(profile::gpu_spec_expected) +
                      ", found \"device=1234567\" (GPU index \"1234567\" has more than 6 digits)");
  require_invalid({{"name", std::string(64, 'n')}}, "launcher.json:/profiles/dev/name: invalid environment name \"" +
                                                        std::string(64, 'n') + "\": it is 64 characters long; " +
                                                        std::string(env_name_rule));
  require_invalid({{"workdir", "/" + std::string(5000, 'w')}},
                  "launcher.json:/profiles/dev/workdir: a path is at most 4095 bytes, found 5001");
  require_invalid({{"volumes", {{{"host", std::string(5000, 'h')}, {"container", "/data"}}}}},
                  "launcher.json:/profiles/dev/volumes/0/host: a path is at most 4095 bytes, found 5020");
  require_invalid({{"image", std::string(600, 'i')}},
                  "launcher.json:/profiles/dev/image: an image reference is at most 512 characters, found 600");
  require_invalid({{"env", {{"A", std::string(65534, 'v')}}}},
                  "launcher.json:/profiles/dev/env/A: NAME=VALUE is at most 65535 bytes (the longest line docker "
                  "run's --env-file reads), found 65536");
  CHECK(dev_profile({{"env", {{"A", std::string(65533, 'v')}}}})
            .profiles.at("dev")
            .fields["env"]["A"]
            .get<std::string>()
            .size() == 65533);
  require_invalid({{"description", std::string(131072, 'd')}},
                  "launcher.json:/profiles/dev/description: a value is at most 131071 bytes (Linux's limit on one "
                  "argument), found 131072");
  std::string long_name(200, 'p');
  require_error([&] { team_source(R"({"version": 1, "profiles": {")" + long_name + R"(": {}}})"); }, ExitCode::usage,
                "launcher.json:/profiles/" + long_name + ": a profile name is at most 128 characters, found 200");
}

TEST_CASE("long keys and values no longer reach a regular expression", "[profile][schema][limits]") {
  std::string key(60000, 'A');
  CHECK(dev_profile({{"env", {{key, "1"}}}}).profiles.at("dev").fields["env"].contains(key));
  CHECK(dev_profile({{"labels", {{std::string(200000, 'l'), "1"}}}}).profiles.at("dev").fields["labels"].size() == 1);
  CHECK(profile::is_literal_public_key("ssh-ed25519 " + std::string(200000, 'A') + " comment"));
  CHECK_FALSE(profile::is_literal_public_key("ssh-ed25519 " + std::string(200000, '!')));
}

// --- Docker's output -------------------------------------------------------------------------

TEST_CASE("Docker output that is not JSON names the command", "[docker][reader]") {
  require_error(
      [] { docker::parse_inspect_output("garbage", "docker container inspect"); }, ExitCode::failed,
      "`docker container inspect` printed no readable JSON: parse error at line 1, column 1: syntax error while "
      "parsing value - invalid literal; last read: 'g'; output starts with \"garbage\"");
  require_error([] { docker::parse_inspect_output("[]", "docker image inspect"); }, ExitCode::failed,
                "`docker image inspect` printed unexpected JSON: /: expected an array of one object, found an array");
}

TEST_CASE("a missing or malformed field of docker inspect names the field", "[docker][reader]") {
  json no_running = json::parse(R"({"Name": "/lab", "State": {"Status": "running"}})");
  require_error([&] { lifecycle::is_running(no_running); }, ExitCode::failed,
                "`docker container inspect` printed unexpected JSON: /State/Running is missing");
  json wrong =
      json::parse(R"({"Name": 5, "State": {"Running": "yes", "Status": "exited", "ExitCode": 18446744073709551615}})");
  require_error([&] { lifecycle::name_of(wrong); }, ExitCode::failed,
                "`docker container inspect` printed unexpected JSON: /Name: expected a string, found 5");
  require_error(
      [&] { lifecycle::is_running(wrong); }, ExitCode::failed,
      "`docker container inspect` printed unexpected JSON: /State/Running: expected true or false, found \"yes\"");
  require_error(
      [&] { lifecycle::status_of(wrong); }, ExitCode::failed,
      "`docker container inspect` printed unexpected JSON: /State/ExitCode: expected an integer of at most 64 bits, "
      "found 18446744073709551615");
  json port = json::parse(
      R"({"NetworkSettings": {"Ports": {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": "99999999999"}]}}})");
  require_error(
      [&] { lifecycle::endpoints_of(port); }, ExitCode::failed,
      "`docker container inspect` printed unexpected JSON: /NetworkSettings/Ports/8888~1tcp/0: expected a port "
      "number 0-65535 in \"99999999999\", found an object");
  // A protocol the launcher never publishes (a container made by hand) is no endpoint of it.
  json sctp = json::parse(R"({"NetworkSettings": {"Ports": {"9999/sctp": [{"HostIp": "", "HostPort": "9999"}],
                                                          "22/tcp": [{"HostIp": "127.0.0.1", "HostPort": "2222"}]}}})");
  auto endpoints = lifecycle::endpoints_of(sctp);
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].container_port == 22);
  CHECK(lifecycle::name_of(json::parse(R"({"Name": ""})")).empty());
}

TEST_CASE("a docker ps line without a field it needs names the field", "[docker][reader]") {
  require_error(
      [] {
        docker::parse_listing(R"({"name": "lab", "image": "i", "state": "running", "status": "Up", "labels": {}})", {});
      },
      ExitCode::failed, "`docker ps` printed unexpected JSON: /ports is missing");
  auto listed = docker::parse_listing(
      R"({"name": "lab", "image": "i", "state": "running", "status": "Up", "ports": "", "labels": {"io.launcher.env": "lab"}})"
      "\n",
      {"io.launcher.env", "io.launcher.gpus"});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].labels.at("io.launcher.env") == "lab");
  CHECK(listed[0].labels.at("io.launcher.gpus").empty());
}

// --- nvidia-smi's output ---------------------------------------------------------------------

TEST_CASE("a garbage nvidia-smi table names the line and the field", "[gpu][reader]") {
  require_error([] { gpu::parse_gpu_table("x, y, z, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\n"); }, ExitCode::failed,
                "nvidia-smi --query-gpu line 1: index: expected a GPU index, found \"x\"");
  require_error(
      [] {
        gpu::parse_gpu_table(
            "0, GPU-1, A100, 0:1, 550.54.15, 99999999999999999999999, 1, 1, 0, 8.0, 30, 1, Disabled\n");
      },
      ExitCode::failed,
      "nvidia-smi --query-gpu line 1: memory.total: expected a number of MiB, found \"99999999999999999999999\"");
  require_error(
      [] { gpu::parse_gpu_table("0, GPU-1, A100, 0:1, 550.54.15, 1, 1, 1, 0, eight, 30, 1, Disabled\n"); },
      ExitCode::failed,
      "nvidia-smi --query-gpu line 1: compute_cap: expected a compute capability like 8.0, or [N/A], found \"eight\"");
  require_error([] { gpu::parse_compute_apps("pid, gpu_uuid, used_gpu_memory [MiB]\nabc, GPU-1, 12 MiB\n"); },
                ExitCode::failed, "nvidia-smi --query-compute-apps line 2: pid: expected a process id, found \"abc\"");
  CHECK_FALSE(gpu::parse_proc_driver_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  " +
                                             std::string(100000, '5') + ".1\n"));
  CHECK(gpu::parse_smi_driver_version("DRIVER version                 : 580.159.04\n") == "580.159.04");
}

TEST_CASE("doctor does not call a garbage nvidia-smi table healthy", "[doctor][reader]") {
  facts::MemoryFactSource facts;
  facts.answers["proc-driver-nvidia-version.txt"] = {
      true, 0, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue\n", ""};
  facts.answers["nvidia-smi-query-gpu.csv"] = {true, 0,
                                               "garbage, garbage, garbage, garbage, garbage, garbage, garbage, "
                                               "garbage, garbage, garbage, garbage, garbage, garbage\n",
                                               ""};
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  doctor::Subject subject;
  subject.gpus.kind = plan::GpuAssignment::Kind::all;
  subject.shm_size_bytes = 8ULL << 30;
  doctor::HostSnapshot snapshot = doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
  auto results = doctor::doctor_checks(subject, snapshot, matrix::embedded_matrix());
  auto driver = std::find_if(results.begin(), results.end(), [](const auto& result) { return result.id == "driver"; });
  REQUIRE(driver != results.end());
  CHECK(*driver ==
        doctor::CheckResult{"driver", doctor::Status::warn,
                            "NVIDIA driver 550.54.15, but nvidia-smi --query-gpu line 1: index: expected a GPU "
                            "index, found \"garbage\"",
                            "run nvidia-smi to see what fails"});
  CHECK(doctor::any_failed(results));
}

TEST_CASE("doctor turns unreadable Docker output into a FAIL or WARN row naming the field", "[doctor][reader]") {
  facts::Fact version{true, 0, R"({"Client": {"Version": "28.2.2"}, "Server": {"Version": 28}})", ""};
  doctor::DockerFacts docker = doctor::parse_docker_facts(&version, nullptr);
  CHECK(doctor::docker_check(docker) ==
        doctor::CheckResult{
            "docker", doctor::Status::fail,
            "docker fails: `docker version` printed unexpected JSON: /Server/Version: expected a string, found 28",
            "run 'docker info' to see why"});
  doctor::ImageFacts image =
      doctor::parse_image_facts("x:1", {true, 0, R"({"io.launcher.torch": 2})", ""}, matrix::embedded_matrix());
  CHECK(doctor::image_check(image, false, matrix::embedded_matrix()).status == doctor::Status::warn);
  CHECK(doctor::image_check(image, false, matrix::embedded_matrix()).message ==
        "cannot read the labels of x:1: `docker image inspect` printed unexpected JSON: /io.launcher.torch: expected a "
        "string, found 2");
  facts::MemoryFactSource facts;
  facts.answers["docker-container-inspect.json"] = {true, 0, R"({"State": {"Status": "running", "Running": "yes"}})",
                                                    ""};
  facts::HostQueries queries(facts, launcher::testing::replay_engine());
  auto [subject, snapshot] = doctor::gather_container_facts(queries, "lab", matrix::embedded_matrix());
  REQUIRE(snapshot.container);
  CHECK(doctor::container_check(*snapshot.container, false) ==
        doctor::CheckResult{
            "container", doctor::Status::fail,
            "cannot read what Docker says about container lab: `docker container inspect` printed unexpected "
            "JSON: /State/Running: expected true or false, found \"yes\"",
            "run 'docker container inspect lab' to see what the engine says"});
}

// --- the one handler -------------------------------------------------------------------------

TEST_CASE("the command line handler prints bytes that are not UTF-8 escaped, on one line", "[cli][utf8]") {
  std::vector<std::string> args{"launcher", "render", "--gpus", "a\xff"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  std::ostringstream out, err;
  CHECK(cli::run(static_cast<int>(argv.size()), argv.data(), out, err) == 2);
  CHECK(err.str() == "launcher: error: command line (--gpus a\\xff):/gpus: \"a\\xff\" is not UTF-8 (Docker's API would "
                     "replace those bytes with U+FFFD)\n");
}

TEST_CASE("the rest of the limits and readers say what they refuse", "[limits][reader]") {
  std::string entries = "device=";
  for (int i = 0; i < 1100; ++i)
    entries += "0,";
  require_invalid({{"gpus", entries + "0"}},
                  "launcher.json:/profiles/dev/gpus: expected " + std::string(profile::gpu_spec_expected) + ", found " +
                      quote_for_message(entries + "0") + " (a GPU list has at most 1024 entries, found 1101)");
  require_error([] { JsonReader::parse(std::string(100, '[') + std::string(100, ']'), "docker info"); },
                ExitCode::failed,
                "`docker info` printed no readable JSON: JSON nested deeper than 64 levels; output starts with \"" +
                    std::string(76 - 1, '[').substr(0, 75) + "...\"");
  launcher::testing::TempDir dir;
  dir.write("nvidia-smi-L.txt.exit-code", "garbage\n");
  facts::DirectoryFactSource facts({dir.path});
  require_error([&] { facts.command("nvidia-smi-L.txt", {}); }, ExitCode::usage,
                (dir.path / "nvidia-smi-L.txt.exit-code").string() +
                    ": expected an exit status 0-255, found \"garbage\"");
}
