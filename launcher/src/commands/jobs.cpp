#include <unistd.h>

#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "commands/slurm.hpp"
#include "slurm/client.hpp"
#include "slurm/job.hpp"
#include "slurm/output.hpp"

namespace launcher::commands {

void add_jobs_command(CLI::App& app, Context& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("jobs", "list the launcher's Slurm jobs, as Slurm knows them");
  command->add_flag("--json", *json, "print them as JSON");
  command->callback([json, &context] {
    // -t all: finished jobs too, for as long as slurmctld remembers them (MinJobAge); sacct after that.
    std::string out =
        slurm::run_slurm({"squeue", "--me", "-h", "-t", "all", "-o", slurm::squeue_format}, "listing jobs").out;
    slurm::PastJobs past = slurm::list_past_jobs(getuid());
    std::vector<slurm::JobRow> rows =
        slurm::merge_job_rows(slurm::parse_job_rows(out), slurm::parse_sacct_rows(past.out));
    if (!past.unavailable.empty())
      *context.err << "launcher: note: jobs that ended more than MinJobAge ago are not listed: Slurm keeps no record "
                      "of them here ("
                   << past.unavailable << ")\n";
    if (*json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& row : rows)
        list.push_back({{"job", row.id},
                        {"state", row.state},
                        {"nodes", row.nodes},
                        {"node_list", row.node_list},
                        {"name", row.name},
                        {"end", row.end},
                        {"image", row.image},
                        {"tag", row.tag},
                        {"source", row.source == slurm::JobRow::Source::squeue ? "squeue" : "sacct"}});
      *context.out << list.dump(2) << "\n";
      return;
    }
    constexpr const char* row_format = "{:<10} {:<11} {:>5}  {:<14} {:<28} {:<19} {}\n";
    *context.out << fmt::format(row_format, "JOB", "STATE", "NODES", "NODELIST", "NAME", "END", "IMAGE");
    // The tag as the profile named it, with enough of the digest to tell two builds apart.
    for (const auto& row : rows) {
      std::string digest =
          row.image.substr(row.image.find("sha256:") == std::string::npos ? 0 : row.image.find("sha256:"));
      std::string image = row.tag.empty() ? row.image : row.tag + " (" + digest.substr(0, 19) + ")";
      // The job completion log keeps no comment: the image of such a job is not known.
      *context.out << fmt::format(row_format, row.id, row.state, row.nodes, row.node_list, row.name,
                                  row.end.empty() ? "-" : row.end, image.empty() ? "-" : image);
    }
  });
}

} // namespace launcher::commands
