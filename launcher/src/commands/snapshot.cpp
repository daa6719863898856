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
#include "docker/docker.hpp"
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
  ShadowSeal(const docker::Docker& docker, std::string container, const std::string& user)
      : docker_(docker), container_(std::move(container)) {
    docker_.run({"exec", "-u", "0", container_, "sh", "-c",
                 std::string("cp -p /etc/shadow ") + saved + " && sed -i 's/^" + user + ":[^:]*:/" + user +
                     ":*:/' /etc/shadow"},
                "keep the password hash of " + container_ + " out of the snapshot");
  }
  ~ShadowSeal() {
    docker_.try_run(
        {"exec", "-u", "0", container_, "sh", "-c", std::string("cat ") + saved + " > /etc/shadow && rm " + saved});
  }
  ShadowSeal(const ShadowSeal&) = delete;
  ShadowSeal& operator=(const ShadowSeal&) = delete;

private:
  static constexpr const char* saved = "/run/launcher/shadow.before-snapshot";
  const docker::Docker& docker_;
  std::string container_;
};

} // namespace

void add_snapshot_command(CLI::App& app, Context& context) {
  struct Options {
    EnvOption env;
    std::optional<std::string> tag;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = env_subcommand(
      app, "snapshot", "commit an environment's container to a new image, secrets excluded", options->env);
  command->add_option("--tag", options->tag,
                      "image name:tag (default: <image repository>:<tag>-snapshot-<env>-<yyyymmdd-hhmm>)");
  command->add_flag("--json", options->json, "print the result as one JSON object");
  command->callback([options, &context] {
    if (options->tag)
      if (std::string problem = lifecycle::image_reference_problem(*options->tag); !problem.empty())
        throw Error(ExitCode::usage, "--tag " + *options->tag + ": Docker would refuse it: " + problem);
    docker::Docker docker = context.docker_cli();
    const std::string& env = options->env.env;
    host::HostFacts host = host::read_host_facts();
    // A snapshot taken while `up` replaces the container, or `down` removes it, would be of neither.
    lifecycle::EnvironmentLock lock(host.state_home, env, *context.err, false);
    nlohmann::json container = lifecycle::require_environment(docker, env);
    std::string name = lifecycle::name_of(container);
    JsonReader inspected(container, "docker container inspect");
    std::string image = inspected.at("Config").string_or("Image", "");
    std::string base = inspected.string_or("Image", "");
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
    std::vector<std::string> commit{"commit", "--pause=true"};
    auto label = [&](const std::string& key, const std::string& value) {
      commit.insert(commit.end(), {"--change", "LABEL " + key + "=\"" + value + "\""});
    };
    for (const char* key :
         {contract::label::env, contract::label::profile, contract::label::plan_hash, contract::label::gpus})
      label(key, "");
    label(contract::label::snapshot_of, env);
    label(contract::label::base_digest, base);
    label(contract::label::snapshot_time, time_text);
    commit.insert(commit.end(), {name, tag});
    // What the snapshot holds, for `down` to say so; then the package record the image will carry.
    lifecycle::UnsavedWork work = lifecycle::find_unsaved_work(docker, container);
    lifecycle::PackageBaseline baseline(docker, container);
    if (!baseline.rewritten())
      *context.err << "launcher: warning: the snapshot keeps " << lifecycle::package_record << " of "
                   << (lifecycle::is_running(container) ? "its image" : "its image (the environment is stopped)")
                   << ": an environment started from it will name the packages installed here as new\n";
    host::StateLayout layout = host::state_layout(EnvName::parse(env), host.state_home);
    std::optional<ShadowSeal> seal;
    std::string user = lifecycle::env_variable(container, contract::env::user);
    if (!user.empty() && user != "root" && std::filesystem::exists(layout.user_password_hash())) {
      if (!lifecycle::is_running(container))
        throw Error(ExitCode::failed, "environment \"" + env +
                                          "\" is stopped, and its /etc/shadow holds the login password's hash, "
                                          "which only a running container can keep out of the snapshot: start it "
                                          "(`launcher up`) and snapshot again");
      seal.emplace(docker, name, user);
    }
    docker.run(commit, "snapshot " + env);
    auto committed = docker.inspect_image(tag);
    std::string id = committed ? JsonReader(*committed, "docker image inspect").string_or("Id", "") : "";
    lifecycle::SnapshotHeld held{tag, time_text, work.files, work.python};
    held.packages.insert(held.packages.end(), work.debian.begin(), work.debian.end());
    lifecycle::record_snapshot(layout, {inspected.string_or("Id", ""), id, std::move(held)});
    if (options->json) {
      *context.out << nlohmann::json{{"env", env}, {"tag", tag}, {"id", id}, {"base", base}, {"image", image}}.dump(2)
                   << "\n";
      return;
    }
    *context.out << lifecycle::snapshot_hints(env, tag, id, lifecycle::profile_of(container));
  });
}

} // namespace launcher::commands
