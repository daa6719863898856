#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/docker.hpp"

namespace launcher::testing {

// A recording stand-in for the Docker CLI: each call (without the binary) is kept, and answered
// by the first rule whose words start the call; a call no rule answers fails as the CLI would,
// naming itself, so a test sees every call it did not expect.
class FakeDocker {
public:
  struct Rule {
    std::vector<std::string> prefix;
    std::function<process::ProcessResult()> answer;
  };

  void on(std::vector<std::string> prefix, std::string out, int exit_code = 0, std::string err = "") {
    process::ProcessResult answer{exit_code, std::move(out), std::move(err)};
    state_->rules.push_back({std::move(prefix), [answer] { return answer; }});
  }
  // An answer that changes while a command runs (an env another command removes meanwhile).
  void on(std::vector<std::string> prefix, std::function<process::ProcessResult()> answer) {
    state_->rules.push_back({std::move(prefix), std::move(answer)});
  }

  docker::CliRunner runner() const {
    auto state = state_;
    return [state](const std::vector<std::string>& argv, const process::ProcessOptions& options) {
      std::vector<std::string> call(argv.begin() + 1, argv.end());
      state->calls.push_back(call);
      state->timeouts.push_back(options.timeout);
      state->environments.push_back(options.extra_env);
      for (const auto& rule : state->rules)
        if (call.size() >= rule.prefix.size() && std::equal(rule.prefix.begin(), rule.prefix.end(), call.begin()))
          return rule.answer();
      return process::ProcessResult{1, "", "fake docker: no answer for `docker " + joined(call) + "`"};
    };
  }

  const std::vector<std::vector<std::string>>& calls() const { return state_->calls; }
  // The limit each call was given, in the order of calls().
  const std::vector<std::optional<std::chrono::milliseconds>>& timeouts() const { return state_->timeouts; }
  // The settings (NAME=value) each call ran with besides the launcher's environment, in the same order.
  const std::vector<std::vector<std::string>>& environments() const { return state_->environments; }

  // The calls that start with these words.
  std::vector<std::vector<std::string>> calls_to(const std::vector<std::string>& prefix) const {
    std::vector<std::vector<std::string>> found;
    for (const auto& call : state_->calls)
      if (call.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), call.begin())) found.push_back(call);
    return found;
  }

  static std::string joined(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words)
      text += (text.empty() ? "" : " ") + word;
    return text;
  }

private:
  struct State {
    std::vector<Rule> rules;
    std::vector<std::vector<std::string>> calls;
    std::vector<std::optional<std::chrono::milliseconds>> timeouts;
    std::vector<std::vector<std::string>> environments;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

} // namespace launcher::testing
