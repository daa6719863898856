// A real browser: Debian's Chromium, headless, opens the login URL `up` printed.
#include "support.hpp"

using namespace launcher::e2e;
using nlohmann::json;

namespace {

launcher::process::ProcessResult chromium(const TempDir& profile, std::vector<std::string> args) {
  // The flags that keep Chromium off the network it cannot reach here, as root, without a GPU.
  std::vector<std::string> argv{"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--user-data-dir=" + profile.path.string(), "--virtual-time-budget=8000"};
  argv.insert(argv.end(), args.begin(), args.end());
  return launcher::process::run_process(argv);
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
  auto up = run_launcher(dir, {"up", "--json", "--gpus", "none", "-p", "auto:8888", "--name", name, "--image", lifecycle_image()});
  INFO(up.err);
  REQUIRE(up.exit_code == 0);
  std::string url = json::parse(up.out)["url"];

  TempDir profile;
  auto page = chromium(profile, {"--dump-dom", url});
  INFO("chromium exit " << page.exit_code << " on " << url << ", " << page.out.size() << " bytes: " << page.out.substr(0, 300));
  CHECK(page.out.find("id=\"notebook_list\"") != std::string::npos);
  CHECK(page.out.find("seen-in-the-browser.txt") != std::string::npos);

  std::filesystem::path screenshot = std::filesystem::path(LAUNCHER_ARTIFACT_DIR) / "jupyter-file-browser.png";
  std::filesystem::create_directories(screenshot.parent_path());
  chromium(profile, {"--window-size=1280,800", "--screenshot=" + screenshot.string(), url});
  std::ifstream png(screenshot, std::ios::binary);
  std::string signature(8, '\0');
  png.read(signature.data(), 8);
  CHECK(signature == "\x89PNG\r\n\x1a\n");

  TempDir fresh;
  auto login = chromium(fresh, {"--dump-dom", url.substr(0, url.find('?'))});
  CHECK(login.out.find("id=\"password_input\"") != std::string::npos);
  CHECK(login.out.find("notebook_list") == std::string::npos);
  CHECK(run_launcher(dir, {"down", name, "--force"}).exit_code == 0);
}
