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

}  // namespace

std::string render_jupyter_config(const JupyterOptions& options) {
    std::string config =
        "# Written by launcher-init at every start; edits are lost.\n"
        "import jupyter_server\n"
        "\n"
        "c = get_config()  # noqa: F821\n"
        "# Inside the container on all interfaces: the host side publishes the port on 127.0.0.1.\n";
    config += "c.ServerApp.ip = " + python_string(options.listen_address.value_or("")) + "\n";
    config += "c.ServerApp.port = " + std::to_string(options.port) + "\n";
    config +=
        "c.ServerApp.port_retries = 0  # fail instead of moving to a port nobody publishes\n"
        "c.ServerApp.open_browser = False\n"
        "# Keeps the Host-header check against DNS rebinding on, although ip is not loopback.\n"
        "c.ServerApp.allow_remote_access = False\n"
        "c.ServerApp.allow_origin = ''\n"
        "c.ServerApp.disable_check_xsrf = False\n";
    config += "c.ServerApp.root_dir = " + python_string(options.root_dir) + "\n";
    if (options.allow_root) config += "c.ServerApp.allow_root = True\n";
    // Jupyter Server 2 moved the password settings to PasswordIdentityProvider and warns about the
    // old names; 1.x knows only the old ones.
    config +=
        "\n"
        "if int(jupyter_server.__version__.split('.')[0]) >= 2:\n"
        "    password_settings, hashed_password_name = c.PasswordIdentityProvider, 'hashed_password'\n"
        "else:\n"
        "    password_settings, hashed_password_name = c.ServerApp, 'password'\n"
        "# A token holder must not be able to set a password that outlives the container.\n"
        "password_settings.allow_password_change = False\n";
    if (options.password_hash) {
        config += "password_settings[hashed_password_name] = " + python_string(*options.password_hash) + "\n";
    }
    return config;
}

std::string jupyter_password_hash_problem(std::string_view hash) {
    constexpr std::string_view prefix = "argon2:$argon2id$";
    if (!hash.starts_with(prefix)) return "expected Jupyter Server's 'argon2:$argon2id$...' format";
    bool plain = std::all_of(hash.begin(), hash.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("$=,+/.:-").find(c) != std::string_view::npos;
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

}  // namespace launcher_init
