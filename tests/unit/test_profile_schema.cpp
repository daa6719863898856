#include <catch2/catch.hpp>

#include "core/env_name.hpp"

#include "profile/gpu_request.hpp"
#include "profile/schema.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::dev_profile;
using launcher::testing::require_error;
using launcher::testing::require_invalid;
using launcher::testing::team_source;
using nlohmann::json;

namespace {

json normalized(const json& fields) { return dev_profile(fields).profiles.at("dev").fields; }

} // namespace

TEST_CASE("a complete profile normalizes", "[profile][schema]") {
  profile::Sourced layer =
      dev_profile(
          {
              {"image", "registry.example.com:5000/team/pytorch:2.7.1@sha256:" + std::string(64, 'a')},
              {"service", "jupyter"},
              {"gpus", "device=0,1"},
              {"ports",
               {{{"host", 8888}, {"container", 8888}}, {{"host", "auto"}, {"container", 6006}, {"protocol", "udp"}}}},
              {"volumes",
               {{{"host", "data"}, {"container", "/data/"}, {"read_only", true}},
                {{"host", "~/ckpt"}, {"container", "/ckpt"}, {"create", true}}}},
              {"env", {{"OMP_NUM_THREADS", 8}, {"WANDB_MODE", "offline"}}},
              {"workdir", "/workspace//src/"},
              {"user", {{"uid", 1001}, {"gid", 1001}, {"name", "bob"}}},
              {"shm_size", "16g"},
              {"ipc", "private"},
              {"ulimits", {{"nofile", {{"soft", 1024}, {"hard", 4096}}}, {"memlock", -1}}},
              {"resources", {{"cpus", 7.5}, {"memory", "64g"}, {"pids_limit", 4096}}},
              {"restart", "on-failure:3"},
              {"labels", {{"team", "vision"}}},
              {"name", "dev-box"},
          })
          .profiles.at("dev");
  const json& fields = layer.fields;
  // The GPU request leaves the JSON typed, with its origin.
  CHECK(layer.gpus == profile::GpuRequest{profile::GpuRequest::Kind::devices, 0, {"0", "1"}});
  CHECK_FALSE(fields.contains("gpus"));
  CHECK(layer.origin_of("/gpus").describe() == "launcher.json:/profiles/dev/gpus");
  CHECK(fields["ports"][0] == json{{"host", 8888}, {"container", 8888}, {"bind", "127.0.0.1"}, {"protocol", "tcp"}});
  CHECK(fields["ports"][1]["host"] == "auto");
  CHECK(fields["volumes"][0] ==
        json{{"host", "/home/alice/project/data"}, {"container", "/data"}, {"read_only", true}, {"create", false}});
  CHECK(fields["volumes"][1]["host"] == "/home/alice/ckpt");
  CHECK(fields["env"]["OMP_NUM_THREADS"] == "8");
  CHECK(fields["workdir"] == "/workspace/src");
  CHECK(fields["shm_size"] == (16ULL << 30));
  CHECK(fields["ulimits"]["memlock"] == json{{"soft", -1}, {"hard", -1}});
  CHECK(fields["resources"]["memory"] == (64ULL << 30));
}

TEST_CASE("a port's host defaults to its container port", "[profile][schema]") {
  CHECK(normalized({{"ports", {{{"container", 6006}}}}})["ports"][0]["host"] == 6006);
}

TEST_CASE("unknown keys are errors with a suggestion", "[profile][schema]") {
  require_invalid({{"prots", json::array()}},
                  "launcher.json:/profiles/dev/prots: unknown key \"prots\" (did you mean \"ports\"?)");
  require_invalid({{"ports", {{{"container", 1}, {"hots", 2}}}}},
                  "launcher.json:/profiles/dev/ports/0/hots: unknown key \"hots\" (did you mean \"host\"?)");
  require_invalid({{"resources", {{"memroy", "1g"}}}},
                  "launcher.json:/profiles/dev/resources/memroy: unknown key \"memroy\" (did you mean \"memory\"?)");
  require_invalid({{"zzzzzz", 1}}, "launcher.json:/profiles/dev/zzzzzz: unknown key \"zzzzzz\"");
}

