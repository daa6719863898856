#include "process_environment.hpp"

#include <sys/wait.h>

#include <cstring>

#include "launcher_contract/contract.hpp"

namespace launcher_init {

std::vector<std::string> service_environment(const Environment& inherited, const Account& account,
                                             const Environment& additions) {
  Environment environment;
  for (const auto& [name, value] : inherited) {
    if (name.starts_with(launcher::contract::env::prefix) || name.starts_with("JUPYTER_TOKEN")) continue;
    environment.emplace(name, value);
  }
  environment.insert_or_assign("HOME", account.home);
  environment.insert_or_assign("USER", account.name);
  environment.insert_or_assign("LOGNAME", account.name);
  environment.insert_or_assign("SHELL", account.shell);
  for (const auto& [name, value] : additions)
    environment.insert_or_assign(name, value);

  std::vector<std::string> entries;
  for (const auto& [name, value] : environment)
    entries.push_back(name + "=" + value);
  return entries;
}

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int signal = WTERMSIG(wait_status);
    return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "wait status " + std::to_string(wait_status);
}

} // namespace launcher_init
