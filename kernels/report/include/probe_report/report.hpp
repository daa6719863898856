#pragma once

// What gpu-probe and gpu-check hand to their output: one shape for both tools, so
// `launcher doctor --gpu` reads a single JSON schema and prints a single table.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probe_report {

// Exit codes shared by gpu-probe and gpu-check; the launcher's own codes use the same meanings.
enum class ExitCode : int {
  ok = 0,
  correctness_failure = 1,
  bad_usage = 2,
  no_gpu = 3,
};

enum class ProbeStatus { passed, failed, waived };

[[nodiscard]] std::string_view to_string(ProbeStatus status);
// The status a report names ("PASSED", ...); none for an unknown name.
[[nodiscard]] std::optional<ProbeStatus> status_named(std::string_view name);

struct Fact {
  std::string name;
  std::string value;
};

// The figure a measurement is compared with, and where that figure comes from.
struct Reference {
  double value = 0.0;
  std::string source;
};

struct Measurement {
  std::string name;
  double value = 0.0;
  std::string unit;
  std::optional<Reference> reference;
};

// A correctness check passes when observed <= limit (errors, mismatch counts).
struct Check {
  std::string name;
  double observed = 0.0;
  double limit = 0.0;

  [[nodiscard]] bool passed() const { return observed <= limit; }
};

struct ProbeReport {
  std::string name;
  std::string description;
  ProbeStatus status = ProbeStatus::passed;
  std::string detail; // why a probe was waived or failed; empty when it passed
  std::vector<Fact> facts;
  std::vector<Measurement> measurements;
  std::vector<Check> checks;
};

// Passed when every check passes, failed otherwise.
[[nodiscard]] ProbeStatus status_from_checks(const std::vector<Check>& checks);

[[nodiscard]] ProbeReport waived(std::string name, std::string description, std::string reason);
[[nodiscard]] ProbeReport failed(std::string name, std::string description, std::string reason);

// Everything one run of a tool produced.
struct RunReport {
  std::string tool;
  std::string version;
  std::vector<Fact> environment;
  std::optional<std::string> no_gpu_reason; // set when no GPU is visible: the run stopped there
  std::vector<ProbeReport> probes;
};

[[nodiscard]] ExitCode exit_code_for(const RunReport& run);

// 100 * value / reference; nullopt when the reference is not a positive number.
[[nodiscard]] std::optional<double> percent_of_reference(double value, double reference);

} // namespace probe_report
