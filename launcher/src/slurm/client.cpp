#include "slurm/client.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "slurm/output.hpp"

namespace launcher::slurm {

process::ProcessResult run_slurm(const std::vector<std::string>& argv, const std::string& what,
                                 const process::ProcessOptions& options) {
  if (!process::on_path(argv.front()))
    throw Error(ExitCode::host_incapable, argv.front() + " is not on PATH: Slurm's client commands (Debian: "
                                                         "slurm-client) and a cluster are needed for this");
  process::ProcessResult result = process::run_process(argv, options);
  if (result.exit_code != 0)
    throw Error(ExitCode::failed, what + ": " + argv.front() + " failed: " + slurm::slurm_reason(result.err));
  return result;
}

PastJobs list_past_jobs(unsigned uid) {
  // -X: jobs, not their steps; -P: '|'-separated; -S: sacct's own default is since midnight.
  std::vector<std::string> query{"sacct", "-X", "-n", "-P", "-S", "now-7days"};
  query.insert(query.end(), {"-u", std::to_string(uid), "-o", sacct_fields});
  PastJobs past;
  for (bool completion_log : {false, true}) {
    std::vector<std::string> argv = query;
    if (completion_log) argv.insert(argv.begin() + 1, "-c");
    try {
      past.out = run_slurm(argv, completion_log ? "the job completion log" : "the accounting database").out;
      past.unavailable.clear();
      return past;
    } catch (const Error& error) {
      past.unavailable += (past.unavailable.empty() ? "" : "; ") + std::string(error.what());
      if (error.code() == ExitCode::host_incapable) break; // no sacct: the log cannot be read either
    }
  }
  return past;
}

} // namespace launcher::slurm
