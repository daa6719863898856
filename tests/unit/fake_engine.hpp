#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "docker/docker.hpp"
#include "engine/choice.hpp"
#include "engine/engine.hpp"

namespace launcher::testing {

// A container engine faked in its operations, not its CLI's argv (ninja's FakeCommandRunner): for
// tests whose subject is what the launcher decides, so that how an engine spells a call changes
// no test of them. It holds containers, networks and images, and answers from them as an engine
// would; the answers no state gives (exec, logs, changed files, a network the engine refuses) are
// scripted. Each operation asked is recorded as "operation ARGUMENTS", and each plan it was asked
// to render is kept, so a test checks the launcher's decisions rather than argv. Copies share
// one state: the copies a command is handed (commands::Context::engine_factory) record into the
// test's. An operation it does not fake fails naming itself, so a test sees every call it did
// not expect. How an engine spells an operation is the argv tests' (FakeDocker).
class FakeEngine final : public engine::Engine {
public:
  // An exec's answer: the first whose prefix starts the exec's record ("exec CONTAINER as USER: COMMAND").
  struct ExecAnswer {
    std::string prefix;
    process::ProcessResult result;
  };
  // A plan the launcher rendered into a container command, and the command an engine of this
  // kind makes of it (for a test that must look at how it reached the engine, as the env file).
  struct Rendered {
    plan::Plan plan;
    std::string env_file;
    render::ContainerCommand command;
  };

private:
  struct State {
    std::mutex mutex; // `up` looks for the env in a thread of its own
    std::vector<nlohmann::json> containers;
    std::optional<nlohmann::json> made_by_run;
    std::optional<std::string> run_failure;
    std::map<std::string, std::map<std::string, std::string>> networks;
    std::optional<process::ProcessResult> network_creation;
    std::map<std::string, nlohmann::json> images;
    std::vector<ExecAnswer> exec_answers;
    std::map<std::string, std::string> logs, changed_files;
    bool compose = false;
    std::optional<bool> any_running;
    std::function<void(const std::string&)> hook;
    std::vector<std::string> asked;
    std::vector<Rendered> rendered;
    std::vector<plan::Plan> runs;
  };

  template <typename Action> auto locked(Action action) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return action(*state_);
  }

public:
  FakeEngine() = default;
  // A copy that shares this one's state and speaks as an engine of `kind` (its name, what it renders).
  FakeEngine(const FakeEngine& shared, engine::EngineKind kind)
      : state_(shared.state_), kind_(kind), renderer_(renderer_of(kind)) {}

  // State a test sets up
  // Containers as the engine inspects them: found by their Name ("/NAME"), Id and labels. A
  // top-level "Status" (not Docker's) is the status text a listing shows; State.Status otherwise.
  void add_container(nlohmann::json container) {
    locked([&](State& state) { state.containers.push_back(container); });
  }
  bool remove_container(const std::string& name) {
    return locked([&](State& state) { return erase_container(state, name); });
  }
  // The container that the next `run` makes (none: `run` succeeds and makes nothing).
  void run_makes(nlohmann::json container) {
    locked([&](State& state) { state.made_by_run = std::move(container); });
  }
  // `run` fails as the engine would, with this message on its stderr.
  void run_fails(std::string stderr_text) {
    locked([&](State& state) { state.run_failure = std::move(stderr_text); });
  }
  void add_network(const std::string& name, std::map<std::string, std::string> labels = {}) {
    locked([&](State& state) { state.networks[name] = std::move(labels); });
  }
  // The engine's answer to create_network: a refusal a test scripts (the launcher reads its stderr).
  void network_creation_answers(process::ProcessResult result) {
    locked([&](State& state) { state.network_creation = std::move(result); });
  }
  void add_image(const std::string& reference, nlohmann::json inspected) {
    locked([&](State& state) { state.images[reference] = std::move(inspected); });
  }
  void answer_exec(std::string prefix, process::ProcessResult result) {
    locked([&](State& state) { state.exec_answers.push_back({std::move(prefix), std::move(result)}); });
  }
  void answer_logs(const std::string& container, std::string tail) {
    locked([&](State& state) { state.logs[container] = std::move(tail); });
  }
  void answer_changed_files(const std::string& container, std::string changes) {
    locked([&](State& state) { state.changed_files[container] = std::move(changes); });
  }
  void set_compose_available(bool available) {
    locked([&](State& state) { state.compose = available; });
  }
  // What any_running_labelled answers whatever the containers here: for envs whose `up` ran in
  // another process, against that process's copy of the fake.
  void answer_any_running(bool running) {
    locked([&](State& state) { state.any_running = running; });
  }
  // Runs after each operation is recorded, before it is answered: what happens meanwhile (a
  // signal arriving, another command's change). What it throws is the operation's.
  void on_asked(std::function<void(const std::string& asked)> hook) { state_->hook = std::move(hook); }

