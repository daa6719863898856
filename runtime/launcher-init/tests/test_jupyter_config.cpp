#include <catch2/catch.hpp>

#include <map>

#include "jupyter_config.hpp"

using namespace launcher_init;

namespace {

bool has_line(const std::string& config, const std::string& line) {
  return config.find("\n" + line + "\n") != std::string::npos;
}

ProgramFinder installed(std::map<std::string, std::string, std::less<>> programs) {
  return [programs](std::string_view name) -> std::optional<std::string> {
    if (auto found = programs.find(name); found != programs.end()) return found->second;
    return std::nullopt;
  };
}

} // namespace

TEST_CASE("jupyter config: the security settings, and never the token") {
  JupyterOptions options;
  options.root_dir = "/workspace";
  auto config = render_jupyter_config(options);
  for (const char* line : {"c.ServerApp.ip = ''", "c.ServerApp.port = 8888", "c.ServerApp.open_browser = False",
                           "c.ServerApp.allow_remote_access = False", "c.ServerApp.allow_origin = ''",
                           "c.ServerApp.disable_check_xsrf = False", "c.ServerApp.root_dir = '/workspace'",
                           "password_settings.allow_password_change = False"}) {
    CHECK(has_line(config, line));
  }
  CHECK(config.find("port_retries = 0") != std::string::npos);
  CHECK(config.find(".token") == std::string::npos); // the token comes by JUPYTER_TOKEN_FILE
  CHECK(config.find("allow_root") == std::string::npos);
  CHECK(config.find("hashed_password_name] =") == std::string::npos);
}

TEST_CASE("jupyter config: our login handler on 1.x and 2.x, and a log record factory that redacts tokens") {
  JupyterOptions options;
  options.root_dir = "/workspace";
  auto config = render_jupyter_config(options);
  CHECK(has_line(config, "jupyter_server_2 = int(jupyter_server.__version__.split('.')[0]) >= 2"));
  CHECK(has_line(config, "    c.IdentityProvider.login_handler_class = LocalRedirectLoginHandler"));
  CHECK(has_line(config, "    c.ServerApp.login_handler_class = LocalRedirectLoginHandler"));
  CHECK(has_line(config, "logging.setLogRecordFactory(log_record_without_secrets)"));
}

TEST_CASE("jupyter config: password mode, root, address") {
  JupyterOptions options;
  options.root_dir = "/root/it's";
  options.listen_address = "127.0.0.1";
  options.port = 40888;
  options.allow_root = true;
  options.password_hash = "argon2:$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  auto config = render_jupyter_config(options);
  CHECK(has_line(config,
                 "password_settings[hashed_password_name] = 'argon2:$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA'"));
  CHECK(has_line(config, "c.ServerApp.allow_root = True"));
  CHECK(has_line(config, "c.ServerApp.ip = '127.0.0.1'"));
  CHECK(has_line(config, "c.ServerApp.port = 40888"));
  CHECK(has_line(config, "c.ServerApp.root_dir = '/root/it\\'s'"));
}

TEST_CASE("jupyter config: only argon2 hashes in Jupyter's format") {
  CHECK(jupyter_password_hash_problem("argon2:$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA").empty());
  CHECK_FALSE(jupyter_password_hash_problem("sha1:abc:def").empty());
  CHECK_FALSE(jupyter_password_hash_problem("$argon2id$v=19$m=1,t=1,p=1$a$b").empty());
  CHECK_FALSE(jupyter_password_hash_problem("argon2:$argon2id$v=19'\nimport os").empty());
}

TEST_CASE("jupyter command: lab, then server, then the python module") {
  const std::string config = "/run/launcher/jupyter/jupyter_server_config.py";
  auto everything = installed({{"jupyter-lab", "/usr/bin/jupyter-lab"},
                               {"jupyter-server", "/usr/bin/jupyter-server"},
                               {"python3", "/usr/bin/python3"}});
  CHECK(jupyter_command(everything, config) == std::vector<std::string>{"/usr/bin/jupyter-lab", "--config=" + config});
  auto debian = installed({{"jupyter-nbclassic", "/usr/bin/jupyter-nbclassic"},
                           {"jupyter-server", "/usr/bin/jupyter-server"},
                           {"python3", "/usr/bin/python3"}});
  CHECK(jupyter_command(debian, config) ==
        std::vector<std::string>{"/usr/bin/jupyter-nbclassic", "--config=" + config});
  auto server_only = installed({{"jupyter-server", "/usr/bin/jupyter-server"}, {"python3", "/usr/bin/python3"}});
  CHECK(jupyter_command(server_only, config) ==
        std::vector<std::string>{"/usr/bin/jupyter-server", "--config=" + config});
  auto python_only = installed({{"python3", "/opt/conda/bin/python3"}});
  CHECK(jupyter_command(python_only, config) ==
        std::vector<std::string>{"/opt/conda/bin/python3", "-m", "jupyter_server", "--config=" + config});
  CHECK_FALSE(jupyter_command(installed({}), config));
}
