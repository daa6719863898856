// Issue 24, "mount guard by containment": a host path that is, contains or lies inside a place
// that hands the container the host needs the opt-in named in the error; container paths that
// would cover /run/launcher are refused outright; a volume "create" could never make is named.
#include <catch2/catch.hpp>

#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::testing::FakePaths;
using launcher::testing::require_error;
using launcher::testing::test_host;
using nlohmann::json;

namespace {

// A host where /var/run is a link to /run, as on every systemd host, with the usual places.
FakePaths host_paths() {
  FakePaths paths;
  for (const char* place : {"/proc", "/sys", "/dev", "/boot", "/var", "/var/lib", "/var/lib/docker", "/run",
                            "/run/media", "/run/media/alice/usb", "/home/alice/project/data", "/srv/data", "/tmp"})
    paths.existing.insert(place);
  paths.links["/var/run"] = "/run";
  paths.links["/home/alice/project/etc-link"] = "/etc";
  return paths;
}

plan::Resolution resolve_volume(const json& volume, const json& allow = json::array()) {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  json fields{{"volumes", json::array({volume})}};
  if (!allow.empty()) fields["allow"] = allow;
  profile::Catalog catalog{{profile::parse_profile_source(profile::builtin_profiles_json(), builtin),
                            testing::team_source(json{{"version", 1}, {"profiles", {{"dev", fields}}}}.dump())}};
  testing::FakeGpus gpus(0);
  FakePaths paths = host_paths();
  return plan::resolve_plan("dev", profile::merge_profile(catalog, "dev"), test_host(0), paths.probe(), gpus);
}

json bind(const std::string& host, const std::string& container = "/x") {
  return {{"host", host}, {"container", container}};
}

const std::string at = "launcher.json:/profiles/dev/volumes/0: ";

std::string refused(const std::string& what, const std::string& opt_in) {
  return at + "mounting " + what + " is refused; add \"" + opt_in + "\" to the profile's \"allow\" list if you mean it";
}

void require_refused(const json& volume, const std::string& message) {
  require_error([&] { resolve_volume(volume); }, ExitCode::usage, message);
}

} // namespace

TEST_CASE("the directory of the Docker socket, or its link, needs mount-docker-socket", "[plan][mounts]") {
  require_refused(bind("/run"), refused("/run (which holds the Docker socket)", "mount-docker-socket"));
  // /var/run is a link to /run: guarded where it leads.
  require_refused(bind("/var/run"), refused("/var/run -> /run (which holds the Docker socket)", "mount-docker-socket"));
  require_refused(bind("/run/user/1000"),
                  refused("/run/user/1000 (inside /run, which holds the Docker socket)", "mount-docker-socket"));
  require_refused(bind("/run/docker.sock"),
                  refused("the Docker socket /run/docker.sock (root on the host)", "mount-docker-socket"));
  CHECK(resolve_volume(bind("/var/run"), {"mount-docker-socket"}).plan.mounts[0].source == "/var/run");
  // Removable drives are mounted under /run/media; they hold files, no socket.
  CHECK(resolve_volume(bind("/run/media/alice/usb")).plan.mounts[0].source == "/run/media/alice/usb");
}

TEST_CASE("Docker's data, the kernel's interfaces, devices and boot files need their opt-ins", "[plan][mounts]") {
  require_refused(bind("/var/lib/docker"),
                  refused("/var/lib/docker (Docker's data: every container's files)", "mount-docker-data"));
  require_refused(bind("/var/lib/docker/volumes"),
                  refused("/var/lib/docker/volumes (inside /var/lib/docker, Docker's data: every container's files)",
                          "mount-docker-data"));
  require_refused(bind("/proc"), refused("/proc (the kernel's view of every process)", "mount-system"));
  require_refused(bind("/proc/1/root"),
                  refused("/proc/1/root (inside /proc, the kernel's view of every process)", "mount-system"));
  require_refused(bind("/sys"), refused("/sys (the kernel's devices and settings)", "mount-system"));
  require_refused(bind("/dev"), refused("/dev (the host's devices)", "mount-system"));
  require_refused(bind("/dev/shm"), refused("/dev/shm (inside /dev, the host's devices)", "mount-system"));
  require_refused(bind("/boot"), refused("/boot (the host's kernels and boot loader)", "mount-system"));
  CHECK(resolve_volume(bind("/proc"), {"mount-system"}).plan.mounts[0].source == "/proc");
  CHECK(resolve_volume(bind("/var/lib/docker"), {"mount-docker-data"}).plan.mounts[0].source == "/var/lib/docker");
}