TEST_CASE("wrong types name what was expected and found", "[profile][schema]") {
  require_invalid({{"image", 42}}, "launcher.json:/profiles/dev/image: expected a string, found 42");
  require_invalid({{"ports", "8888:8888"}}, "launcher.json:/profiles/dev/ports: expected an array of {\"host\", "
                                            "\"container\", \"bind\", \"protocol\"} objects, found \"8888:8888\"");
  require_invalid({{"volumes", {{{"host", "data"}, {"container", "/data"}, {"read_only", "yes"}}}}},
                  "launcher.json:/profiles/dev/volumes/0/read_only: expected true or false, found \"yes\"");
  require_invalid({{"env", json::array()}},
                  "launcher.json:/profiles/dev/env: expected an object of NAME: value, found an array");
  require_invalid({{"command", "python train.py"}}, "launcher.json:/profiles/dev/command: expected a non-empty array "
                                                    "of strings (exec form), found \"python train.py\"");
  require_invalid({{"privileged", 1}}, "launcher.json:/profiles/dev/privileged: expected true or false, found 1");
  require_invalid({{"service", "notebook"}}, "launcher.json:/profiles/dev/service: expected \"jupyter\" | \"ssh\" | "
                                             "\"shell\" | \"command\", found \"notebook\"");
  require_invalid({{"service", "jupytr"}}, "launcher.json:/profiles/dev/service: expected \"jupyter\" | \"ssh\" | "
                                           "\"shell\" | \"command\", found \"jupytr\" (did you mean \"jupyter\"?)");
}

TEST_CASE("ports outside 1-65535 are refused", "[profile][schema]") {
  require_invalid({{"ports", {{{"host", 70000}, {"container", 8888}}}}},
                  "launcher.json:/profiles/dev/ports/0/host: expected an integer 1-65535 or \"auto\", found 70000");
  require_invalid({{"ports", {{{"host", 8888}, {"container", 0}}}}},
                  "launcher.json:/profiles/dev/ports/0/container: expected an integer 1-65535, found 0");
  require_invalid({{"ports", {{{"host", "8888"}, {"container", 8888}}}}},
                  "launcher.json:/profiles/dev/ports/0/host: expected an integer 1-65535 or \"auto\", found \"8888\"");
  require_invalid({{"ports", {{{"host", 1}}}}},
                  "launcher.json:/profiles/dev/ports/0: missing required key \"container\"");
  require_invalid({{"ports", {{{"container", 80}, {"bind", "localhost"}}}}},
                  "launcher.json:/profiles/dev/ports/0/bind: expected an IPv4 or IPv6 address, found \"localhost\"");
  require_invalid({{"ports", {{{"container", 80}, {"protocol", "sctp"}}}}},
                  "launcher.json:/profiles/dev/ports/0/protocol: expected \"tcp\" | \"udp\", found \"sctp\"");
}

TEST_CASE("container paths must be absolute, clean and mounted once", "[profile][schema]") {
  require_invalid(
      {{"volumes", {{{"host", "data"}, {"container", "data"}}}}},
      "launcher.json:/profiles/dev/volumes/0/container: expected an absolute container path, found \"data\"");
  require_invalid(
      {{"volumes", {{{"host", "data"}, {"container", "/workspace/../etc"}}}}},
      "launcher.json:/profiles/dev/volumes/0/container: \"..\" is not allowed in container path \"/workspace/../etc\"");
  require_invalid({{"volumes", {{{"host", "a"}, {"container", "/data"}}, {{"host", "b"}, {"container", "/data/"}}}}},
                  "launcher.json:/profiles/dev/volumes/1/container: container path /data is already mounted by "
                  "launcher.json:/profiles/dev/volumes/0");
  require_invalid({{"volumes", {{{"host", "a"}, {"container", "/"}}}}},
                  "launcher.json:/profiles/dev/volumes/0/container: mounting over the container's / is not allowed");
  require_invalid({{"volumes", {{{"host", "~bob/x"}, {"container", "/x"}}}}},
                  "launcher.json:/profiles/dev/volumes/0/host: \"~user\" paths are not supported, found \"~bob/x\"");
  require_invalid({{"workdir", "src"}},
                  "launcher.json:/profiles/dev/workdir: expected an absolute container path, found \"src\"");
  require_invalid({{"workdir", "/a/../.."}},
                  "launcher.json:/profiles/dev/workdir: \"..\" is not allowed in container path \"/a/../..\"");
}

