#include "gpu/topology.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"
#include "facts/facts.hpp"

namespace launcher::gpu {

namespace {

// "\x1b[4m" and "\x1b[0m" around the header.
std::string without_terminal_escapes(std::string_view line) {
  std::string text;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      while (i < line.size() && line[i] != 'm')
        ++i;
      continue;
    }
    text += line[i];
  }
  return text;
}

std::vector<std::string> cells(std::string_view line) {
  std::vector<std::string> found;
  for (std::string cell : split(without_terminal_escapes(line), '\t')) {
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(" \r") + 1);
    if (!cell.empty()) found.push_back(cell);
  }
  return found;
}

[[noreturn]] void unreadable(const std::string& why) {
  throw Error(ExitCode::failed, "cannot read `nvidia-smi topo -m`: " + why);
}

std::optional<CpuList> affinity(const std::string& cell, const std::string& column, const std::string& gpu) {
  if (cell == "N/A") return std::nullopt;
  auto list = parse_cpu_list(cell);
  if (!list) unreadable(gpu + "'s " + column + " is " + quote_for_message(cell) + ", not a list like 0-15,32-47");
  return list;
}

std::optional<int> gpu_row_index(const std::string& label) {
  if (!starts_with(label, "GPU") || label.size() == 3 || label.size() > 6) return std::nullopt;
  if (!std::all_of(label.begin() + 3, label.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stoi(label.substr(3));
}

} // namespace

std::map<int, GpuAffinity> parse_topology_matrix(std::string_view text) {
  std::vector<std::string> lines = split(text, '\n');
  auto header = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& line) { return line.find("CPU Affinity") != std::string::npos; });
  if (header == lines.end()) unreadable("no \"CPU Affinity\" column");
  std::vector<std::string> columns = cells(*header);
  auto cpu_column =
      static_cast<std::size_t>(std::find(columns.begin(), columns.end(), "CPU Affinity") - columns.begin());
  bool numa_follows = cpu_column + 1 < columns.size() && columns[cpu_column + 1] == "NUMA Affinity";
  std::map<int, GpuAffinity> affinities;
  for (auto line = std::next(header); line != lines.end() && !cells(*line).empty(); ++line) {
    std::vector<std::string> row = cells(*line);
    auto index = gpu_row_index(row[0]);
    if (!index) continue; // NIC rows
    // The row's first cell is its label, then one cell per column.
    if (row.size() < cpu_column + 2 + (numa_follows ? 1 : 0)) unreadable(row[0] + "'s row has too few cells");
    GpuAffinity found{affinity(row[cpu_column + 1], "CPU Affinity", row[0]), std::nullopt};
    if (numa_follows) found.numa_nodes = affinity(row[cpu_column + 2], "NUMA Affinity", row[0]);
    affinities[*index] = found;
  }
  if (affinities.empty()) unreadable("no GPU rows");
  return affinities;
}

GpuTopology read_gpu_topology(facts::HostQueries& queries) {
  GpuTopology topology;
  facts::Fact answer = queries.gpu_topology();
  if (!answer.ok()) {
    topology.problem =
        "`nvidia-smi topo -m` " +
        (answer.recorded ? "failed: " + answer.err.substr(0, answer.err.find('\n')) : std::string("was not recorded"));
    return topology;
  }
  try {
    topology.affinity = parse_topology_matrix(answer.out);
  } catch (const Error& error) {
    topology.problem = error.what();
  }
  return topology;
}

} // namespace launcher::gpu