TEST_CASE("a parent of a guarded place is refused for what it holds", "[plan][mounts]") {
  require_refused(bind("/var"), refused("/var (it holds /var/lib/docker, Docker's data: every container's files)",
                                        "mount-docker-data"));
  require_refused(
      bind("/var/lib"),
      refused("/var/lib (it holds /var/lib/docker, Docker's data: every container's files)", "mount-docker-data"));
  // Each place it holds is unlocked by its own opt-in.
  CHECK(resolve_volume(bind("/var"), {"mount-docker-data"}).plan.mounts[0].source == "/var");
  // "/" holds everything: "mount-root" alone lets it in; the message has one space before "is".
  require_refused(bind("/"), refused("the host's /", "mount-root"));
  CHECK(resolve_volume(bind("/"), {"mount-root"}).plan.mounts[0].source == "/");
}

TEST_CASE("a link into a guarded place, or a path to create inside one, is judged where it leads", "[plan][mounts]") {
  require_refused(bind("etc-link"),
                  refused("/home/alice/project/etc-link -> /etc (the host's configuration)", "mount-etc"));
  require_refused({{"host", "/proc/launcher-test"}, {"container", "/x"}, {"create", true}},
                  refused("/proc/launcher-test (inside /proc, the kernel's view of every process)", "mount-system"));
  require_refused(
      {{"host", "/var/run/new/dir"}, {"container", "/x"}, {"create", true}},
      refused("/var/run/new/dir -> /run/new/dir (inside /run, which holds the Docker socket)", "mount-docker-socket"));
}

TEST_CASE("plain project and data paths still mount without an opt-in", "[plan][mounts]") {
  CHECK(resolve_volume(bind("data", "/data")).plan.mounts[0].source == "/home/alice/project/data");
  CHECK(resolve_volume(bind("/srv/data", "/data")).plan.mounts[0].source == "/srv/data");
  CHECK(resolve_volume(bind("/tmp")).plan.mounts[0].source == "/tmp");
  // Names that merely start like a guarded place are not inside it.
  plan::Plan made = resolve_volume({{"host", "/devices"}, {"container", "/d"}, {"create", true}}).plan;
  CHECK(made.create_directories == std::vector<std::string>{"/devices"});
  CHECK(resolve_volume({{"host", "/running"}, {"container", "/r"}, {"create", true}}).plan.mounts[0].source ==
        "/running");
  CHECK(resolve_volume(bind("/srv/data", "/run/user-data")).plan.mounts[0].target == "/run/user-data");
}

TEST_CASE("container paths covering /run/launcher are refused with no opt-in", "[plan][mounts]") {
  auto covered = [](const std::string& target) {
    return at + "container path " + target +
           " would cover /run/launcher, where the launcher mounts the env's secrets; mount it elsewhere";
  };
  require_refused(bind("/srv/data", "/run/launcher/secrets/x"), covered("/run/launcher/secrets/x"));
  require_refused(bind("/srv/data", "/run/launcher"), covered("/run/launcher"));
  require_refused(bind("/srv/data", "/run/launcher/root-only/secrets"), covered("/run/launcher/root-only/secrets"));
  require_refused(bind("/srv/data", "/run"), covered("/run"));
  require_refused(bind("/srv/data", "/var/run"), covered("/var/run"));
  require_refused(bind("/srv/data", "/var/run/launcher/ssh"), covered("/var/run/launcher/ssh"));
  require_error([] { resolve_volume(bind("/srv/data", "/run/launcher/x"), json::array({"mount-root"})); },
                ExitCode::usage, covered("/run/launcher/x"));
}

TEST_CASE("a volume to create with a name longer than a file name may be is named before anything is made",
          "[plan][mounts]") {
  std::string long_name(256, 'a');
  require_refused({{"host", "/srv/data/" + long_name + "/x"}, {"container", "/x"}, {"create", true}},
                  at + "host path \"/srv/data/" + std::string(65, 'a') + "...\" has a name of 256 bytes; a file " +
                      "name is at most 255 bytes");
  std::string longest(255, 'b');
  CHECK(resolve_volume({{"host", "/srv/data/" + longest}, {"container", "/x"}, {"create", true}})
            .plan.create_directories.size() == 1);
}