TEST_CASE("GPU specs that do not parse are profile errors", "[profile][schema]") {
  const std::string expected = std::string("expected ") + profile::gpu_spec_expected;
  require_invalid({{"gpus", "device=0,,1"}}, "launcher.json:/profiles/dev/gpus: " + expected +
                                                 ", found \"device=0,,1\" (empty entry in the device list)");
  require_invalid({{"gpus", {0, -1}}},
                  "launcher.json:/profiles/dev/gpus: " + expected + ", found an array (negative GPU index -1)");
  require_invalid({{"gpus", 0}}, "launcher.json:/profiles/dev/gpus: " + expected +
                                     ", found 0 (the GPU count must be at least 1 (use \"none\" for no GPU))");
}

TEST_CASE("environment names and values are checked", "[profile][schema]") {
  require_invalid({{"env", {{"1BAD", "x"}}}}, "launcher.json:/profiles/dev/env/1BAD: expected an environment variable "
                                              "name matching [A-Za-z_][A-Za-z0-9_]*, found \"1BAD\"");
  require_invalid({{"env", {{"A-B", "x"}}}}, "launcher.json:/profiles/dev/env/A-B: expected an environment variable "
                                             "name matching [A-Za-z_][A-Za-z0-9_]*, found \"A-B\"");
  require_invalid({{"env", {{"A", "line\nbreak"}}}},
                  "launcher.json:/profiles/dev/env/A: a newline is not allowed in \"line\\nbreak\"");
  require_invalid({{"env", {{"A", std::string("nul\0byte", 8)}}}},
                  "launcher.json:/profiles/dev/env/A: a NUL character is not allowed");
  require_invalid({{"env", {{"A", true}}}}, "launcher.json:/profiles/dev/env/A: expected a string, found true");
  require_invalid({{"labels", {{"team", "a\rb"}}}},
                  "launcher.json:/profiles/dev/labels/team: a newline is not allowed in \"a\\rb\"");
}

TEST_CASE("command arguments may span lines but hold no NUL", "[profile][schema]") {
  CHECK(normalized({{"service", "command"}, {"command", {"python", "-c", "import torch\nprint(1)"}}})["command"][2] ==
        "import torch\nprint(1)");
  require_invalid({{"command", {std::string("a\0b", 3)}}},
                  "launcher.json:/profiles/dev/command/0: a NUL character is not allowed");
}

TEST_CASE("container names follow Docker's rule", "[profile][schema]") {
  CHECK(profile::is_valid_container_name("dev-box_1.2"));
  CHECK_FALSE(profile::is_valid_container_name("x"));
  CHECK_FALSE(profile::is_valid_container_name("-dev"));
  CHECK_FALSE(profile::is_valid_container_name("dev box"));
  CHECK_FALSE(profile::is_valid_container_name(std::string(129, 'a')));
  require_invalid({{"name", "my env"}},
                  "launcher.json:/profiles/dev/name: invalid environment name \"my env\": it contains other "
                  "characters; " +
                      std::string(env_name_rule));
}