  // What the launcher asked
  std::vector<std::string> asked() const {
    return locked([](State& state) { return state.asked; });
  }
  // The operations asked whose record starts with `prefix`.
  std::vector<std::string> asked_to(const std::string& prefix) const {
    std::vector<std::string> found;
    for (auto& record : asked())
      if (record.rfind(prefix, 0) == 0) found.push_back(record);
    return found;
  }
  // The networks there are now, and their labels.
  std::map<std::string, std::map<std::string, std::string>> networks() const {
    return locked([](State& state) { return state.networks; });
  }
  std::vector<Rendered> rendered() const {
    return locked([](State& state) { return state.rendered; });
  }
  // The plans of the containers `run` was asked to make, in order.
  std::vector<plan::Plan> runs() const {
    return locked([](State& state) { return state.runs; });
  }

  // engine::Engine
  engine::EngineKind kind() const override { return kind_; }

  render::ContainerCommand container_command(engine::Launch launch, const plan::Plan& plan,
                                             const std::string& env_file) const override {
    render::ContainerCommand command = renderer().container_command(launch, plan, env_file);
    locked([&](State& state) { state.rendered.push_back({plan, env_file, command}); });
    return command;
  }
  void run(const render::ContainerCommand& command, const std::string& action) const override {
    std::optional<Rendered> made = locked([&](State& state) -> std::optional<Rendered> {
      for (auto rendered = state.rendered.rbegin(); rendered != state.rendered.rend(); ++rendered)
        if (rendered->command.argv() == command.argv()) return *rendered;
      return std::nullopt;
    });
    if (!made) throw Error(ExitCode::failed, "fake engine: run of a command container_command did not render");
    record("run " + made->plan.env);
    locked([&](State& state) {
      state.runs.push_back(made->plan);
      if (state.run_failure)
        throw Error(ExitCode::failed, docker::explain_failure(action, {125, "", *state.run_failure}));
      if (state.made_by_run) state.containers.push_back(*std::exchange(state.made_by_run, std::nullopt));
    });
  }
  void start(const std::string& container) const override {
    record("start " + container);
    set_running(container, true);
  }
  void stop(const std::string& container, std::chrono::seconds) const override {
    record("stop " + container);
    set_running(container, false);
  }
  void remove(const std::string& container) const override {
    record("remove " + container);
    if (!locked([&](State& state) { return erase_container(state, container); }))
      throw Error(ExitCode::failed, "fake engine: no container " + container + " to remove");
  }
  bool remove_forced(const std::string& container) const override {
    record("remove_forced " + container);
    return locked([&](State& state) { return erase_container(state, container); });
  }

