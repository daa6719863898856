#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "engine/engine.hpp"

namespace launcher::testing {

// A container engine faked in its operations, not its CLI's argv (ninja's FakeCommandRunner): for
// tests whose subject is what the launcher decides, so that how an engine spells a call changes
// no test of them. The images it holds answer inspect_image; each operation asked is recorded as
// "operation ARGUMENT". An operation it does not fake fails naming itself, so a test sees every
// call it did not expect. How an engine spells an operation is the argv tests' (FakeDocker).
class FakeEngine final : public engine::Engine {
public:
  std::map<std::string, nlohmann::json> images; // inspect objects by the reference they answer to
  mutable std::vector<std::string> asked;

  engine::EngineKind kind() const override { return engine::EngineKind::docker; }

  std::optional<nlohmann::json> inspect_image(const std::string& reference) const override {
    asked.push_back("inspect_image " + reference);
    auto image = images.find(reference);
    if (image == images.end()) return std::nullopt;
    return image->second;
  }

  render::ContainerCommand container_command(engine::Launch, const plan::Plan&, const std::string&) const override {
    unfaked("container_command");
  }
  void run(const render::ContainerCommand&, const std::string&) const override { unfaked("run"); }
  void start(const std::string&) const override { unfaked("start"); }
  void stop(const std::string&, std::chrono::seconds) const override { unfaked("stop"); }
  void remove(const std::string&) const override { unfaked("remove"); }
  bool remove_forced(const std::string&) const override { unfaked("remove_forced"); }
  std::optional<nlohmann::json> inspect_container(const std::string&) const override { unfaked("inspect_container"); }
  std::vector<nlohmann::json> containers_labelled(const std::string&) const override { unfaked("containers_labelled"); }
  std::vector<docker::ListedContainer> list_labelled(const std::string&,
                                                     const std::vector<std::string>&) const override {
    unfaked("list_labelled");
  }
  std::string logs_tail(const std::string&, int) const override { unfaked("logs_tail"); }
  std::string changed_files(const std::string&) const override { unfaked("changed_files"); }
  process::ProcessResult exec(const std::string&, const engine::ExecAs&,
                              const std::vector<std::string>&) const override {
    unfaked("exec");
  }
  process::ProcessResult exec_checked(const std::string&, const engine::ExecAs&, const std::vector<std::string>&,
                                      const std::string&) const override {
    unfaked("exec_checked");
  }
  [[noreturn]] void exec_attached(const std::string&, const engine::AttachedExec&) const override {
    unfaked("exec_attached");
  }
  [[noreturn]] void show_logs(const std::string&, bool) const override { unfaked("show_logs"); }
  bool commit(const std::string&, const std::vector<std::string>&, const std::string&,
              const std::string&) const override {
    unfaked("commit");
  }
  void copy_out(const std::string&, const std::string&, const std::string&, const std::string&) const override {
    unfaked("copy_out");
  }
  build::DockerClient client_facts() const override { unfaked("client_facts"); }
  std::vector<std::string> build_command(const engine::ImageBuild&) const override { unfaked("build_command"); }
  process::ProcessResult build_image(const engine::ImageBuild&, process::ProcessOptions) const override {
    unfaked("build_image");
  }
  std::optional<std::string> read_image_file(const std::string&, const std::string&) const override {
    unfaked("read_image_file");
  }
  std::string read_image_file_checked(const std::string&, const std::string&, const std::string&) const override {
    unfaked("read_image_file_checked");
  }
  bool remove_image(const std::string&) const override { unfaked("remove_image"); }
  void push_image(const std::string&) const override { unfaked("push_image"); }
  void save_image(const std::string&, const std::string&, const std::string&) const override { unfaked("save_image"); }
  process::ProcessResult create_network(const engine::NetworkSpec&) const override { unfaked("create_network"); }
  bool network_exists(const std::string&) const override { unfaked("network_exists"); }
  bool remove_network(const std::string&) const override { unfaked("remove_network"); }
  std::vector<std::string> networks_labelled(const std::string&) const override { unfaked("networks_labelled"); }
  std::optional<std::string> network_label(const std::string&, const std::string&) const override {
    unfaked("network_label");
  }
  std::map<std::string, std::string> network_driver_options(const engine::NetworkSpec&) const override {
    unfaked("network_driver_options");
  }
  std::vector<std::string> network_exists_command(const std::string&) const override {
    unfaked("network_exists_command");
  }
  std::vector<std::string> create_network_command(const engine::NetworkSpec&) const override {
    unfaked("create_network_command");
  }
  bool compose_available() const override { unfaked("compose_available"); }
  std::vector<std::string> query_command(const std::vector<std::string>&) const override { unfaked("query_command"); }
  process::ProcessResult ask(const std::vector<std::string>&, process::ProcessOptions) const override {
    unfaked("ask");
  }
  std::vector<std::string> version_query() const override { unfaked("version_query"); }
  std::vector<std::string> info_query() const override { unfaked("info_query"); }
  std::vector<std::string> image_labels_query(const std::string&) const override { unfaked("image_labels_query"); }
  std::vector<std::string> container_inspect_query(const std::string&) const override {
    unfaked("container_inspect_query");
  }
  std::vector<std::string> exec_query(const std::string&, const std::vector<std::string>&) const override {
    unfaked("exec_query");
  }
  std::vector<std::string> read_image_file_query(const std::string&, const std::string&) const override {
    unfaked("read_image_file_query");
  }
  std::optional<bool> any_running_labelled(const std::string&) const override { unfaked("any_running_labelled"); }

private:
  [[noreturn]] static void unfaked(const std::string& operation) {
    throw Error(ExitCode::failed, "fake engine: " + operation + " is not faked");
  }
};

} // namespace launcher::testing
