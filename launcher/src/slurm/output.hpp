#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace launcher::slurm {

// `sbatch --parsable` prints "ID" or "ID;CLUSTER". Throws Error naming the output otherwise.
long long parse_submitted_job_id(std::string_view out);

// A Slurm job id as typed: digits only, at most 18 of them.
bool is_job_id(std::string_view text);

// squeue's fields for `launcher jobs`, in this order, '|'-separated; the comment comes last as it
// is free text.
inline constexpr const char* squeue_format = "%i|%T|%D|%N|%j|%e|%k";
// The same fields as sacct names them (sacct -X -n -P -o sacct_fields), for the jobs squeue no
// longer shows once Slurm purged them (MinJobAge).
inline constexpr const char* sacct_fields = "JobID,State,NNodes,NodeList,JobName,End,Comment";

struct JobRow {
  enum class Source { squeue, sacct };
  long long id = 0;
  std::string state; // RUNNING, PENDING, CANCELLED, ...
  int nodes = 0;
  std::string node_list;
  std::string name;
  std::string end;   // when it ended, or is expected to ("2026-12-07T01:26:33"); empty when unknown
  std::string image; // from the comment the launcher set: what the nodes ran; empty where Slurm kept no comment
  std::string tag;   // the image as the profile named it; empty for jobs submitted before it was kept
  Source source = Source::squeue;
};

// The launcher's jobs in squeue's output (squeue_format, no header), by job id; other jobs are left out.
// A malformed line throws Error naming it.
std::vector<JobRow> parse_job_rows(std::string_view out);

// The launcher's jobs in sacct's output (sacct_fields, -n -P), by job id: those with the comment it
// set, and where Slurm kept no comment (the job completion log keeps none; the accounting database
// only with AccountingStoreFlags=job_comment) those with the name it gives (job_name, "launcher-…").
// A malformed line throws Error naming it; array and heterogeneous jobs ("7_1", "7+0") are not the launcher's.
std::vector<JobRow> parse_sacct_rows(std::string_view out);

// squeue's rows and, for the jobs squeue no longer shows, sacct's, by job id.
std::vector<JobRow> merge_job_rows(std::vector<JobRow> current, const std::vector<JobRow>& past);

// Whether a job's comment (squeue's %k) is one `launcher submit` set.
bool is_launcher_comment(std::string_view comment);

// The most GPUs one node of the partition offers, from `sinfo -h -o %G` (lines like "gpu:4",
// "gpu:a100:8(S:0-1)", "gpu:a100:2,gpu:v100:1" or "(null)").
int max_gpus_per_node(std::string_view sinfo_gres);

// One field of `scontrol show job -o` (KEY=VALUE pairs on one line; values such as paths may hold
// spaces, so a value runs until the next " KEY=").
std::optional<std::string> scontrol_field(std::string_view line, std::string_view key);

// What a Slurm client said when it failed, without its "sbatch: error: " prefixes, on one line.
std::string slurm_reason(std::string_view stderr_text);

} // namespace launcher::slurm
