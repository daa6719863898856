// The private page `open` hands the browser instead of a login URL on its command line.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/env_name.hpp"
#include "file_mode.hpp"
#include "lifecycle/login_page.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace launcher;
using launcher::testing::mode_of;
using launcher::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string content_of(const fs::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

const std::string url = "http://127.0.0.1:49153/?token=0123456789abcdef";

} // namespace

TEST_CASE("login page: refreshes to the URL at once and links to it", "[lifecycle][open]") {
  std::string page = lifecycle::login_page(url);
  CHECK_THAT(page, Catch::Contains("<meta http-equiv=\"refresh\" content=\"0;url=" + url + "\">"));
  CHECK_THAT(page, Catch::Contains("<a href=\"" + url + "\">"));
  CHECK_THAT(page, Catch::Contains("<meta name=\"referrer\" content=\"no-referrer\">"));
  // Characters that would end the attribute or start markup are escaped.
  std::string odd = lifecycle::login_page("http://h/?a=1&b=\"x\"<y>'z'");
  CHECK_THAT(odd, Catch::Contains("url=http://h/?a=1&amp;b=&quot;x&quot;&lt;y&gt;&#39;z&#39;\">"));
  CHECK_THAT(odd, !Catch::Contains("\"x\""));
}

TEST_CASE("login page: its file URL percent-encodes all but plain path bytes", "[lifecycle][open]") {
  CHECK(lifecycle::file_url("/run/user/1000/launcher/proj-jupyter-open.html") ==
        "file:///run/user/1000/launcher/proj-jupyter-open.html");
  CHECK(lifecycle::file_url("/home/a b/%x/\xc3\xbc?#") == "file:///home/a%20b/%25x/%C3%BC%3F%23");
}

TEST_CASE("login page: written 0600 in a 0700 directory, replaced whole, never through a link", "[lifecycle][open]") {
  TempDir dir;
  fs::path page = dir.path / "runtime" / "launcher" / "env-open.html";
  lifecycle::write_login_page(page, url);
  CHECK(mode_of(page) == 0600);
  CHECK(mode_of(page.parent_path()) == 0700);
  CHECK(content_of(page) == lifecycle::login_page(url));
  struct stat info {};
  REQUIRE(stat(page.c_str(), &info) == 0);
  CHECK(info.st_uid == geteuid());

  // Written again for a new token: the new page only.
  lifecycle::write_login_page(page, url + "99");
  CHECK(content_of(page) == lifecycle::login_page(url + "99"));
  CHECK(mode_of(page) == 0600);

  // A link left in its place is removed, not followed: the file it names is untouched.
  dir.write("elsewhere", "keep\n");
  fs::remove(page);
  fs::create_symlink(dir.path / "elsewhere", page);
  lifecycle::write_login_page(page, url);
  CHECK(content_of(dir.path / "elsewhere") == "keep\n");
  CHECK_FALSE(fs::is_symlink(page));
  CHECK(mode_of(page) == 0600);
  CHECK(content_of(page) == lifecycle::login_page(url));
}

TEST_CASE("login page: in $XDG_RUNTIME_DIR when it is private, else in the env's state directory",
          "[lifecycle][open]") {
  TempDir dir;
  host::StateLayout layout = host::state_layout(EnvName::parse("proj-jupyter"), dir.path / "state");
  CHECK(layout.open_page() == layout.env_dir / "open.html");
  CHECK(std::find(layout.env_files().begin(), layout.env_files().end(), layout.open_page()) !=
        layout.env_files().end()); // `down --purge` deletes it

  fs::path runtime = dir.path / "run";
  fs::create_directory(runtime);
  REQUIRE(chmod(runtime.c_str(), 0700) == 0);
  CHECK(lifecycle::login_page_path(layout, runtime.c_str()) == runtime / "launcher" / "proj-jupyter-open.html");

  CHECK(lifecycle::login_page_path(layout, nullptr) == layout.open_page());
  CHECK(lifecycle::login_page_path(layout, "") == layout.open_page());
  CHECK(lifecycle::login_page_path(layout, "run") == layout.open_page()); // relative
  fs::path link = dir.path / "run-link";
  fs::create_directory_symlink(runtime, link);
  CHECK(lifecycle::login_page_path(layout, link.c_str()) == layout.open_page());
  fs::path missing = dir.path / "missing";
  CHECK(lifecycle::login_page_path(layout, missing.c_str()) == layout.open_page());
  REQUIRE(chmod(runtime.c_str(), 0755) == 0); // others may enter it
  CHECK(lifecycle::login_page_path(layout, runtime.c_str()) == layout.open_page());
}
