#include "commands/secret.hpp"

#include <memory>
#include <ostream>

#include <nlohmann/json.hpp>

#include "commands/lifecycle.hpp"
#include "core/env_name.hpp"
#include "host/host_facts.hpp"
#include "host/state_layout.hpp"
#include "lifecycle/environments.hpp"
#include "secrets/env_secrets.hpp"

namespace launcher::commands {

namespace {

void print(std::ostream& out, const secrets::EnvSecrets& secrets, bool json) {
  if (json) {
    nlohmann::json object = nlohmann::json::object();
    auto put = [&](const char* key, const std::optional<std::string>& value) {
      if (value) object[key] = *value;
    };
    put("jupyter_token", secrets.jupyter_token);
    put("jupyter_password", secrets.jupyter_password);
    put("user_password", secrets.user_password);
    put("host_key_fingerprint", secrets.host_key_fingerprint);
    out << object.dump(2) << "\n";
    return;
  }
  auto line = [&](const char* label, const std::optional<std::string>& value) {
    if (value) out << label << *value << "\n";
  };
  line("jupyter token:    ", secrets.jupyter_token);
  line("jupyter password: ", secrets.jupyter_password);
  line("login password:   ", secrets.user_password);
  line("ssh host key:     ", secrets.host_key_fingerprint);
}

} // namespace

void add_secret_command(CLI::App& app, Context& context) {
  struct Options {
    std::string env;
    bool json = false;
    bool host_key = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* secret = app.add_subcommand("secret", "show or rotate an environment's token, passwords and host key");
  secret->require_subcommand(1);

  CLI::App* show = secret->add_subcommand("show", "print the environment's secrets (and nothing else does)");
  show->add_option("ENV", options->env, "environment name")->required()->check(env_name_validator());
  show->add_flag("--json", options->json, "print them as JSON");
  show->callback([options, &context] {
    EnvName env = EnvName::parse(options->env);
    host::HostFacts host = host::read_host_facts();
    auto layout = host::state_layout(env, host.state_home);
    // Read without the lock (an `up` holds it while it waits for the service); read again under it
    // only when a rotate was caught between its renames, so a password shown always logs in. A
    // hash is read after its password: a rotate renames the hash first.
    std::optional<secrets::EnvSecrets> shown = secrets::read_agreeing_secrets(layout, env);
    if (!shown) {
      lifecycle::EnvironmentLock lock(layout, *context.err);
      shown = secrets::read_env_secrets(layout, env);
    }
    print(*context.out, *shown, options->json);
  });

  CLI::App* rotate =
      secret->add_subcommand("rotate", "replace the token and passwords; they take effect on the next up");
  rotate->add_option("ENV", options->env, "environment name")->required()->check(env_name_validator());
  rotate->add_flag("--host-key", options->host_key, "replace the SSH host key too (clients will see a new key)");
  rotate->add_flag("--json", options->json, "print the new secrets as JSON");
  rotate->callback([options, &context] {
    EnvName env = EnvName::parse(options->env);
    host::HostFacts host = host::read_host_facts();
    auto layout = host::state_layout(env, host.state_home);
    secrets::read_env_secrets(layout, env); // an env without secrets is an error before any lock
    // The lock `up` and `down` take: two rotates, or a rotate and an `up`, never interleave.
    lifecycle::EnvironmentLock lock(layout, *context.err);
    print(*context.out, secrets::rotate_env_secrets(layout, env, options->host_key), options->json);
  });
}

} // namespace launcher::commands
