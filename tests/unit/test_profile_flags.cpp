#include <catch2/catch.hpp>

#include "core/env_name.hpp"

#include "profile/flags.hpp"
#include "profile/gpu_request.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::require_error;
using nlohmann::json;

namespace {

const profile::FieldContext context{"command line", "/home/alice/project", "/home/alice", nullptr};

std::vector<profile::Sourced> layers(const profile::FlagOverrides& flags) {
  return profile::flag_layers(flags, context);
}

} // namespace

TEST_CASE("each flag becomes a layer whose origin is the flag", "[profile][flags]") {
  profile::FlagOverrides flags;
  flags.image = "pytorch-cpu:2.7.1-debian12";
  flags.gpus = "device=0,1";
  flags.ports = {"8889:8888", "0.0.0.0:6006:6006/udp", "auto:9000", "[::1]:2200:22"};
  flags.volumes = {"data:/data:ro", "~/ckpt:/ckpt"};
  flags.env = {"WANDB_MODE=offline", "EMPTY="};
  auto result = layers(flags);
  REQUIRE(result.size() == 10);
  CHECK(result[0].fields["image"] == "pytorch-cpu:2.7.1-debian12");
  CHECK(result[1].origin_of("/gpus").describe() == "command line (--gpus device=0,1)");
  CHECK(result[1].gpus == profile::GpuRequest{profile::GpuRequest::Kind::devices, 0, {"0", "1"}});
  CHECK(result[2].fields["ports"][0] ==
        json{{"host", 8889}, {"container", 8888}, {"bind", "127.0.0.1"}, {"protocol", "tcp"}});
  CHECK(result[3].fields["ports"][0] ==
        json{{"host", 6006}, {"container", 6006}, {"bind", "0.0.0.0"}, {"protocol", "udp"}});
  CHECK(result[4].fields["ports"][0]["host"] == "auto");
  CHECK(result[5].fields["ports"][0]["bind"] == "::1");
  CHECK(result[6].fields["volumes"][0] ==
        json{{"host", "/home/alice/project/data"}, {"container", "/data"}, {"read_only", true}, {"create", false}});
  CHECK(result[7].fields["volumes"][0]["host"] == "/home/alice/ckpt");
  CHECK(result[9].fields["env"] == json{{"EMPTY", ""}});
  CHECK(result[6].origin_of("/volumes/0").describe() == "command line (--volume data:/data:ro)");
}

TEST_CASE("flag syntax errors name the flag", "[profile][flags]") {
  profile::FlagOverrides port;
  port.ports = {"8888"};
  require_error(
      [&] { layers(port); }, ExitCode::usage,
      "command line (--port 8888): expected [IP:]HOST:CONTAINER[/tcp|udp] (HOST may be \"auto\"), like 8888:8888 or "
      "127.0.0.1:6006:6006, found \"8888\"");
  port.ports = {"70000:8888"};
  require_error([&] { layers(port); }, ExitCode::usage,
                "command line (--port 70000:8888):/ports/0/host: expected an integer 1-65535 or \"auto\", found 70000");
  port.ports = {"8888:http"};
  require_error([&] { layers(port); }, ExitCode::usage,
                "command line (--port 8888:http):/ports/0/container: expected an integer 1-65535, found \"http\"");

  profile::FlagOverrides volume;
  volume.volumes = {"/data"};
  require_error(
      [&] { layers(volume); }, ExitCode::usage,
      "command line (--volume /data): expected HOST:CONTAINER[:ro|:rw], like ./data:/data:ro, found \"/data\"");
  volume.volumes = {"a:/x:rx"};
  require_error(
      [&] { layers(volume); }, ExitCode::usage,
      "command line (--volume a:/x:rx): expected HOST:CONTAINER[:ro|:rw], like ./data:/data:ro, found \"a:/x:rx\"");
  volume.volumes = {"a:/x", "b:/x/"};
  require_error([&] { layers(volume); }, ExitCode::usage,
                "command line (--volume b:/x/): container path /x is already mounted by --volume a:/x");

  profile::FlagOverrides env;
  env.env = {"NOVALUE"};
  require_error([&] { layers(env); }, ExitCode::usage,
                "command line (--env NOVALUE): expected NAME=VALUE, found \"NOVALUE\"");
  env.env = {"9X=1"};
  require_error([&] { layers(env); }, ExitCode::usage,
                "command line (--env 9X=1):/env/9X: expected an environment variable name matching "
                "[A-Za-z_][A-Za-z0-9_]*, found \"9X\"");

  profile::FlagOverrides gpus;
  gpus.gpus = "device=0,,1";
  require_error([&] { layers(gpus); }, ExitCode::usage,
                std::string("command line (--gpus device=0,,1):/gpus: expected ") + profile::gpu_spec_expected +
                    ", found \"device=0,,1\" (empty entry in the device list)");

  profile::FlagOverrides name;
  name.name = "bad name";
  require_error(
      [&] { layers(name); }, ExitCode::usage,
      "command line (--name bad name):/name: invalid environment name \"bad name\": it contains other characters; " +
          std::string(env_name_rule));
}

TEST_CASE("flags are taken literally: no variable expansion", "[profile][flags]") {
  profile::FlagOverrides flags;
  flags.env = {"PRICE=${NOT_A_VAR}"};
  CHECK(layers(flags)[0].fields["env"]["PRICE"] == "${NOT_A_VAR}");
}
