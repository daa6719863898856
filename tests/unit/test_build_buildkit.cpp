// Whether `launcher build` may build with a Docker CLI: BuildKit from the buildx plugin or built
// into a CLI from 20.10 to 22.x, otherwise one line naming the CLI and the fix, before any build.
#include <catch2/catch.hpp>

#include "build/buildkit.hpp"
#include "cli_bench.hpp"
#include "core/error.hpp"

using namespace launcher;
using build::BuildKit;
using build::DockerClient;

namespace {

// `docker version --format '{{json .Client}}'` as the two CLIs of this machine kind answer it
// with no engine running (exit 1, "Cannot connect to the Docker daemon" on stderr).
const std::string cli_28_client =
    R"({"Version":"28.2.2","ApiVersion":"1.50","DefaultAPIVersion":"1.50","GitCommit":"e6534b4","GoVersion":"go1.24.3",)"
    R"("Os":"linux","Arch":"amd64","BuildTime":"Fri May 30 12:07:14 2025","Context":"default"})"
    "\n";
const std::string debian_20_10_client =
    R"({"Platform":{"Name":""},"Version":"20.10.24+dfsg1","ApiVersion":"1.41","DefaultAPIVersion":"1.41",)"
    R"("GitCommit":"297e128","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","BuildTime":"Thu May  7 21:09:36 2026",)"
    R"("Context":"default","Experimental":true})"
    "\n";
const std::string no_engine = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker "
                              "daemon running?\n";
const std::string no_buildx = "docker: unknown command: docker buildx\n\nRun 'docker --help' for more information\n";

BuildKit buildkit(const std::string& version, bool buildx) { return build::buildkit_of({"docker", version, buildx}); }

std::string parse_error(const std::string& out) {
  try {
    build::parse_client_version(out, "docker version");
  } catch (const Error& error) {
    CHECK(error.code() == ExitCode::failed);
    return error.what();
  }
  FAIL("no error");
  return "";
}

} // namespace

TEST_CASE("the client version is read from the CLI's own JSON", "[build][buildkit]") {
  CHECK(build::parse_client_version(cli_28_client, "docker version") == "28.2.2");
  CHECK(build::parse_client_version(debian_20_10_client, "docker version") == "20.10.24+dfsg1");
  CHECK(parse_error("") == "`docker version` printed no readable JSON: parse error at line 1, column 1: syntax error "
                           "while parsing value - unexpected end of input; expected '[', '{', or a literal; output "
                           "starts with \"\"");
  CHECK(parse_error(R"({"ApiVersion":"1.50"})") == "`docker version` printed unexpected JSON: /Version is missing");
  CHECK(parse_error(R"({"Version":28})") ==
        "`docker version` printed unexpected JSON: /Version: expected a string, found 28");
}

TEST_CASE("BuildKit comes from the buildx plugin or from a CLI from 20.10 to 22.x, never otherwise",
          "[build][buildkit]") {
  CHECK(buildkit("28.2.2", true) == BuildKit::buildx_plugin);
  CHECK(buildkit("20.10.24+dfsg1", true) == BuildKit::buildx_plugin);
  CHECK(buildkit("dev", true) == BuildKit::buildx_plugin);
  CHECK(buildkit("20.10.24+dfsg1", false) == BuildKit::built_in);
  CHECK(buildkit("20.10.0", false) == BuildKit::built_in);
  CHECK(buildkit("22.06.0-beta.0", false) == BuildKit::built_in);
  CHECK(buildkit("28.2.2", false) == BuildKit::needs_plugin);
  CHECK(buildkit("23.0.0", false) == BuildKit::needs_plugin);
  CHECK(buildkit("19.03.15", false) == BuildKit::too_old);
  CHECK(buildkit("dev", false) == BuildKit::unknown_version);
  CHECK(buildkit("", false) == BuildKit::unknown_version);

  CHECK(build::has_buildkit(BuildKit::buildx_plugin));
  CHECK(build::has_buildkit(BuildKit::built_in));
  CHECK_FALSE(build::has_buildkit(BuildKit::needs_plugin));
  CHECK_FALSE(build::has_buildkit(BuildKit::too_old));
  CHECK_FALSE(build::has_buildkit(BuildKit::unknown_version));
}

TEST_CASE("a CLI without BuildKit is refused in one line naming it, its version, why and the fix",
          "[build][buildkit]") {
  const std::string fix = ") and launcher build never uses the legacy builder: install the buildx plugin (Debian: "
                          "docker-buildx, Docker's apt repository: docker-buildx-plugin), or name a CLI that has it "
                          "or BuildKit built in (20.10 to 22.x): launcher --docker PATH build";
  CHECK(build::missing_buildkit_message({"/usr/local/bin/docker", "28.2.2", false}) ==
        "/usr/local/bin/docker (Docker CLI 28.2.2) cannot build with BuildKit (no buildx plugin, which a CLI from 23 "
        "on needs for BuildKit" +
            fix);
  CHECK(build::missing_buildkit_message({"docker", "19.03.15", false}) ==
        "docker (Docker CLI 19.03.15) cannot build with BuildKit (its built-in BuildKit predates RUN --mount without "
        "a syntax line (20.10)" +
            fix);
  CHECK(build::missing_buildkit_message({"./docker\n", "dev\x1b[2J", false}) ==
        "./docker\\x0a (Docker CLI dev\\x1b[2J) cannot build with BuildKit (no buildx plugin, and its version is no "
        "release number" +
            fix);
}

TEST_CASE("build with a CLI lacking BuildKit stops before it asks the engine anything else", "[build][buildkit]") {
  testing::CliBench bench;
  bench.docker.on({"version", "--format", "{{json .Client}}"}, cli_28_client, 1, no_engine);
  bench.docker.on({"buildx", "version"}, "", 1, no_buildx);
  CHECK(bench.run({"build", "--offline", "--cuda", "cpu", "--context", LAUNCHER_SOURCE_DIR}) == 3);
  CHECK(bench.err.str() == "launcher: error: " + build::missing_buildkit_message({"docker", "28.2.2", false}) + "\n");
  CHECK(bench.out.str().empty());
  CHECK(bench.docker.calls() ==
        std::vector<std::vector<std::string>>{{"version", "--format", "{{json .Client}}"}, {"buildx", "version"}});
}

TEST_CASE("build under Podman is refused before it asks Podman anything", "[build][buildkit][podman]") {
  testing::CliBench bench;
  CHECK(bench.run({"--engine", "podman", "build", "--offline", "--cuda", "cpu", "--context", LAUNCHER_SOURCE_DIR}) ==
        3);
  CHECK(bench.err.str().starts_with("launcher: error: launcher build does not build with Podman yet: "));
  CHECK(bench.out.str().empty());
  CHECK(bench.docker.calls().empty());
}

TEST_CASE("build with Debian's 20.10 CLI goes on past the BuildKit check", "[build][buildkit]") {
  testing::CliBench bench;
  bench.docker.on({"version", "--format", "{{json .Client}}"}, debian_20_10_client, 1, no_engine);
  bench.docker.on({"buildx", "version"}, "", 1, "docker: 'buildx' is not a docker command.\n");
  bench.docker.on({"image", "inspect", "launcher-base:bookworm"}, "[]\n", 1,
                  "Error: No such image: launcher-base:bookworm\n");
  CHECK(bench.run({"build", "--offline", "--cuda", "cpu", "--context", LAUNCHER_SOURCE_DIR}) == 1);
  CHECK(bench.err.str() == "launcher: error: the offline base image launcher-base:bookworm is missing: make it with "
                           "images/make-base.sh (debootstrap, as root)\n");
}