TEST_CASE("sizes, limits and policies are checked", "[profile][schema]") {
  require_invalid({{"shm_size", "lots"}}, "launcher.json:/profiles/dev/shm_size: expected a size like \"16g\" or "
                                          "\"512m\" (a plain integer is bytes) of at least 1m, found \"lots\"");
  require_invalid({{"shm_size", 100}}, "launcher.json:/profiles/dev/shm_size: expected a size like \"16g\" or \"512m\" "
                                       "(a plain integer is bytes) of at least 1m, found 100");
  require_invalid({{"resources", {{"memory", "200m"}}}},
                  "launcher.json:/profiles/dev/resources/memory: expected a size like \"16g\" or \"512m\" (a plain "
                  "integer is bytes) of at least 256m, or \"unlimited\", found \"200m\"");
  require_invalid({{"resources", {{"memory", "none"}}}},
                  "launcher.json:/profiles/dev/resources/memory: expected a size like \"16g\" or \"512m\" (a plain "
                  "integer is bytes) of at least 256m, or \"unlimited\", found \"none\"");
  require_invalid({{"resources", {{"cpu_shares", 1}}}},
                  "launcher.json:/profiles/dev/resources/cpu_shares: expected CPU shares from 2 to 262144 (1024 is the "
                  "default weight), found 1");
  require_invalid({{"resources", {{"cpu_shares", 300000}}}},
                  "launcher.json:/profiles/dev/resources/cpu_shares: expected CPU shares from 2 to 262144 (1024 is the "
                  "default weight), found 300000");
  require_invalid({{"resources", {{"cpuset_cpus", "0-"}}}},
                  "launcher.json:/profiles/dev/resources/cpuset_cpus: expected \"auto\" (next to the GPUs), \"all\" or "
                  "a list like \"0-15,32-47\", found \"0-\"");
  require_invalid({{"resources", {{"cpuset_mems", 1}}}},
                  "launcher.json:/profiles/dev/resources/cpuset_mems: expected a string, found 1");
  require_invalid(
      {{"resources", {{"cpus", 0}}}},
      "launcher.json:/profiles/dev/resources/cpus: expected a number of CPUs above 0, like 8 or 0.5, found 0");
  require_invalid(
      {{"resources", {{"pids_limit", 0}}}},
      "launcher.json:/profiles/dev/resources/pids_limit: expected -1 (unlimited) or an integer >= 1, found 0");
  require_invalid({{"ulimits", {{"nofiles", 1}}}},
                  "launcher.json:/profiles/dev/ulimits/nofiles: unknown ulimit \"nofiles\" (did you mean \"nofile\"?)");
  require_invalid({{"ulimits", {{"nofile", {{"soft", 10}, {"hard", 5}}}}}},
                  "launcher.json:/profiles/dev/ulimits/nofile: the soft limit 10 is above the hard limit 5");
  require_invalid(
      {{"ulimits", {{"nofile", -5}}}},
      "launcher.json:/profiles/dev/ulimits/nofile/soft: expected -1 (unlimited) or an integer >= 0, found -5");
  require_invalid({{"restart", "sometimes"}},
                  "launcher.json:/profiles/dev/restart: expected \"no\", \"always\", \"unless-stopped\", "
                  "\"on-failure\" or \"on-failure:N\", found \"sometimes\"");
  require_invalid({{"ipc", "shared"}},
                  "launcher.json:/profiles/dev/ipc: expected \"private\" | \"shareable\" | \"host\", found \"shared\"");
  require_invalid({{"user", "admin"}},
                  "launcher.json:/profiles/dev/user: expected \"host\" | \"root\", found \"admin\"");
  require_invalid({{"user", {{"uid", -1}, {"gid", 0}}}},
                  "launcher.json:/profiles/dev/user/uid: expected a user id 0-2147483647, found -1");
  require_invalid({{"user", 5}}, "launcher.json:/profiles/dev/user: expected \"host\", \"root\" or {\"uid\": N, "
                                 "\"gid\": N, \"name\": \"...\"}, found 5");
}

