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
                "command line (--env NOVALUE): NOVALUE is not set in the environment; export it first (-e NOVALUE "
                "takes its value from there, off the command line) or pass NOVALUE=VALUE");
  env.env = {"9X"};
  require_error([&] { layers(env); }, ExitCode::usage,
                "command line (--env 9X): expected NAME=VALUE, or the NAME of a variable set in the environment, "
                "found \"9X\"");
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

TEST_CASE("the --user flag takes host, root or UID:GID[:NAME], and anything else names the flag", "[profile][flags]") {
  profile::FlagOverrides flags;
  for (const char* word : {"host", "root"}) {
    flags.user = word;
    auto result = layers(flags);
    REQUIRE(result.size() == 1);
    CHECK(result[0].fields["user"] == word);
    CHECK(result[0].origin_of("/user").describe() == std::string("command line (--user ") + word + ")");
  }
  flags.user = "1000:1001:alice";
  CHECK(layers(flags)[0].fields["user"] == json{{"uid", 1000}, {"gid", 1001}, {"name", "alice"}});
  flags.user = "1000:1001";
  CHECK(layers(flags)[0].fields["user"] == json{{"uid", 1000}, {"gid", 1001}});
  for (const char* bad : {"alice", "1000", "1000:x", ":1000", "1:2:3:4", ""}) {
    flags.user = bad;
    require_error([&] { layers(flags); }, ExitCode::usage,
                  std::string("command line (--user ") + bad +
                      "): expected host, root or UID:GID[:NAME], like 1000:1000:alice, found \"" + bad + "\"");
  }
  flags.user = "3000000000:1";
  require_error([&] { layers(flags); }, ExitCode::usage,
                "command line (--user 3000000000:1):/user/uid: expected a user id 0-2147483647, found 3000000000");
  flags.user = "1:1:Alice";
  require_error([&] { layers(flags); }, ExitCode::usage,
                "command line (--user 1:1:Alice):/user/name: expected a user name matching [a-z_][a-z0-9_-]*, found "
                "\"Alice\"");
}

TEST_CASE("a bare -e NAME takes the value from the environment, as docker run -e NAME does", "[profile][flags][env]") {
  profile::EnvLookup lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HF_TOKEN") return "hf_s3cr3t = with spaces";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
  profile::FieldContext with_environment = context;
  with_environment.env = &lookup;
  profile::FlagOverrides flags;
  flags.env = {"HF_TOKEN", "EMPTY", "PLAIN=${HF_TOKEN}"};
  auto result = profile::flag_layers(flags, with_environment);
  REQUIRE(result.size() == 3);
  CHECK(result[0].fields["env"] == json{{"HF_TOKEN", "hf_s3cr3t = with spaces"}});
  CHECK(result[0].origin_of("/env/HF_TOKEN").describe() == "command line (--env HF_TOKEN)");
  CHECK(result[1].fields["env"] == json{{"EMPTY", ""}});
  CHECK(result[2].fields["env"] == json{{"PLAIN", "${HF_TOKEN}"}}); // a flag's value is never expanded
  flags.env = {"UNSET"};
  require_error([&] { profile::flag_layers(flags, with_environment); }, ExitCode::usage,
                "command line (--env UNSET): UNSET is not set in the environment; export it first (-e UNSET takes "
                "its value from there, off the command line) or pass UNSET=VALUE");
}