  std::optional<nlohmann::json> inspect_container(const std::string& name) const override {
    record("inspect_container " + name);
    return locked([&](State& state) -> std::optional<nlohmann::json> {
      auto found = find_container(state, name);
      if (found == state.containers.end()) return std::nullopt;
      return *found;
    });
  }
  std::optional<nlohmann::json> inspect_image(const std::string& reference) const override {
    record("inspect_image " + reference);
    return locked([&](State& state) -> std::optional<nlohmann::json> {
      auto image = state.images.find(reference);
      if (image == state.images.end()) return std::nullopt;
      return image->second;
    });
  }
  std::vector<nlohmann::json> containers_labelled(const std::string& label_filter) const override {
    record("containers_labelled " + label_filter);
    return locked([&](State& state) { return labelled(state, label_filter); });
  }
  std::vector<docker::ListedContainer> list_labelled(const std::string& label_filter,
                                                     const std::vector<std::string>& labels) const override {
    record("list_labelled " + label_filter);
    std::vector<docker::ListedContainer> listed;
    for (const auto& container : locked([&](State& state) { return labelled(state, label_filter); })) {
      docker::ListedContainer entry{container.at("Name").get<std::string>().substr(1),
                                    container.value("/Config/Image"_json_pointer, std::string()),
                                    container.at("State").at("Status").get<std::string>(),
                                    container.value("Status", container.at("State").at("Status").get<std::string>()),
                                    "",
                                    {}};
      for (const auto& label : labels)
        entry.labels[label] = label_of(container, label).value_or("");
      listed.push_back(std::move(entry));
    }
    return listed;
  }
  std::string logs_tail(const std::string& container, int) const override {
    record("logs_tail " + container);
    return scripted(&State::logs, container, "logs_tail");
  }
  std::string changed_files(const std::string& container) const override {
    record("changed_files " + container);
    return scripted(&State::changed_files, container, "changed_files");
  }
  process::ProcessResult exec(const std::string& container, const engine::ExecAs& as,
                              const std::vector<std::string>& command) const override {
    std::string record = "exec " + container + " as " + (as.user.empty() ? "(the image's user)" : as.user) + ":";
    for (const auto& word : command)
      record += " " + word;
    this->record(record);
    return locked([&](State& state) {
      for (const auto& answer : state.exec_answers)
        if (record.rfind(answer.prefix, 0) == 0) return answer.result;
      unfaked("`" + record + "`");
    });
  }
  process::ProcessResult exec_checked(const std::string& container, const engine::ExecAs& as,
                                      const std::vector<std::string>& command,
                                      const std::string& action) const override {
    process::ProcessResult result = exec(container, as, command);
    if (result.exit_code != 0) throw Error(ExitCode::failed, docker::explain_failure(action, result));
    return result;
  }
  bool commit(const std::string& container, const std::vector<std::string>&, const std::string& tag,
              const std::string&) const override {
    record("commit " + container + " " + tag);
    return true;
  }
  std::vector<std::string> build_command(const engine::ImageBuild& build) const override {
    return renderer().build_command(build);
  }

  process::ProcessResult create_network(const engine::NetworkSpec& network) const override {
    record("create_network " + network.name + (network.isolated ? " isolated" : ""));
    return locked([&](State& state) {
      if (state.network_creation) return *state.network_creation;
      if (state.networks.count(network.name))
        return process::ProcessResult{
            1, "", "Error response from daemon: network with name " + network.name + " already exists\n"};
      state.networks[network.name] = network.labels;
      return process::ProcessResult{0, network.name + "\n", ""};
    });
  }
  bool network_exists(const std::string& network) const override {
    record("network_exists " + network);
    return locked([&](State& state) { return state.networks.count(network) == 1; });
  }
  bool remove_network(const std::string& network) const override {
    record("remove_network " + network);
    return locked([&](State& state) { return state.networks.erase(network) == 1; });
  }
  std::vector<std::string> networks_labelled(const std::string& label) const override {
    record("networks_labelled " + label);
    return locked([&](State& state) {
      std::vector<std::string> names;
      for (const auto& [name, labels] : state.networks)
        if (labels.count(label)) names.push_back(name);
      return names;
    });
  }
  std::optional<std::string> network_label(const std::string& network, const std::string& label) const override {
    record("network_label " + network + " " + label);
    return locked([&](State& state) -> std::optional<std::string> {
      auto found = state.networks.find(network);
      if (found == state.networks.end()) return std::nullopt;
      auto value = found->second.find(label);
      return value == found->second.end() ? "" : value->second;
    });
  }
  std::map<std::string, std::string> network_driver_options(const engine::NetworkSpec& network) const override {
    return renderer().network_driver_options(network);
  }
  std::vector<std::string> network_exists_command(const std::string& network) const override {
    return renderer().network_exists_command(network);
  }
  std::vector<std::string> create_network_command(const engine::NetworkSpec& network) const override {
    return renderer().create_network_command(network);
  }
  bool compose_available() const override {
    record("compose_available");
    return locked([](State& state) { return state.compose; });
  }

  // The queries' words are pure: the fact sources of the tests answer them by the fact's name.
  std::vector<std::string> query_command(const std::vector<std::string>& query) const override {
    return renderer().query_command(query);
  }
  std::vector<std::string> version_query() const override { return renderer().version_query(); }
  std::vector<std::string> info_query() const override { return renderer().info_query(); }
  std::vector<std::string> image_labels_query(const std::string& image) const override {
    return renderer().image_labels_query(image);
  }
  std::vector<std::string> container_inspect_query(const std::string& container) const override {
    return renderer().container_inspect_query(container);
  }
  std::vector<std::string> exec_query(const std::string& container,
                                      const std::vector<std::string>& command) const override {
    return renderer().exec_query(container, command);
  }
  std::vector<std::string> read_image_file_query(const std::string& image, const std::string& path) const override {
    return renderer().read_image_file_query(image, path);
  }
  std::optional<bool> any_running_labelled(const std::string& label_filter) const override {
    record("any_running_labelled " + label_filter);
    return locked([&](State& state) {
      if (state.any_running) return *state.any_running;
      for (const auto& container : labelled(state, label_filter))
        if (container.value("/State/Running"_json_pointer, false)) return true;
      return false;
    });
  }

