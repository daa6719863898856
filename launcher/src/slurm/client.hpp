#pragma once

#include <string>
#include <vector>

#include "process/process.hpp"

namespace launcher::slurm {

// Slurm's client commands (sbatch, squeue, sinfo, scontrol, scancel), spawned without a shell.
// A program missing from PATH is Error(host_incapable) saying what installs it; a failed one is
// Error(failed): "<what>: <program> failed: <Slurm's own reason>".
process::ProcessResult run_slurm(const std::vector<std::string>& argv, const std::string& what,
                                 const process::ProcessOptions& options = {});

// What sacct knows of user `uid`'s jobs of the last week (sacct_fields, as parse_sacct_rows reads
// it): from the accounting database, else from the job completion log (JobCompType=jobcomp/filetxt,
// which needs no slurmdbd; `sacct -c`). When neither answers, `out` is empty and `unavailable`
// gives both reasons.
struct PastJobs {
  std::string out;
  std::string unavailable;
};
PastJobs list_past_jobs(unsigned uid);

} // namespace launcher::slurm
