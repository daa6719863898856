// A real browser: Debian's Chromium, headless, opens the login URL `up` printed.
#include <httplib.h>

#include <functional>

#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

launcher::process::ProcessResult chromium(const TempDir& profile, std::vector<std::string> args) {
  // The flags that keep Chromium off the network it cannot reach here, as root, without a GPU.
  std::vector<std::string> argv{"chromium",
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--user-data-dir=" + profile.path.string(),
                                "--virtual-time-budget=8000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return launcher::process::run_process(argv);
}

// Chromium's DOM of `url` once `shows` holds for it, else its last one: what a page requests
// after it loads (the file list) can miss the virtual time budget on a loaded machine, so the
// page is loaded again until it shows.
launcher::process::ProcessResult page_where(const TempDir& profile, const std::string& url,
                                            const std::function<bool(const std::string&)>& shows) {
  launcher::process::ProcessResult page;
  wait_until(
      [&] {
        page = chromium(profile, {"--dump-dom", url});
        return shows(page.out);
      },
      std::chrono::seconds(60));
  return page;
}

std::string output_of(const std::vector<std::string>& argv) {
  auto result = launcher::process::run_process(argv);
  return result.out + result.err;
}

// nbclassic's file list (the Debian image) or JupyterLab's file browser (the real image).
bool shows_file_browser(const std::string& dom) {
  return dom.find("id=\"notebook_list\"") != std::string::npos || dom.find("jp-DirListing") != std::string::npos;
}

// Where a browser would go after the login page: nowhere, or a path on this server.
bool stays_on_server(const httplib::Result& result) {
  if (!result || !result->has_header("Location")) return true;
  std::string location = result->get_header_value("Location");
  return location.rfind("/", 0) == 0 && location.rfind("//", 0) != 0 && location.find('\\') == std::string::npos &&
         location.find("evil.example") == std::string::npos;
}

} // namespace

TEST_CASE("browser: the login URL opens the Jupyter file browser, the bare URL the login page", "[e2e][browser]") {
  require_engine();
  require_lifecycle_image();
  if (launcher::process::run_process({"sh", "-c", "command -v chromium"}).exit_code != 0)
    skip_or_fail("Chromium is not installed (Debian package chromium)");
  TempDir dir;
  dir.write("seen-in-the-browser.txt", "hello\n");
  std::string name = unique_name("browser");
  auto up = run_launcher(
      dir, {"up", "--json", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  std::string url = json::parse(up.out)["url"];

  TempDir profile;
  auto page = page_where(
      profile, url, [](const std::string& dom) { return dom.find("seen-in-the-browser.txt") != std::string::npos; });
  INFO("chromium exit " << page.exit_code << " on " << url << ", " << page.out.size()
                        << " bytes: " << page.out.substr(0, 300));
  CHECK(shows_file_browser(page.out));
  CHECK(page.out.find("seen-in-the-browser.txt") != std::string::npos);

  std::filesystem::path screenshot = std::filesystem::path(LAUNCHER_ARTIFACT_DIR) / "jupyter-file-browser.png";
  std::filesystem::create_directories(screenshot.parent_path());
  chromium(profile, {"--window-size=1280,800", "--screenshot=" + screenshot.string(), url});
  std::ifstream png(screenshot, std::ios::binary);
  std::string signature(8, '\0');
  png.read(signature.data(), 8);
  CHECK(signature == "\x89PNG\r\n\x1a\n");

  TempDir fresh;
  auto login = page_where(fresh, url.substr(0, url.find('?')), [](const std::string& dom) {
    return dom.find("id=\"password_input\"") != std::string::npos;
  });
  CHECK(login.out.find("id=\"password_input\"") != std::string::npos);
  CHECK(login.out.find("notebook_list") == std::string::npos);
  CHECK_FALSE(shows_file_browser(login.out));
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
}

TEST_CASE("browser: once Chromium opened the login URL no log holds the token, and next= stays on the server",
          "[e2e][browser]") {
  require_engine();
  require_lifecycle_image();
  if (launcher::process::run_process({"sh", "-c", "command -v chromium"}).exit_code != 0)
    skip_or_fail("Chromium is not installed (Debian package chromium)");
  TempDir dir;
  std::string name = unique_name("browser-logs");
  ContainerGuard guard{name};
  auto up = run_launcher(
      dir, {"up", "--json", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  json ready = json::parse(up.out);
  std::string url = ready["url"];
  std::string token = url.substr(url.find("?token=") + 7);
  REQUIRE(token.size() == 64);

  TempDir profile;
  auto page = page_where(profile, url, shows_file_browser);
  REQUIRE(shows_file_browser(page.out));
  // The request lines are there, their tokens redacted: the check below is not vacuous.
  CHECK(output_of({docker(), "logs", name}).find("token=[redacted]") != std::string::npos);
  CHECK(output_of({docker(), "logs", name}).find(token) == std::string::npos);
  CHECK(output_of({launcher_binary(), "logs", name}).find(token) == std::string::npos);
  // Every log file in the container, read as root.
  auto files = launcher::process::run_process({docker(), "exec", name, "sh", "-c",
                                               "find / \\( -path /proc -o -path /sys \\) -prune -o -type f \\( -name "
                                               "'*.log' -o -path '/var/log/*' \\) -print0 | "
                                               "xargs -0r cat"});
  CHECK(files.exit_code == 0);
  CHECK(files.out.find(token) == std::string::npos);

  httplib::Client client("127.0.0.1", ready["ports"][0]["host_port"].get<int>());
  client.set_url_encode(false); // sent as written: the encoding is the attack
  // Decoded once: ///evil.example (CVE-2023-39968), //evil.example, \\evil.example, http://evil.example
  // (encoded and not), %2F%2Fevil.example.
  for (const char* next : {"%2F%2F%2Fevil.example", "//evil.example", "%5C%5Cevil.example", "http%3A%2F%2Fevil.example",
                           "http://evil.example", "%252F%252Fevil.example"}) {
    INFO("next=" << next);
    auto redirected = client.Get(("/login?next=" + std::string(next)).c_str(), {{"Authorization", "token " + token}});
    REQUIRE(redirected);
    CHECK(redirected->status == 302);
    CHECK(stays_on_server(redirected));
  }
  CHECK(output_of({docker(), "logs", name}).find(token) == std::string::npos);
}
