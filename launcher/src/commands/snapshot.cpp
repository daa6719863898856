#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands/lifecycle.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "engine/engine.hpp"
#include "host/host_facts.hpp"
#include "host/state_layout.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "lifecycle/snapshot.hpp"

namespace launcher::commands {

namespace {

// launcher-init writes the user's password hash into /etc/shadow, in the container's own layer,
// which a commit would copy: for the commit, the hash is blanked and the file kept on the
// tmpfs, then put back. A password login during those seconds is refused.
class ShadowSeal {
public:
  ShadowSeal(const engine::Engine& engine, std::string container, const std::string& user)
      : engine_(engine), container_(std::move(container)) {
    engine_.exec_checked(container_, {"0", ""},
                         {"sh", "-c",
                          std::string("cp -p /etc/shadow ") + saved + " && sed -i 's/^" + user + ":[^:]*:/" + user +
                              ":*:/' /etc/shadow"},
                         "keep the password hash of " + container_ + " out of the snapshot");
  }
  ~ShadowSeal() {
    engine_.exec(container_, {"0", ""}, {"sh", "-c", std::string("cat ") + saved + " > /etc/shadow && rm " + saved});
  }
  ShadowSeal(const ShadowSeal&) = delete;
  ShadowSeal& operator=(const ShadowSeal&) = delete;

private:
  static constexpr const char* saved = "/run/launcher/shadow.before-snapshot";
  const engine::Engine& engine_;
  std::string container_;
};

// Config.Env of an inspected image or container.
std::vector<std::string> environment_of(const JsonReader& inspected) {
  std::vector<std::string> environment;
  if (auto config = inspected.find("Config"))
    if (auto env = config->find("Env"))
      for (const auto& entry : env->elements())
        environment.push_back(entry.string());
  return environment;
}

std::string joined(const std::vector<std::string>& paths) {
  std::string text;
  for (const auto& path : paths)
    text += (text.empty() ? "" : ", ") + path;
  return text;
}

} // namespace

void add_snapshot_command(CLI::App& app, Context& context) {
  struct Options {
    EnvOption env;
    std::optional<std::string> tag;
    std::vector<std::string> include;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = env_subcommand(
      app, "snapshot", "commit an environment's container to a new image, secrets excluded", options->env);
  command->add_option("--tag", options->tag,
                      "image name:tag (default: <image repository>:<tag>-snapshot-<env>-<yyyymmdd-hhmm>)");
  command
      ->add_option("--include", options->include,
                   "keep this secret path of the home in the snapshot (~/.bash_history, ~/.ssh, ...; "
                   "repeatable); every other one is left out")
      ->type_name("PATH");
  command->add_flag("--json", options->json, "print the result as one JSON object");
  command->callback([options, &context] {
    if (options->tag)
      if (std::string problem = lifecycle::image_reference_problem(*options->tag); !problem.empty())
        throw Error(ExitCode::usage, "--tag " + *options->tag + ": Docker would refuse it: " + problem);
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    const std::string& env = options->env.env;
    host::HostFacts host = host::read_host_facts();
    // A snapshot taken while `up` replaces the container, or `down` removes it, would be of neither.
    lifecycle::EnvironmentLock lock(host.state_home, env, *context.err, false);
    nlohmann::json container = lifecycle::require_environment(*engine, env);
    std::string name = lifecycle::name_of(container);
    JsonReader inspected(container, "docker container inspect");
    std::string image = inspected.at("Config").string_or("Image", "");
    std::string base = inspected.string_or("Image", "");
    std::string user = lifecycle::env_variable(container, contract::env::user);
    std::vector<std::string> homes =
        lifecycle::secret_homes(user.empty() || user == "root" ? "/root" : "/home/" + user);
    std::vector<std::string> included;
    for (const auto& argument : options->include)
      included.push_back(lifecycle::included_secret_path(argument, homes, host.home.string()));
    std::time_t now = std::time(nullptr);
    std::string tag = options->tag.value_or(lifecycle::default_snapshot_tag(image, env, now));
    if (std::string problem = lifecycle::image_reference_problem(tag); !problem.empty())
      throw Error(ExitCode::usage,
                  "the snapshot's name " + tag + " would be refused by Docker (" + problem + "); name one with --tag");
    char time_text[32];
    std::strftime(time_text, sizeof time_text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    // docker commit pauses a running container for the copy and resumes it; mounts (the volumes,
    // the secrets) and tmpfs (/run/launcher) are never part of the image. The container's own
    // labels would be committed too: blanked, so a container run from the snapshot by hand is
    // no launcher environment (a commit cannot remove a label).
    std::vector<std::string> changes;
    auto label = [&](const std::string& key, const std::string& value) {
      changes.push_back("LABEL " + key + "=\"" + value + "\"");
    };
    for (const char* key :
         {contract::label::env, contract::label::profile, contract::label::plan_hash, contract::label::gpus})
      label(key, "");
    label(contract::label::snapshot_of, env);
    label(contract::label::base_digest, base);
    label(contract::label::snapshot_time, time_text);
    // The image's own environment: no value of `-e` or the profile's `env` goes into the image.
    auto base_image = engine->inspect_image(base);
    if (!base_image)
      throw Error(ExitCode::failed, "cannot read the image " + base + " that environment \"" + env +
                                        "\" was made from: its environment variables, which the snapshot takes "
                                        "instead of the container's, are unknown");
    for (const auto& change : lifecycle::environment_changes(
             environment_of(JsonReader(*base_image, "docker image inspect " + base)), environment_of(inspected)))
      changes.push_back(change);
    // What the snapshot holds, for `down` to say so; then the package record the image will carry.
    lifecycle::UnsavedWork work = lifecycle::find_unsaved_work(*engine, container);
    std::vector<std::string> left_out;
    for (const auto& secret : work.secrets)
      if (!lifecycle::is_included(secret, included)) left_out.push_back(secret);
    if (!left_out.empty() && !lifecycle::is_running(container))
      throw Error(ExitCode::failed, "environment \"" + env + "\" is stopped, and its container holds secrets (" +
                                        joined(left_out) +
                                        ") that only a running container can keep out of the snapshot: start it "
                                        "(`launcher up`) and snapshot again, or keep them with --include PATH");
    lifecycle::PackageBaseline baseline(*engine, container);
    if (!baseline.rewritten())
      *context.err << "launcher: warning: the snapshot keeps " << lifecycle::package_record << " of "
                   << (lifecycle::is_running(container) ? "its image" : "its image (the environment is stopped)")
                   << ": an environment started from it will name the packages installed here as new\n";
    host::StateLayout layout = host::state_layout(EnvName::parse(env), host.state_home);
    std::optional<ShadowSeal> seal;
    if (!user.empty() && user != "root" && std::filesystem::exists(layout.user_password_hash())) {
      if (!lifecycle::is_running(container))
        throw Error(ExitCode::failed, "environment \"" + env +
                                          "\" is stopped, and its /etc/shadow holds the login password's hash, "
                                          "which only a running container can keep out of the snapshot: start it "
                                          "(`launcher up`) and snapshot again");
      seal.emplace(*engine, name, user);
    }
    // The env's user moves its own home's secrets (root following a link it planted there would
    // write where it points); root moves root's.
    std::string uid = lifecycle::env_variable(container, contract::env::uid);
    std::string gid = lifecycle::env_variable(container, contract::env::gid);
    bool user_is_root = uid.empty() || uid == "0" || gid.empty();
    std::vector<std::string> users_secrets, roots_secrets;
    for (const auto& secret : left_out)
      (user_is_root || secret == "/root" || starts_with(secret, "/root/") ? roots_secrets : users_secrets)
          .push_back(secret);
    lifecycle::SecretStash roots_stash(*engine, name, roots_secrets, "0");
    lifecycle::SecretStash users_stash(*engine, name, users_secrets, uid + ":" + gid);
    if (!engine->commit(name, changes, tag, "snapshot " + env))
      *context.err << "launcher: warning: " << env
                   << " ran during the copy: rootless Podman on cgroup v1 cannot "
                      "pause it, so a file written meanwhile may be in the snapshot half-written\n";
    for (auto* stash : {&users_stash, &roots_stash})
      for (const auto& moved : stash->restore())
        *context.err << "launcher: warning: a file took the place of a secret during the snapshot; the secret is "
                        "back as "
                     << moved << "\n";
    if (!left_out.empty())
      *context.err << "launcher: left out of the snapshot, as secrets (`--include PATH` keeps one): "
                   << joined(left_out) << "\n";
    auto committed = engine->inspect_image(tag);
    std::string id = committed ? JsonReader(*committed, "docker image inspect").string_or("Id", "") : "";
    std::vector<std::string> held_files;
    for (const auto& file : work.files)
      if (std::string secret = lifecycle::secret_path_holding(file, homes);
          secret.empty() || lifecycle::is_included(secret, included))
        held_files.push_back(file);
    lifecycle::SnapshotHeld held{tag, time_text, held_files, work.python};
    held.packages.insert(held.packages.end(), work.debian.begin(), work.debian.end());
    lifecycle::record_snapshot(layout, {inspected.string_or("Id", ""), id, std::move(held)});
    if (options->json) {
      *context.out << nlohmann::json{{"env", env},   {"tag", tag},     {"id", id},
                                     {"base", base}, {"image", image}, {"left_out", left_out}}
                          .dump(2)
                   << "\n";
      return;
    }
    *context.out << lifecycle::snapshot_hints(env, tag, id, lifecycle::profile_of(container));
  });
}

} // namespace launcher::commands