TEST_CASE("images, labels and opt-ins are checked", "[profile][schema]") {
  require_invalid({{"image", "PyTorch:latest"}},
                  "launcher.json:/profiles/dev/image: expected an image reference like \"repo/name:tag\" or "
                  "\"name@sha256:<digest>\", found \"PyTorch:latest\"");
  require_invalid({{"image", "pytorch latest"}},
                  "launcher.json:/profiles/dev/image: expected an image reference like \"repo/name:tag\" or "
                  "\"name@sha256:<digest>\", found \"pytorch latest\"");
  require_invalid({{"labels", {{"io.launcher.env", "x"}}}},
                  "launcher.json:/profiles/dev/labels/io.launcher.env: labels under io.launcher. are set by the "
                  "launcher itself, found \"io.launcher.env\"");
  require_invalid(
      {{"allow", {"privilege"}}},
      "launcher.json:/profiles/dev/allow/0: expected \"privileged\" | \"mount-root\" | \"mount-etc\" | "
      "\"mount-system\" | \"mount-docker-data\" | \"mount-docker-socket\" | \"unauthenticated-public-port\", found "
      "\"privilege\" (did you mean \"privileged\"?)");
  require_invalid({{"extends", "a b"}},
                  "launcher.json:/profiles/dev/extends: expected the name of a profile, found \"a b\"");
}

TEST_CASE("variables are expanded in file values, and an unset one is named", "[profile][schema]") {
  profile::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "DATA_DIR") return "/srv/data";
    return std::nullopt;
  };
  json fields = dev_profile({{"volumes", {{{"host", "${DATA_DIR}"}, {"container", "/data"}}}},
                             {"image", "${IMAGE:-pytorch-cpu:2.7.1-debian12}"}},
                            env)
                    .profiles.at("dev")
                    .fields;
  CHECK(fields["volumes"][0]["host"] == "/srv/data");
  CHECK(fields["image"] == "pytorch-cpu:2.7.1-debian12");
  require_error(
      [&] {
        dev_profile({{"volumes", {{{"host", "${DATASET}"}, {"container", "/data"}}}}}, env);
      },
      ExitCode::usage,
      "launcher.json:/profiles/dev/volumes/0/host: variable DATASET is not set (set it, or write ${DATASET:-value} to "
      "give a default)");
}

TEST_CASE("service settings: jupyter auth, ssh keys and password, sudo", "[profile][schema]") {
  json fields =
      normalized({{"jupyter", {{"auth", "password"}}},
                  {"ssh",
                   {{"authorized_keys", {"keys/team.pub", "~/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nz alice"}},
                    {"password", true}}},
                  {"sudo", true}});
  CHECK(fields["ssh"]["authorized_keys"] ==
        json::array(
            {"/home/alice/project/keys/team.pub", "/home/alice/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nz alice"}));
  require_invalid({{"jupyter", {{"auth", "none"}}}},
                  "launcher.json:/profiles/dev/jupyter/auth: expected \"token\" | \"password\", found \"none\"");
  require_invalid({{"jupyter", {{"token", "abc"}}}},
                  "launcher.json:/profiles/dev/jupyter/token: unknown key \"token\"");
  require_invalid({{"ssh", {{"authorized_keys", json::array()}}}},
                  "launcher.json:/profiles/dev/ssh/authorized_keys: expected a non-empty array of public key files or "
                  "literal public keys, found an array");
  require_invalid({{"ssh", {{"password", "yes"}}}},
                  "launcher.json:/profiles/dev/ssh/password: expected true or false, found \"yes\"");
  require_invalid({{"sudo", "yes"}}, "launcher.json:/profiles/dev/sudo: expected true or false, found \"yes\"");
}

TEST_CASE("a network is a name Docker accepts, never Docker's own bridge, host or none", "[profile][schema][network]") {
  CHECK(normalized({{"network", "team-a"}})["network"] == "team-a");
  for (const char* own : {"bridge", "host", "none"})
    require_invalid({{"network", own}},
                    std::string("launcher.json:/profiles/dev/network: Docker's \"") + own +
                        "\" network is not for launcher environments (each gets an isolated network of its own "
                        "unless the profile names a shared one), found \"" +
                        own + "\"");
  require_invalid({{"network", "-x"}},
                  "launcher.json:/profiles/dev/network: expected a network name Docker accepts: a letter or "
                  "digit, then letters, digits, '_', '.' or '-', found \"-x\"");
  require_invalid({{"network", 1}}, "launcher.json:/profiles/dev/network: expected a string, found 1");
}