  // Not faked: no command test asks them.
  [[noreturn]] void exec_attached(const std::string&, const engine::AttachedExec&) const override {
    unfaked("exec_attached");
  }
  [[noreturn]] void show_logs(const std::string&, bool) const override { unfaked("show_logs"); }
  void copy_out(const std::string&, const std::string&, const std::string&, const std::string&) const override {
    unfaked("copy_out");
  }
  std::optional<std::string> builder_missing() const override { unfaked("builder_missing"); }
  std::vector<std::string> build_environment() const override { unfaked("build_environment"); }
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
  process::ProcessResult ask(const std::vector<std::string>&, process::ProcessOptions) const override {
    unfaked("ask");
  }

private:
  void record(const std::string& operation) const {
    locked([&](State& state) { state.asked.push_back(operation); });
    if (state_->hook) state_->hook(operation);
  }

  // What an engine of `kind` renders; its CLI is never run.
  static std::shared_ptr<const engine::Engine> renderer_of(engine::EngineKind kind) {
    docker::CliRunner never = [](const std::vector<std::string>&,
                                 const process::ProcessOptions&) -> process::ProcessResult {
      throw Error(ExitCode::failed, "fake engine: rendering ran the engine's CLI");
    };
    return engine::make_engine(kind, docker::Docker(std::string(engine::engine_name(kind)), never));
  }
  const engine::Engine& renderer() const { return *renderer_; }

  static std::optional<std::string> label_of(const nlohmann::json& container, const std::string& label) {
    const nlohmann::json* labels = &container;
    for (const char* key : {"Config", "Labels"}) {
      if (!labels->is_object() || !labels->contains(key)) return std::nullopt;
      labels = &labels->at(key);
    }
    if (!labels->is_object() || !labels->contains(label)) return std::nullopt;
    return labels->at(label).get<std::string>();
  }
  // Those carrying the label, as a filter "KEY" or "KEY=VALUE" names it.
  static std::vector<nlohmann::json> labelled(const State& state, const std::string& filter) {
    auto equals = filter.find('=');
    std::string key = filter.substr(0, equals);
    std::vector<nlohmann::json> found;
    for (const auto& container : state.containers) {
      auto value = label_of(container, key);
      if (value && (equals == std::string::npos || *value == filter.substr(equals + 1))) found.push_back(container);
    }
    return found;
  }
  static std::vector<nlohmann::json>::iterator find_container(State& state, const std::string& name) {
    return std::find_if(state.containers.begin(), state.containers.end(), [&](const nlohmann::json& container) {
      return container.value("Name", "") == "/" + name || container.value("Id", "") == name;
    });
  }
  static bool erase_container(State& state, const std::string& name) {
    auto found = find_container(state, name);
    if (found == state.containers.end()) return false;
    state.containers.erase(found);
    return true;
  }
  void set_running(const std::string& name, bool running) const {
    locked([&](State& state) {
      auto found = find_container(state, name);
      if (found == state.containers.end()) throw Error(ExitCode::failed, "fake engine: no container " + name);
      (*found)["State"]["Running"] = running;
      (*found)["State"]["Status"] = running ? "running" : "exited";
    });
  }
  std::string scripted(std::map<std::string, std::string> State::*answers, const std::string& container,
                       const std::string& operation) const {
    return locked([&](State& state) {
      auto answer = (state.*answers).find(container);
      if (answer == (state.*answers).end()) unfaked(operation + " " + container);
      return answer->second;
    });
  }
  [[noreturn]] static void unfaked(const std::string& operation) {
    throw Error(ExitCode::failed, "fake engine: " + operation + " is not faked");
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
  engine::EngineKind kind_ = engine::EngineKind::docker;
  std::shared_ptr<const engine::Engine> renderer_ = renderer_of(kind_);
};

} // namespace launcher::testing
