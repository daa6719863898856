#include "engine/podman_engine.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/text.hpp"

namespace launcher::engine {

namespace {

// Below this port a service needs the sysctl Docker sets in every container and Podman 4.3 does
// not: sshd on 22 cannot bind under --cap-drop ALL without it.
constexpr int first_unprivileged_port = 1024;

// Run by `podman unshare` (the files belong to subordinate ids) with the container's upper
// directory, then its lower ones: each entry of the upper one, "C" when a lower layer has the
// path, else "A", as `docker diff` prints them. Whiteouts (deletions, and fuse-overlayfs's
// opaque-directory markers) are left out: the image still has what was deleted. A directory the
// image has is there whenever something beneath it was ever written: it is listed only when its
// mode changed (what changed beneath lists itself), as `docker diff` leaves out such a directory
// (seen: one whose only added file was removed again). Not its owner: under keep-id the upper
// directory's owners are mapped otherwise than the layers'.
constexpr const char* upper_directory_listing = R"script(upper=$1; shift
cd "$upper" || exit 1
find . -mindepth 1 \( -name '.wh.*' -o -type c \) -prune -o -printf '%P\0' |
  while IFS= read -r -d '' path; do
    kind=A
    for lower in "$@"; do
      if [ -e "$lower/$path" ] || [ -L "$lower/$path" ]; then kind=C; break; fi
    done
    if [ $kind = C ] && [ -d "$path" ] && [ ! -L "$path" ] &&
      [ "$(stat -c %f "$path")" = "$(stat -c %f "$lower/$path")" ]; then continue; fi
    printf '%s /%s\n' "$kind" "$path"
  done)script";

} // namespace

std::string podman_state(const std::string& status) {
  for (const auto& [prefix, state] : {std::pair{"Up", "running"},
                                      {"Exited", "exited"},
                                      {"Created", "created"},
                                      {"Paused", "paused"},
                                      {"Stopping", "stopping"},
                                      {"Removing", "removing"}})
    if (starts_with(status, prefix)) return state;
  std::string lowered = status;
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

std::string short_image_name(const std::string& image) {
  constexpr std::string_view hub = "docker.io/library/";
  return starts_with(image, hub) ? image.substr(hub.size()) : image;
}

render::ContainerCommand PodmanEngine::container_command(Launch launch, const plan::Plan& plan,
                                                         const std::string& env_file) const {
  render::ContainerCommand command = DockerEngine::container_command(launch, plan, env_file);
  // Podman 4.3 refuses Docker's "host-gateway" ("invalid IP address in add-host") and names the
  // host itself: host.containers.internal.
  const std::vector<std::string> host_gateway{"--add-host", std::string(render::host_gateway_alias) + ":host-gateway"};
  command.options.erase(std::remove(command.options.begin(), command.options.end(), host_gateway),
                        command.options.end());
  // The host user's uid is the same number inside, so that files the env's user (launcher-init
  // gives it that uid) writes in a volume are the host user's, not a subordinate uid's. keep-id
  // would also make that uid the container's first process: launcher-init needs root to set up.
  command.options.push_back({"--userns", "keep-id"});
  command.options.push_back({"--user", "0:0"});
  // keep-id also writes that user into /etc/passwd with the working directory as its home; the
  // account is launcher-init's to make, home and all (or dotfiles would land in /workspace).
  command.options.push_back({"--passwd=false"});
  if (std::any_of(plan.ports.begin(), plan.ports.end(),
                  [](const plan::PortBinding& port) { return port.container_port < first_unprivileged_port; }))
    command.options.push_back({"--sysctl", "net.ipv4.ip_unprivileged_port_start=0"});
  return command;
}

std::string PodmanEngine::listing_format(const std::vector<std::string>&) const {
  return docker::listing_format_all_labels();
}

std::vector<docker::ListedContainer> PodmanEngine::list_labelled(const std::string& label_filter,
                                                                 const std::vector<std::string>& labels) const {
  std::vector<docker::ListedContainer> listed = DockerEngine::list_labelled(label_filter, labels);
  for (auto& container : listed) {
    container.state = podman_state(container.state);
    container.image = short_image_name(container.image);
  }
  return listed;
}

std::string PodmanEngine::changed_files(const std::string& container) const {
  // Under keep-id through fuse-overlayfs the container sees the image's files with owners mapped,
  // and `podman diff` compares them with the originals: every file differs in its owner (57,000
  // lines for the CPU image, in 20-58 s). What the container changed is its upper directory
  // (through the kernel's overlay as well, where `podman diff` would agree).
  std::optional<nlohmann::json> inspected = inspect_container(container);
  if (!inspected) return DockerEngine::changed_files(container); // its error names the container
  const nlohmann::json driver = inspected->value("GraphDriver", nlohmann::json::object());
  const nlohmann::json data = driver.value("Data", nlohmann::json::object());
  const std::string upper = data.value("UpperDir", ""), lowers = data.value("LowerDir", "");
  if (driver.value("Name", "") != "overlay" || upper.empty()) return DockerEngine::changed_files(container);
  std::vector<std::string> args{"unshare", "bash", "-c", upper_directory_listing, "bash", upper};
  for (const auto& lower : split(lowers, ':'))
    if (!lower.empty()) args.push_back(lower);
  return cli().run(args, "list changed files of " + container).out;
}

// One commit, not Docker's two: an OCI image (asked for, whatever containers.conf makes the
// default) has no "container_config" to hold the container's `-e` values, so the changes that
// blank them leave a clean image (the e2e secrets test scans it under Podman). The second commit
// cost a minute here.
bool PodmanEngine::commit(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
                          const std::string& action) const {
  const std::vector<std::string> oci_format{"--format", "oci"};
  try {
    commit_changes(container, changes, tag, action, true, oci_format);
    return true;
  } catch (const Error& error) {
    // Rootless on cgroup v1 the container has no cgroup of its own to freeze: copy it running.
    if (std::string(error.what()).find("can not pause containers on rootless containers") == std::string::npos) throw;
  }
  commit_changes(container, changes, tag, action, false, oci_format);
  return false;
}

// Rootless netavark routes between a user's networks (seen here: an env reached another env's
// network), so every network is made with `isolate`, which drops traffic between isolated
// networks. Podman has no switch for traffic inside one network; an env's own network holds its
// one container, and a shared one is shared on purpose.
// Podman's `ps` without -a lists running containers only: a paused one (mid-snapshot) holds its
// GPUs too. Filters on the same key are alternatives.
std::optional<bool> PodmanEngine::any_running_labelled(const std::string& label_filter) const {
  process::ProcessResult result = cli().try_run({"ps", "-a", "-q", "--filter", "label=" + label_filter, "--filter",
                                                 "status=running", "--filter", "status=paused"});
  if (result.exit_code != 0) return std::nullopt;
  return !result.out.empty();
}

std::optional<std::string> PodmanEngine::builder_missing() const {
  // Seen with Podman 4.3 (Buildah 1.28): build's second pass changes only the build arguments of
  // the final LABEL step, and Buildah takes that step from its cache (its key holds the step's
  // text before the arguments are put in), so every io.launcher label kept its default.
  return "launcher build does not build with Podman yet: its builder (Buildah, seen with Podman 4.3) takes the "
         "image's labels from its cache of the first pass, so they would say torch \"unknown\"; build with Docker "
         "(launcher --engine docker build ...) and copy the image in: docker save IMAGE | podman load";
}

std::map<std::string, std::string> PodmanEngine::network_driver_options(const NetworkSpec&) const {
  return {{"isolate", "true"}};
}

} // namespace launcher::engine