TEST_CASE("ssh forwarding switches: true or false, nothing else", "[profile][schema]") {
  json fields =
      normalized({{"ssh", {{"agent_forwarding", true}, {"stream_local_forwarding", false}, {"user_rc", true}}}});
  CHECK(fields["ssh"] == json{{"agent_forwarding", true}, {"stream_local_forwarding", false}, {"user_rc", true}});
  require_invalid({{"ssh", {{"agent_forwarding", "yes"}}}},
                  "launcher.json:/profiles/dev/ssh/agent_forwarding: expected true or false, found \"yes\"");
  require_invalid({{"ssh", {{"stream_local_forwarding", 1}}}},
                  "launcher.json:/profiles/dev/ssh/stream_local_forwarding: expected true or false, found 1");
  require_invalid({{"ssh", {{"user_rc", nullptr}}}},
                  "launcher.json:/profiles/dev/ssh/user_rc: expected true or false, found null");
  require_invalid({{"ssh", {{"agent_forward", true}}}}, "launcher.json:/profiles/dev/ssh/agent_forward: unknown key "
                                                        "\"agent_forward\" (did you mean \"agent_forwarding\"?)");
}

TEST_CASE("idle and max_age: durations become seconds, the GPU threshold a percentage", "[profile][schema][idle]") {
  json fields = normalized({{"idle", {{"stop_after", "2h"}, {"gpu_util_below", 10}}}, {"max_age", "72h"}});
  CHECK(fields["idle"] == json{{"stop_after", 7200}, {"gpu_util_below", 10}});
  CHECK(fields["max_age"] == 259200);
  CHECK(normalized({{"idle", {{"stop_after", "1h30m"}}}})["idle"] == json{{"stop_after", 5400}});
  // What validation leaves validates again.
  CHECK(normalized({{"max_age", 60}})["max_age"] == 60);
}

TEST_CASE("idle and max_age: each bad value names its key", "[profile][schema][idle]") {
  const std::string duration =
      "expected a duration like \"2h\", \"90m\" or \"1h30m\" (units d, h, m, s) from 1s to 3660d, found ";
  require_invalid({{"idle", {{"stop_after", "2 hours"}}}},
                  "launcher.json:/profiles/dev/idle/stop_after: " + duration + "\"2 hours\"");
  require_invalid({{"idle", {{"stop_after", "0s"}}}},
                  "launcher.json:/profiles/dev/idle/stop_after: " + duration + "\"0s\"");
  require_invalid({{"max_age", "3661d"}}, "launcher.json:/profiles/dev/max_age: " + duration + "\"3661d\"");
  require_invalid({{"max_age", -5}}, "launcher.json:/profiles/dev/max_age: " + duration + "-5");
  require_invalid({{"max_age", true}}, "launcher.json:/profiles/dev/max_age: " + duration + "true");
  require_invalid({{"idle", {{"gpu_util_below", 5}}}},
                  "launcher.json:/profiles/dev/idle: missing required key \"stop_after\"");
  require_invalid({{"idle", {{"stop_after", "2h"}, {"gpu_util_below", 0}}}},
                  "launcher.json:/profiles/dev/idle/gpu_util_below: expected a percentage from 1 to 100, found 0");
  require_invalid({{"idle", {{"stop_after", "2h"}, {"gpu_util_below", 101}}}},
                  "launcher.json:/profiles/dev/idle/gpu_util_below: expected a percentage from 1 to 100, found 101");
  require_invalid({{"idle", {{"stop_after", "2h"}, {"gpu_util_blow", 5}}}},
                  "launcher.json:/profiles/dev/idle/gpu_util_blow: unknown key \"gpu_util_blow\" (did you mean "
                  "\"gpu_util_below\"?)");
  require_invalid({{"idle", "2h"}}, "launcher.json:/profiles/dev/idle: expected an object, found \"2h\"");
}

