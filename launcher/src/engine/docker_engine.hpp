#pragma once

#include "engine/engine.hpp"

namespace launcher::engine {

// Docker's CLI. Its argv is the reference the other engines differ from: Podman's CLI takes the
// same words for most operations, so PodmanEngine overrides only where Podman differs.
class DockerEngine : public Engine {
public:
  explicit DockerEngine(docker::Docker cli) : cli_(std::move(cli)) {}

  EngineKind kind() const override { return EngineKind::docker; }

  render::ContainerCommand container_command(Launch launch, const plan::Plan& plan,
                                             const std::string& env_file) const override;
  void run(const render::ContainerCommand& command, const std::string& action) const override;
  void start(const std::string& container) const override;
  void stop(const std::string& container, std::chrono::seconds grace) const override;
  void remove(const std::string& container) const override;
  bool remove_forced(const std::string& container) const override;

  std::optional<nlohmann::json> inspect_container(const std::string& name) const override;
  std::optional<nlohmann::json> inspect_image(const std::string& reference) const override;
  std::vector<nlohmann::json> containers_labelled(const std::string& label_filter) const override;
  std::vector<docker::ListedContainer> list_labelled(const std::string& label_filter,
                                                     const std::vector<std::string>& labels) const override;
  std::string logs_tail(const std::string& container, int lines) const override;
  std::string changed_files(const std::string& container) const override;

  process::ProcessResult exec(const std::string& container, const ExecAs& as,
                              const std::vector<std::string>& command) const override;
  process::ProcessResult exec_checked(const std::string& container, const ExecAs& as,
                                      const std::vector<std::string>& command,
                                      const std::string& action) const override;
  [[noreturn]] void exec_attached(const std::string& container, const AttachedExec& exec) const override;
  [[noreturn]] void show_logs(const std::string& container, bool follow) const override;
  bool commit(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
              const std::string& action) const override;
  void copy_out(const std::string& container, const std::string& directory, const std::string& host_directory,
                const std::string& action) const override;

  // Images
  std::optional<std::string> builder_missing() const override;
  std::vector<std::string> build_environment() const override;
  std::vector<std::string> build_command(const ImageBuild& build) const override;
  process::ProcessResult build_image(const ImageBuild& build, process::ProcessOptions options) const override;
  std::optional<std::string> read_image_file(const std::string& image, const std::string& file) const override;
  std::string read_image_file_checked(const std::string& image, const std::string& file,
                                      const std::string& action) const override;
  bool remove_image(const std::string& image) const override;
  void push_image(const std::string& reference) const override;
  void save_image(const std::string& reference, const std::string& archive, const std::string& action) const override;

  process::ProcessResult create_network(const NetworkSpec& network) const override;
  bool network_exists(const std::string& network) const override;
  bool remove_network(const std::string& network) const override;
  std::vector<std::string> networks_labelled(const std::string& label) const override;
  std::optional<std::string> network_label(const std::string& network, const std::string& label) const override;
  std::map<std::string, std::string> network_driver_options(const NetworkSpec& network) const override;
  std::vector<std::string> network_exists_command(const std::string& network) const override;
  std::vector<std::string> create_network_command(const NetworkSpec& network) const override;
  bool compose_available() const override;

  std::vector<std::string> query_command(const std::vector<std::string>& query) const override;
  process::ProcessResult ask(const std::vector<std::string>& query, process::ProcessOptions options) const override;
  std::vector<std::string> version_query() const override;
  std::vector<std::string> info_query() const override;
  std::vector<std::string> image_labels_query(const std::string& image) const override;
  std::vector<std::string> container_inspect_query(const std::string& container) const override;
  std::vector<std::string> exec_query(const std::string& container,
                                      const std::vector<std::string>& command) const override;
  std::vector<std::string> read_image_file_query(const std::string& image, const std::string& path) const override;
  std::optional<bool> any_running_labelled(const std::string& label_filter) const override;

protected:
  const docker::Docker& cli() const { return cli_; }
  // `commit [OPTIONS] [--change …] CONTAINER [TAG]`, with the container paused (`pause`) or not:
  // the new image's ID.
  std::string commit_changes(const std::string& container, const std::vector<std::string>& changes,
                             const std::string& tag, const std::string& action, bool pause,
                             const std::vector<std::string>& options = {}) const;
  // The `ps --format` template list_labelled reads: docker::listing_format, whose `.Label` function
  // reads each label.
  virtual std::string listing_format(const std::vector<std::string>& labels) const;

private:
  // commit's two steps (see commit), the first with the container paused.
  void commit_image(const std::string& container, const std::vector<std::string>& changes, const std::string& tag,
                    const std::string& action) const;
  // `<cli> <kind> inspect NAME`; nullopt when there is no such object.
  std::optional<nlohmann::json> inspect(const std::string& kind, const std::string& name) const;

  docker::Docker cli_;
};

} // namespace launcher::engine
