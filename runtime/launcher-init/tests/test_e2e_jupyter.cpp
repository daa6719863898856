#include <catch2/catch.hpp>

#include <httplib.h>

#include "e2e_support.hpp"

using namespace e2e;

namespace {

httplib::Headers with_token(const std::string& token) { return {{"Authorization", "token " + token}}; }

int status_of(const httplib::Result& result) { return result ? result->status : -1; }

// Every place a secret could leak to on this machine: each process's argv and environment.
std::vector<std::string> processes_containing(const std::string& secret) {
  std::vector<std::string> found;
  for (const auto& process : all_processes()) {
    for (const char* file : {"cmdline", "environ"}) {
      if (proc_file(process.pid, file).find(secret) != std::string::npos) {
        found.push_back(std::to_string(process.pid) + " (" + process.name + ") " + file);
      }
    }
  }
  return found;
}

// Jupyter Server's own hash of `password` (argon2, as the launcher makes it with libsodium).
std::string jupyter_password_hash(const std::string& password) {
  auto hashed = run_program({"python3", "-c",
                             "import os, sys; from jupyter_server.auth import passwd; "
                             "sys.stdout.write(passwd(os.environ['PASSWORD']))"},
                            {{"PATH", "/usr/bin:/bin"}, {"PASSWORD", password}});
  REQUIRE(hashed.exit_status == 0);
  REQUIRE(hashed.output.starts_with("argon2:$argon2id$"));
  return hashed.output;
}

std::string cookie_value(const httplib::Result& result, const std::string& name) {
  for (const auto& [header, value] : result->headers) {
    if (header == "Set-Cookie" && value.starts_with(name + "=")) {
      return value.substr(name.size() + 1, value.find(';') - name.size() - 1);
    }
  }
  return "";
}

// A browser-style login form post; `next_query` is the query string's next= value, as sent.
httplib::Result log_in_going_to(httplib::Client& client, const std::string& password, const std::string& next_query) {
  auto form = client.Get("/login");
  REQUIRE(status_of(form) == 200);
  auto xsrf = cookie_value(form, "_xsrf");
  REQUIRE_FALSE(xsrf.empty());
  std::string path = next_query.empty() ? "/login" : "/login?next=" + next_query;
  return client.Post(path.c_str(), {{"Cookie", "_xsrf=" + xsrf}},
                     httplib::Params{{"_xsrf", xsrf}, {"password", password}});
}

int log_in(httplib::Client& client, const std::string& password) {
  return status_of(log_in_going_to(client, password, ""));
}

// Where a browser would go next: nowhere, or a path on this server (never '//host' or '/\\host').
bool stays_on_server(const httplib::Result& result) {
  if (!result || !result->has_header("Location")) return true;
  auto location = result->get_header_value("Location");
  return location.starts_with("/") && !location.starts_with("//") && location.find('\\') == std::string::npos &&
         location.find("evil.example") == std::string::npos;
}

} // namespace

