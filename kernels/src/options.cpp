#include "options.hpp"

#include <charconv>

namespace gpu_probe {
namespace {

int parse_integer(std::string_view option, std::string_view text, int minimum) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < minimum) {
    throw UsageError(std::string(option) + ": expected an integer >= " + std::to_string(minimum) + ", found '" +
                     std::string(text) + "'");
  }
  return value;
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    if (!name.empty()) {
      names.emplace_back(name);
    }
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return names;
}

} // namespace

Options parse_options(std::span<const std::string_view> arguments) {
  Options options;
  for (std::size_t index = 0; index < arguments.size(); ++index) {
    const std::string_view argument = arguments[index];
    auto value = [&]() -> std::string_view {
      if (index + 1 >= arguments.size()) {
        throw UsageError(std::string(argument) + ": missing value");
      }
      return arguments[++index];
    };
    if (argument == "--json") {
      options.json = true;
    } else if (argument == "--list") {
      options.list = true;
    } else if (argument == "--help" || argument == "-h") {
      options.help = true;
    } else if (argument == "--device") {
      options.device = parse_integer(argument, value(), 0);
    } else if (argument == "--runs") {
      options.timed_runs = parse_integer(argument, value(), minimum_timed_runs);
    } else if (argument == "--only") {
      options.only = split_names(value());
      if (options.only.empty()) {
        throw UsageError("--only: expected probe names separated by commas");
      }
    } else {
      throw UsageError("unknown option '" + std::string(argument) + "' (see --help)");
    }
  }
  return options;
}

std::string usage_text() {
  return "usage: gpu-probe [--json] [--device N] [--runs N] [--only NAME[,NAME...]] [--list]\n"
         "\n"
         "Measures what the GPU delivers (HBM, host<->device copies, cuBLASLt GEMM, NCCL\n"
         "all-reduce, PCIe link), each checked for correctness before it is timed.\n"
         "\n"
         "  --json        one JSON object on stdout instead of the table\n"
         "  --device N    CUDA device to measure (default 0; NCCL uses every visible GPU)\n"
         "  --runs N      timed runs per figure, reported as their median (default and minimum 20)\n"
         "  --only NAMES  run only these probes (see --list)\n"
         "  --list        print the probes and exit\n"
         "\n"
         "exit codes: 0 all probes passed or were waived, 1 a correctness check failed or a\n"
         "probe hit an error, 2 bad usage, 3 no GPU is visible\n";
}

} // namespace gpu_probe
