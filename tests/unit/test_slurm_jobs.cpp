#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "doctor_fixtures.hpp"
#include "slurm/output.hpp"
#include "support.hpp"

using namespace launcher;
using launcher::slurm::JobRow;
using launcher::testing::require_error;

namespace {

// Recorded on tests/slurm/cluster.sh's cluster (Slurm 22.05, jobcomp/filetxt, no accounting
// database): jobs 1 (launcher-ibtest, completed), 2 (plain, failed), 3 (launcher-cancelled,
// cancelled while pending) and 4 (launcher-running).
std::string recorded(const std::string& name) { return read_file(testing::fixture("slurm/" + name)); }

std::vector<long long> ids(const std::vector<JobRow>& rows) {
  std::vector<long long> found;
  for (const auto& row : rows)
    found.push_back(row.id);
  return found;
}

} // namespace

TEST_CASE("squeue's real rows: the launcher's jobs by comment, with their end times", "[slurm][parse][jobs]") {
  auto rows = slurm::parse_job_rows(recorded("squeue-jobs.txt"));
  REQUIRE(ids(rows) == std::vector<long long>{1, 3, 4});
  CHECK(rows[0].state == "COMPLETED");
  CHECK(rows[0].end == "2026-12-07T01:26:33");
  CHECK(rows[0].image == "pytorch-cpu@sha256:abc");
  CHECK(rows[0].tag == "pytorch-cpu:1");
  CHECK(rows[1].node_list.empty());
  CHECK(rows[2].state == "RUNNING");
  CHECK(rows[2].end == "2026-12-07T01:48:21"); // the time limit's end
  CHECK(rows[2].tag == "pytorch-cpu:1.13.0a0-debian12");
  CHECK(rows[2].source == JobRow::Source::squeue);
}

TEST_CASE("the job completion log's real rows: the launcher's jobs by name, the image unknown",
          "[slurm][parse][jobs]") {
  auto rows = slurm::parse_sacct_rows(recorded("sacct-completion-log.txt"));
  REQUIRE(ids(rows) == std::vector<long long>{1, 3});
  CHECK(rows[0].state == "COMPLETED");
  CHECK(rows[0].nodes == 1);
  CHECK(rows[0].node_list == "n1");
  CHECK(rows[0].name == "launcher-ibtest");
  CHECK(rows[0].end == "2026-12-07T01:26:33");
  CHECK(rows[0].image.empty());
  CHECK(rows[0].source == JobRow::Source::sacct);
  CHECK(rows[1].state == "CANCELLED");
  CHECK(rows[1].nodes == 0);
  CHECK(rows[1].node_list.empty()); // "(null)": it never ran
}

TEST_CASE("the accounting database's rows: the comment decides, who cancelled is not the state",
          "[slurm][parse][jobs]") {
  auto rows = slurm::parse_sacct_rows("21|CANCELLED by 1000|2|n[1-2]|launcher-train|2026-12-06T23:10:04|"
                                      "launcher-image=sha256:7c41aa,tag=pytorch-cpu:1.13.0a0-debian12\n"
                                      "22|COMPLETED|1|n1|launcher-mine|2026-12-06T23:11:00|other comment\n"
                                      "23_1|COMPLETED|1|n1|launcher-array|2026-12-06T23:12:00|\n"
                                      "20|TIMEOUT|1|n2|other|2026-12-06T23:00:00|launcher-image=sha256:1\n"
                                      "24|RUNNING|1|n1|launcher-now|Unknown|\n");
  REQUIRE(ids(rows) == std::vector<long long>{20, 21, 24});
  CHECK(rows[0].state == "TIMEOUT");
  CHECK(rows[1].state == "CANCELLED");
  CHECK(rows[1].tag == "pytorch-cpu:1.13.0a0-debian12");
  CHECK(rows[2].end.empty());
  require_error([] { slurm::parse_sacct_rows("7|COMPLETED|1"); }, ExitCode::failed,
                "sacct printed \"7|COMPLETED|1\", expected JobID,State,NNodes,NodeList,JobName,End,Comment");
  require_error([] { slurm::parse_sacct_rows("7|COMPLETED|x|n1|launcher-a|Unknown|"); }, ExitCode::failed,
                "sacct printed \"7|COMPLETED|x|n1|launcher-a|Unknown|\", expected a job "
                "id and a node count");
}

TEST_CASE("jobs lists squeue's rows and sacct's for the jobs Slurm purged, by job id", "[slurm][jobs]") {
  auto current =
      slurm::parse_job_rows("4|RUNNING|1|n1|launcher-running|2026-12-07T01:48:21|launcher-image=sha256:7c\n");
  auto merged = slurm::merge_job_rows(current, slurm::parse_sacct_rows(recorded("sacct-completion-log.txt")));
  REQUIRE(ids(merged) == std::vector<long long>{1, 3, 4});
  CHECK(merged[0].source == JobRow::Source::sacct);
  CHECK(merged[2].source == JobRow::Source::squeue);
  // A job both know is squeue's, which has its comment.
  auto both = slurm::merge_job_rows(slurm::parse_job_rows(recorded("squeue-jobs.txt")),
                                    slurm::parse_sacct_rows(recorded("sacct-completion-log.txt")));
  REQUIRE(ids(both) == std::vector<long long>{1, 3, 4});
  CHECK(both[0].source == JobRow::Source::squeue);
  CHECK(both[0].image == "pytorch-cpu@sha256:abc");
}
