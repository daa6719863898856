#include "slurm/output.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "core/error.hpp"
#include "core/text.hpp"
#include "slurm/job.hpp"

namespace launcher::slurm {

namespace {

std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

bool all_digits(std::string_view text, std::size_t max_length) {
  return !text.empty() && text.size() <= max_length &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

bool is_job_id(std::string_view text) { return all_digits(text, 18); }

long long parse_submitted_job_id(std::string_view out) {
  std::string line = trimmed(out);
  std::string id = line.substr(0, line.find(';'));
  if (!is_job_id(id))
    throw Error(ExitCode::failed, "sbatch --parsable printed " + quote_for_message(line) + ", not a job id");
  return std::stoll(id);
}

namespace {

// Slurm's "no value" spellings, in either command's output.
std::string known(std::string value) {
  return value == "(null)" || value == "Unknown" || value == "N/A" || value == "NONE" || value == "None assigned"
             ? ""
             : value;
}

// One line of `fields` '|'-separated fields, the last (the comment) free text.
std::vector<std::string> split_row(const std::string& line, std::size_t fields, const std::string& source,
                                   const std::string& format) {
  std::vector<std::string> found;
  std::string rest = line;
  while (found.size() + 1 < fields) {
    auto bar = rest.find('|');
    if (bar == std::string::npos)
      throw Error(ExitCode::failed, source + " printed " + quote_for_message(line) + ", expected " + format);
    found.push_back(rest.substr(0, bar));
    rest = rest.substr(bar + 1);
  }
  found.push_back(trimmed(rest));
  return found;
}

// The row of these fields, in squeue_format's order; the comment (last) is empty where Slurm kept none.
JobRow job_row(const std::vector<std::string>& fields, const std::string& line, const std::string& source,
               JobRow::Source from) {
  if (!is_job_id(fields[0]) || !all_digits(fields[2], 9))
    throw Error(ExitCode::failed,
                source + " printed " + quote_for_message(line) + ", expected a job id and a node count");
  // sacct writes "CANCELLED by 1000": who cancelled is not the state.
  std::string state = fields[1].substr(0, fields[1].find(' '));
  JobRow row{
      std::stoll(fields[0]), state, std::stoi(fields[2]), known(fields[3]), fields[4], known(fields[5]), "", "", from};
  if (is_launcher_comment(fields[6])) {
    row.image = fields[6].substr(std::string_view(job_comment_prefix).size());
    // No space: sbatch splits an #SBATCH line at blanks.
    if (auto separator = row.image.find(",tag="); separator != std::string::npos) {
      row.tag = row.image.substr(separator + 5);
      row.image.resize(separator);
    }
  }
  return row;
}

void sort_by_id(std::vector<JobRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const JobRow& a, const JobRow& b) { return a.id < b.id; });
}

} // namespace

std::vector<JobRow> parse_job_rows(std::string_view out) {
  std::vector<JobRow> rows;
  for (const auto& line : split(std::string(out), '\n')) {
    if (trimmed(line).empty()) continue;
    std::vector<std::string> fields = split_row(line, 7, "squeue", squeue_format);
    if (!is_launcher_comment(fields[6])) continue;
    rows.push_back(job_row(fields, line, "squeue", JobRow::Source::squeue));
  }
  sort_by_id(rows);
  return rows;
}

std::vector<JobRow> parse_sacct_rows(std::string_view out) {
  std::vector<JobRow> rows;
  for (const auto& line : split(std::string(out), '\n')) {
    if (trimmed(line).empty()) continue;
    std::vector<std::string> fields = split_row(line, 7, "sacct", sacct_fields);
    bool commented = is_launcher_comment(fields[6]);
    bool named = fields[6].empty() && starts_with(fields[4], job_name_prefix);
    if ((!commented && !named) || !is_job_id(fields[0])) continue;
    rows.push_back(job_row(fields, line, "sacct", JobRow::Source::sacct));
  }
  sort_by_id(rows);
  return rows;
}

std::vector<JobRow> merge_job_rows(std::vector<JobRow> current, const std::vector<JobRow>& past) {
  for (const auto& row : past)
    if (std::none_of(current.begin(), current.end(), [&](const JobRow& shown) { return shown.id == row.id; }))
      current.push_back(row);
  sort_by_id(current);
  return current;
}

bool is_launcher_comment(std::string_view comment) { return starts_with(trimmed(comment), job_comment_prefix); }

int max_gpus_per_node(std::string_view sinfo_gres) {
  // gpu[:TYPE]:COUNT, then an optional "(S:…)" socket list.
  static const std::regex gpu_entry("^gpu(:[^:(,]+)?:([0-9]{1,6})(\\(.*\\))?$");
  int most = 0;
  for (const auto& line : split(std::string(sinfo_gres), '\n')) {
    int on_node = 0;
    // Entries are separated by commas outside the parentheses of socket lists.
    std::string entry;
    int depth = 0;
    auto finish = [&] {
      std::smatch match;
      std::string item = trimmed(entry);
      if (std::regex_match(item, match, gpu_entry)) on_node += std::stoi(match[2]);
      entry.clear();
    };
    for (char c : line) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      if (c == ',' && depth == 0)
        finish();
      else
        entry += c;
    }
    finish();
    most = std::max(most, on_node);
  }
  return most;
}

std::optional<std::string> scontrol_field(std::string_view line, std::string_view key) {
  static const std::regex next_key(" [A-Za-z][A-Za-z0-9_:/]*=");
  std::string text(line);
  std::string wanted = std::string(key) + "=";
  std::size_t at = starts_with(text, wanted) ? 0 : text.find(" " + wanted);
  if (at == std::string::npos) return std::nullopt;
  std::size_t start = at + (at == 0 && starts_with(text, wanted) ? 0 : 1) + wanted.size();
  std::smatch match;
  std::string rest = text.substr(start);
  std::size_t end =
      std::regex_search(rest, match, next_key) ? static_cast<std::size_t>(match.position(0)) : rest.size();
  return trimmed(rest.substr(0, end));
}

std::string slurm_reason(std::string_view stderr_text) {
  std::string reason;
  for (const auto& raw : split(std::string(stderr_text), '\n')) {
    std::string line = trimmed(raw);
    for (const char* prefix : {"sbatch: error: ", "squeue: error: ", "scancel: error: ", "scontrol: error: ",
                               "sinfo: error: ", "sacct: error: "})
      if (starts_with(line, prefix)) line = line.substr(std::string_view(prefix).size());
    if (!line.empty()) reason += (reason.empty() ? "" : "; ") + line;
  }
  return reason.empty() ? "no reason given" : reason;
}

} // namespace launcher::slurm