TEST_CASE("backup: the repository loses a trailing slash, paths are normalized, every becomes seconds",
          "[profile][schema][backup]") {
  json fields = normalized({{"backup",
                             {{"to", "s3://team-ckpt/runs/"},
                              {"paths", {"/workspace//checkpoints/"}},
                              {"every", "30m"},
                              {"keep", 5},
                              {"endpoint", "http://host.docker.internal:9000"},
                              {"credentials", "team"}}}});
  CHECK(fields["backup"] == json{{"to", "s3://team-ckpt/runs"},
                                 {"paths", {"/workspace/checkpoints"}},
                                 {"every", 1800},
                                 {"keep", 5},
                                 {"endpoint", "http://host.docker.internal:9000"},
                                 {"credentials", "team"}});
  CHECK(normalized({{"backup", {{"to", "s3://abc"}, {"paths", {"/data"}}}}})["backup"] ==
        json{{"to", "s3://abc"}, {"paths", {"/data"}}});
}

TEST_CASE("backup: each bad value names its key", "[profile][schema][backup]") {
  const std::string at = "launcher.json:/profiles/dev/backup";
  const json paths{"/data"};
  const std::string repository =
      ": expected \"s3://BUCKET\" or \"s3://BUCKET/PREFIX\" (a bucket of 3-63 lowercase letters, digits, '.' or '-'; "
      "prefix segments of letters, digits, '_', '.' or '-'), found ";
  require_invalid({{"backup", {{"paths", paths}}}}, at + ": missing required key \"to\"");
  require_invalid({{"backup", {{"to", "s3://abc"}}}}, at + ": missing required key \"paths\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"evry", "1h"}}}},
                  at + "/evry: unknown key \"evry\" (did you mean \"every\"?)");
  require_invalid({{"backup", {{"to", "https://abc/x"}, {"paths", paths}}}},
                  at + "/to" + repository + "\"https://abc/x\"");
  require_invalid({{"backup", {{"to", "s3://AB"}, {"paths", paths}}}}, at + "/to" + repository + "\"s3://AB\"");
  require_invalid({{"backup", {{"to", "s3://abc//x"}, {"paths", paths}}}}, at + "/to" + repository + "\"s3://abc//x\"");
  require_invalid({{"backup", {{"to", "s3://abc/../x"}, {"paths", paths}}}},
                  at + "/to" + repository + "\"s3://abc/../x\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", json::array()}}}},
                  at + "/paths: expected a non-empty array of absolute container paths, found an array");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", {"data"}}}}},
                  at + "/paths/0: expected an absolute container path, found \"data\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", {"/"}}}}},
                  at + "/paths/0: backing up the container's whole / is not allowed; name the directories to keep");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"every", "0s"}}}},
                  at + "/every: expected a duration like \"2h\", \"90m\" or \"1h30m\" (units d, h, m, s) from 1s to "
                       "3660d, found \"0s\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"keep", 0}}}},
                  at + "/keep: expected 1-1000 complete versions, found 0");
  const std::string endpoint = ": expected an S3 endpoint URL like \"http://host.docker.internal:9000\" or "
                               "\"https://s3.example.com\" (scheme, host and port only; the keys go in the AWS "
                               "credentials file), found ";
  // A key in the URL would reach the env's variables: refused.
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"endpoint", "http://key:secret@host:9000"}}}},
                  at + "/endpoint" + endpoint + "\"http://key:secret@host:9000\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"endpoint", "host:9000"}}}},
                  at + "/endpoint" + endpoint + "\"host:9000\"");
  require_invalid({{"backup", {{"to", "s3://abc"}, {"paths", paths}, {"credentials", "a b"}}}},
                  at + "/credentials: expected the name of a profile of the AWS credentials file (letters, digits, "
                       "'_', '.', '@', '+' or '-'), found \"a b\"");
}