TEST_CASE("jupyter: the token by file guards /api/status, password mode works, no secret leaks") {
  if (!prerequisites_met({"jupyter-server", "python3", "sshd", "cp"})) return;
  Sandbox sandbox("jupyter,ssh");
  const std::string password = "pw-" + random_hex(8);
  const std::string password_hash = jupyter_password_hash(password);
  write_secret(sandbox.secrets_dir / "jupyter_password_hash", password_hash, sandbox.user.uid);
  auto launcher = sandbox.start();

  httplib::Client client("127.0.0.1", sandbox.jupyter_port);
  client.set_connection_timeout(2);
  REQUIRE(wait_until([&] { return static_cast<bool>(client.Get("/api")); }, 60s));
  REQUIRE(wait_until([&] { return port_accepts(sandbox.ssh_port); }, 60s));
  INFO("launcher-init output at startup:\n" << launcher->output());

  SECTION("403 without a token, 403 with a wrong one, 200 with the right one") {
    CHECK(status_of(client.Get("/api/status")) == 403);
    CHECK(status_of(client.Get("/api/status", with_token(random_hex(24)))) == 403);
    CHECK(status_of(client.Get("/api/status", with_token(sandbox.token))) == 200);
  }

  SECTION("the Host check against DNS rebinding stays on") {
    auto headers = with_token(sandbox.token);
    headers.emplace("Host", "evil.example:" + std::to_string(sandbox.jupyter_port));
    CHECK(status_of(client.Get("/api/status", headers)) == 403);
  }

  SECTION("after login, next= never sends the browser off this server") {
    // Decoded once: ///evil.example (CVE-2023-39968), //evil.example, \\evil.example, http://evil.example
    // (encoded and not), %2F%2Fevil.example, /<tab>/evil.example, /\\evil.example, https:///evil.example.
    for (const char* next : {"%2F%2F%2Fevil.example", "//evil.example", "%5C%5Cevil.example",
                             "http%3A%2F%2Fevil.example", "http://evil.example", "%252F%252Fevil.example",
                             "%2F%09%2Fevil.example", "%2F%5Cevil.example", "https%3A%2F%2F%2Fevil.example"}) {
      INFO("next=" << next);
      auto with_token_header = client.Get(("/login?next=" + std::string(next)).c_str(), with_token(sandbox.token));
      CHECK(status_of(with_token_header) == 302);
      CHECK(stays_on_server(with_token_header));
      auto form_login = log_in_going_to(client, password, next);
      CHECK(status_of(form_login) == 302);
      CHECK(stays_on_server(form_login));
    }
    auto local = client.Get("/login?next=%2Ftree%2Fwork", with_token(sandbox.token));
    REQUIRE(local);
    CHECK(local->get_header_value("Location") == "/tree/work"); // a path of this server still works
  }

  SECTION("the login URL's token, right or wrong, is redacted from every log line") {
    const std::string wrong = random_hex(24);
    client.Get(("/?token=" + sandbox.token).c_str());
    client.Get(("/login?token=" + sandbox.token).c_str());
    client.Get(("/api/status?token=" + wrong).c_str()); // a 403: Jupyter logs it with its query
    client.Get(("/login?next=%2Ftree%3Ftoken%3D" + sandbox.token).c_str());
    REQUIRE(
        wait_until([&] { return launcher->output().find("/api/status?token=[redacted]") != std::string::npos; }, 60s));
    CHECK(launcher->output().find(sandbox.token) == std::string::npos);
    CHECK(launcher->output().find(wrong) == std::string::npos);
  }

  SECTION("the password logs in, a wrong one does not") {
    CHECK(log_in(client, "wrong-" + password) != 302);
    CHECK(log_in(client, password) == 302);
  }

  SECTION("Jupyter runs as the user with its files readable only by the user") {
    // Debian's python3-nbclassic makes it jupyter-nbclassic; a bare Jupyter Server, jupyter-server.
    auto jupyter = child_named(launcher->pid(), "jupyter-nbclass");
    if (!jupyter) jupyter = child_named(launcher->pid(), "jupyter-server");
    REQUIRE(jupyter);
    CHECK(process_uid(*jupyter) == sandbox.user.uid);
    for (const char* file : {"/run/launcher/jupyter/token", "/run/launcher/jupyter/jupyter_server_config.py"}) {
      auto facts = file_facts(sandbox.outside(file));
      CHECK(facts.uid == sandbox.user.uid);
      CHECK(facts.mode == 0400);
    }
    CHECK(read_text(sandbox.outside("/run/launcher/jupyter/token")) == sandbox.token);
    auto runtime = file_facts(sandbox.outside("/run/launcher/jupyter/runtime"));
    CHECK(runtime.uid == sandbox.user.uid);
    CHECK(runtime.mode == 0700);
    auto environment = proc_file(*jupyter, "environ");
    CHECK(environment.find("JUPYTER_TOKEN_FILE=/run/launcher/jupyter/token") != std::string::npos);
    CHECK(environment.find("JUPYTER_TOKEN=") == std::string::npos);
  }

  SECTION("neither argv, environments nor the container log hold the token, password or hash") {
    client.Get("/api/status", with_token(random_hex(24))); // a refused request is logged too
    for (const auto& secret : {sandbox.token, password, password_hash}) {
      CHECK(processes_containing(secret).empty());
      CHECK(launcher->output().find(secret) == std::string::npos);
    }
    CHECK(launcher->output().find("[jupyter] ") != std::string::npos);
    CHECK(launcher->output().find("authentication is disabled") == std::string::npos);
  }

  SECTION("health answers 0, and 1 once the services are gone") {
    CHECK(run_launcher(sandbox.settings, {"health"}).exit_status == 0);
    ::kill(launcher->pid(), SIGTERM);
    CHECK(launcher->wait_for_exit(60s) == 0);
    auto health = run_launcher(sandbox.settings, {"health"});
    CHECK(health.exit_status == 1);
    CHECK(health.output.find("launcher-init: failed to connect to: 127.0.0.1 port ") != std::string::npos);
  }
}
