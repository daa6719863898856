// `launcher build` with a Docker CLI that has no BuildKit, played by a stub script that answers
// `version` as the 28.2 CLI of this machine kind does without its buildx plugin and no engine,
// and records every call: the build stops before anything is built, in one line naming the fix.
#include <sys/stat.h>

#include "support.hpp"

using namespace launcher::e2e;

TEST_CASE("build with a 28.x CLI lacking buildx exits before any docker build, naming the fix", "[e2e][build]") {
  TempDir dir;
  std::filesystem::path calls = dir.path / "calls.log";
  std::filesystem::path stub = dir.path / "docker-28-without-buildx";
  dir.write(stub.filename(),
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + calls.string() +
                "'\n"
                "case \"$1\" in\n"
                "version)\n"
                R"(  echo '{"Version":"28.2.2","ApiVersion":"1.50","DefaultAPIVersion":"1.50","GitCommit":"e6534b4",)"
                R"("GoVersion":"go1.24.3","Os":"linux","Arch":"amd64","BuildTime":"Fri May 30 12:07:14 2025",)"
                R"("Context":"default"}')"
                "\n"
                "  echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\n"
                "  exit 1 ;;\n"
                "esac\n"
                "echo \"docker: unknown command: docker $1\" >&2\n"
                "exit 1\n");
  chmod(stub.c_str(), 0755);

  auto result =
      run_launcher(dir, {"--docker", stub.string(), "build", "--offline", "--cuda", "cpu", "--context", source_dir()});
  INFO(result.err);
  CHECK(result.exit_code == 3);
  CHECK(result.out.empty());
  CHECK(result.err ==
        "launcher: error: " + stub.string() +
            " (Docker CLI 28.2.2) cannot build with BuildKit (no buildx plugin, which a CLI from 23 on "
            "needs for BuildKit) and launcher build never uses the legacy builder: install the buildx "
            "plugin (Debian: docker-buildx, Docker's apt repository: docker-buildx-plugin), or name a CLI "
            "that has it or BuildKit built in (20.10 to 22.x): launcher --docker PATH build\n");
  std::ifstream log(calls);
  std::string recorded{std::istreambuf_iterator<char>(log), {}};
  CHECK(recorded == "version --format {{json .Client}}\nbuildx version\n");
}
