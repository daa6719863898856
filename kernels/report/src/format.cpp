#include "probe_report/format.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

// The JSON is written by hand rather than with a JSON library so that gpu-probe and gpu-check
// build on a bare CUDA or PyTorch host (the GPU test host, the image's builder stage) that has
// nothing but a compiler. The unit tests parse it back with nlohmann/json.

namespace probe_report {
namespace {

std::string printf_double(const char* format, double value) {
  std::array<char, 64> buffer{};
  const int length = std::snprintf(buffer.data(), buffer.size(), format, value);
  return {buffer.data(), static_cast<std::size_t>(std::max(length, 0))};
}

std::string quoted_json(std::string_view text) {
  std::string out = "\"";
  for (const char character : text) {
    switch (character) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(character) < 0x20) {
        std::array<char, 8> escaped{};
        std::snprintf(escaped.data(), escaped.size(), "\\u%04x", static_cast<unsigned>(character));
        out += escaped.data();
      } else {
        out += character;
      }
    }
  }
  out += '"';
  return out;
}

std::string json_number(double value) { return std::isfinite(value) ? printf_double("%.10g", value) : "null"; }

std::string json_optional_number(std::optional<double> value) { return value ? json_number(*value) : "null"; }

// Joins already-rendered JSON values with commas inside the given brackets.
std::string json_list(char open, const std::vector<std::string>& items, char close) {
  std::string out(1, open);
  for (std::size_t index = 0; index < items.size(); ++index) {
    out += index == 0 ? "" : ",";
    out += items[index];
  }
  out += close;
  return out;
}

std::string json_member(std::string_view key, const std::string& rendered_value) {
  return quoted_json(key) + ":" + rendered_value;
}

// Facts keep their order, so they are an object whose keys appear as the probe listed them.
std::string json_facts(const std::vector<Fact>& facts) {
  std::vector<std::string> members;
  for (const Fact& fact : facts) {
    members.push_back(json_member(fact.name, quoted_json(fact.value)));
  }
  return json_list('{', members, '}');
}

std::string json_measurement(const Measurement& measurement) {
  std::string reference = "null";
  std::optional<double> percent;
  if (measurement.reference) {
    reference = json_list('{',
                          {json_member("value", json_number(measurement.reference->value)),
                           json_member("source", quoted_json(measurement.reference->source))},
                          '}');
    percent = percent_of_reference(measurement.value, measurement.reference->value);
  }
  return json_list('{',
                   {json_member("name", quoted_json(measurement.name)),
                    json_member("value", json_number(measurement.value)),
                    json_member("unit", quoted_json(measurement.unit)), json_member("reference", reference),
                    json_member("percent_of_reference", json_optional_number(percent))},
                   '}');
}

std::string json_check(const Check& check) {
  return json_list('{',
                   {json_member("name", quoted_json(check.name)), json_member("observed", json_number(check.observed)),
                    json_member("limit", json_number(check.limit)),
                    json_member("passed", check.passed() ? "true" : "false")},
                   '}');
}

std::string json_probe(const ProbeReport& probe) {
  std::vector<std::string> measurements;
  std::ranges::transform(probe.measurements, std::back_inserter(measurements), json_measurement);
  std::vector<std::string> checks;
  std::ranges::transform(probe.checks, std::back_inserter(checks), json_check);
  return json_list(
      '{',
      {json_member("name", quoted_json(probe.name)), json_member("description", quoted_json(probe.description)),
       json_member("status", quoted_json(to_string(probe.status))), json_member("detail", quoted_json(probe.detail)),
       json_member("facts", json_facts(probe.facts)), json_member("measurements", json_list('[', measurements, ']')),
       json_member("checks", json_list('[', checks, ']'))},
      '}');
}

using TableRow = std::vector<std::string>;

std::string render_aligned(const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths;
  for (const TableRow& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    // A row's last cell is not padded, so it does not widen its column: a long waiver
    // reason stays on its own row without pushing every figure to the right.
    for (std::size_t column = 0; column + 1 < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  std::string out;
  for (const TableRow& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      line += row[column];
      if (column + 1 < row.size()) {
        line += std::string(widths[column] - row[column].size() + 2, ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

// Rows of one probe: its name and status on the first row only, then one row per fact,
// measurement and check, so a column reads as "what", "how much", "compared with what".
std::vector<TableRow> probe_rows(const ProbeReport& probe) {
  std::vector<TableRow> rows;
  auto add = [&](TableRow cells) {
    const bool first = rows.empty();
    cells.insert(cells.begin(), first ? std::string(to_string(probe.status)) : "");
    cells.insert(cells.begin(), first ? probe.name : "");
    rows.push_back(std::move(cells));
  };
  if (!probe.detail.empty()) {
    std::string one_line = probe.detail;
    std::ranges::replace_if(
        one_line, [](char character) { return character == '\n' || character == '\t'; }, ' ');
    add({one_line});
  }
  for (const Fact& fact : probe.facts) {
    add({fact.name, fact.value});
  }
  for (const Measurement& measurement : probe.measurements) {
    std::string percent;
    std::string reference;
    if (measurement.reference) {
      const auto ratio = percent_of_reference(measurement.value, measurement.reference->value);
      percent = ratio ? printf_double("%.1f %%", *ratio) : "";
      reference = measurement.reference->source + " " + format_quantity(measurement.reference->value, measurement.unit);
    }
    add({measurement.name, format_quantity(measurement.value, measurement.unit), percent, reference});
  }
  for (const Check& check : probe.checks) {
    add({"check: " + check.name, format_number(check.observed) + " <= " + format_number(check.limit),
         check.passed() ? "ok" : "FAILED"});
  }
  if (rows.empty()) {
    add({});
  }
  return rows;
}

} // namespace

std::string format_number(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 100.0) {
    return printf_double("%.1f", value);
  }
  if (magnitude >= 1.0) {
    return printf_double("%.2f", value);
  }
  return printf_double("%.3g", value);
}

std::string format_quantity(double value, const std::string& unit) {
  return unit.empty() ? format_number(value) : format_number(value) + " " + unit;
}

std::string format_table(const RunReport& run) {
  std::string out = run.tool + " " + run.version + "\n";
  for (const Fact& fact : run.environment) {
    out += "  " + fact.name + ": " + fact.value + "\n";
  }
  if (run.no_gpu_reason) {
    return out + run.tool + ": no GPU: " + *run.no_gpu_reason + "\n";
  }
  std::vector<TableRow> rows{{"PROBE", "STATUS", "ITEM", "VALUE", "% OF REF", "REFERENCE"}};
  for (const ProbeReport& probe : run.probes) {
    std::ranges::move(probe_rows(probe), std::back_inserter(rows));
  }
  return out + render_aligned(rows);
}

std::string format_json(const RunReport& run) {
  std::vector<std::string> probes;
  std::ranges::transform(run.probes, std::back_inserter(probes), json_probe);
  const std::string no_gpu_reason = run.no_gpu_reason ? quoted_json(*run.no_gpu_reason) : "null";
  return json_list('{',
                   {json_member("tool", quoted_json(run.tool)), json_member("version", quoted_json(run.version)),
                    json_member("environment", json_facts(run.environment)),
                    json_member("gpu_visible", run.no_gpu_reason ? "false" : "true"),
                    json_member("no_gpu_reason", no_gpu_reason),
                    json_member("exit_code", std::to_string(static_cast<int>(exit_code_for(run)))),
                    json_member("probes", json_list('[', probes, ']'))},
                   '}') +
         "\n";
}

} // namespace probe_report
