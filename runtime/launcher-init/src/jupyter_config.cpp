#include "jupyter_config.hpp"

#include <algorithm>
#include <cctype>

namespace launcher_init {
namespace {

std::string python_string(std::string_view text) {
  std::string literal = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') literal += '\\';
    if (c == '\n') {
      literal += "\\n";
      continue;
    }
    literal += c;
  }
  return literal + "'";
}

// Python run in Jupyter's process at start, before it serves anything: a log record factory that
// redacts tokens from every logger's messages (tornado's request lines included), and a login
// handler whose redirect after login stays on this server.
constexpr std::string_view log_and_redirect_guards = R"PY(
# --- No token in a log line -----------------------------------------------------------------
# Request lines reach `docker logs`, and the login URL carries the token in its query. A
# record factory sees the records of every logger, whatever handlers Jupyter installs later.
import logging
import os
import re
from urllib.parse import unquote

from jupyter_server.auth import login

# Also percent-encoded inside another parameter: /login?next=%2Ftree%3Ftoken%3D...
SECRET_IN_QUERY = re.compile(r'((?:token|_xsrf)(?:=|%3D|%253D))[^&\s\'"]+', re.IGNORECASE)
TOKEN = ''
if os.environ.get('JUPYTER_TOKEN_FILE'):
    with open(os.environ['JUPYTER_TOKEN_FILE']) as token_file:
        TOKEN = token_file.read()


def without_secrets(text):
    text = SECRET_IN_QUERY.sub(r'\1[redacted]', text)
    return text.replace(TOKEN, '[redacted]') if TOKEN else text


make_log_record = logging.getLogRecordFactory()


def log_record_without_secrets(*args, **kwargs):
    record = make_log_record(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format: logging would print the arguments with its complaint
        message = str(record.msg)
    record.msg, record.args = without_secrets(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = without_secrets(logging.Formatter().formatException(record.exc_info))
    return record


logging.setLogRecordFactory(log_record_without_secrets)


# --- No redirect off this server after login -------------------------------------------------
def is_local_path(url, base_url):
    """Whether a browser sent to `url` stays on this server, below base_url.

    Each percent-decoding must pass too: a handler that decodes once more turns '/%2F%2Fhost'
    into '//host'. Browsers read '//host' and '/\\host' as another host and drop tabs and
    newlines ('/\t/host' is '//host'); a scheme never starts with '/'.
    """
    for _ in range(4):
        if not url.startswith('/') or url.startswith('//') or '\\' in url:
            return False
        if any(ord(char) < 0x20 or char == '\x7f' for char in url):
            return False
        if not (url + '/').startswith(base_url):
            return False
        decoded = unquote(url)
        if decoded == url:
            return True
        url = decoded
    return False


class LocalRedirectLoginHandler(login.LoginFormHandler if jupyter_server_2 else login.LoginHandler):
    """Jupyter's login page, redirecting after login only to a path on this server.

    Jupyter Server before 2.7.2 (Debian ships 1.23) redirects to next=///evil.example: CVE-2023-39968.
    """

    def _redirect_safe(self, url, default=None):
        if not is_local_path(url, self.base_url):
            self.log.warning('Not allowing login redirect off this server')
            url = default or self.base_url
        super()._redirect_safe(url, default)


# Jupyter Server 2 takes it from the identity provider and treats ServerApp's as a legacy setup.
if jupyter_server_2:
    c.IdentityProvider.login_handler_class = LocalRedirectLoginHandler
else:
    c.ServerApp.login_handler_class = LocalRedirectLoginHandler
)PY";

} // namespace

std::string render_jupyter_config(const JupyterOptions& options) {
  std::string config = "# Written by launcher-init at every start; edits are lost.\n"
                       "import jupyter_server\n"
                       "\n"
                       "c = get_config()  # noqa: F821\n"
                       "jupyter_server_2 = int(jupyter_server.__version__.split('.')[0]) >= 2\n"
                       "# Inside the container on all interfaces: the host side publishes the port on 127.0.0.1.\n";
  config += "c.ServerApp.ip = " + python_string(options.listen_address.value_or("")) + "\n";
  config += "c.ServerApp.port = " + std::to_string(options.port) + "\n";
  config += "c.ServerApp.port_retries = 0  # fail instead of moving to a port nobody publishes\n"
            "c.ServerApp.open_browser = False\n"
            "# Keeps the Host-header check against DNS rebinding on, although ip is not loopback.\n"
            "c.ServerApp.allow_remote_access = False\n"
            "c.ServerApp.allow_origin = ''\n"
            "c.ServerApp.disable_check_xsrf = False\n";
  config += "c.ServerApp.root_dir = " + python_string(options.root_dir) + "\n";
  if (options.allow_root) config += "c.ServerApp.allow_root = True\n";
  // Jupyter Server 2 moved the password settings to PasswordIdentityProvider and warns about the
  // old names; 1.x knows only the old ones.
  config += "\n"
            "if jupyter_server_2:\n"
            "    password_settings, hashed_password_name = c.PasswordIdentityProvider, 'hashed_password'\n"
            "else:\n"
            "    password_settings, hashed_password_name = c.ServerApp, 'password'\n"
            "# A token holder must not be able to set a password that outlives the container.\n"
            "password_settings.allow_password_change = False\n";
  if (options.password_hash) {
    config += "password_settings[hashed_password_name] = " + python_string(*options.password_hash) + "\n";
  }
  config += log_and_redirect_guards;
  return config;
}

std::string jupyter_password_hash_problem(std::string_view hash) {
  constexpr std::string_view prefix = "argon2:$argon2id$";
  if (!hash.starts_with(prefix)) return "expected Jupyter Server's 'argon2:$argon2id$...' format";
  bool plain = std::all_of(hash.begin(), hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("$=,+/.:-").find(c) != std::string_view::npos;
  });
  if (!plain) return "contains a character that an argon2 hash never has";
  return "";
}

std::optional<std::vector<std::string>> jupyter_command(const ProgramFinder& find_program,
                                                        const std::string& config_path) {
  const std::string config_option = "--config=" + config_path;
  // jupyter-nbclassic is Jupyter Server with the classic UI at "/" (Debian's python3-nbclassic);
  // plain jupyter-server would greet the user with a bare landing page.
  for (std::string_view program : {"jupyter-lab", "jupyter-nbclassic", "jupyter-server"}) {
    if (auto path = find_program(program)) return std::vector<std::string>{*path, config_option};
  }
  if (auto python = find_program("python3")) {
    return std::vector<std::string>{*python, "-m", "jupyter_server", config_option};
  }
  return std::nullopt;
}

} // namespace launcher_init
