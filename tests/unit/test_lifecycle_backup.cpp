#include <ctime>

#include <catch2/catch.hpp>

#include "doctor/checks.hpp"
#include "lifecycle/backup.hpp"

using namespace launcher;
using nlohmann::json;

TEST_CASE("ps shows the last backup's age and result, never a raw status", "[lifecycle][backup]") {
  const long long now = 1'800'000'000; // 2027-01-15T08:00:00Z
  auto finished = [&](long long ago) {
    std::time_t at = now - ago;
    std::tm utc{};
    gmtime_r(&at, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(text);
  };
  CHECK(finished(0) == "2027-01-15T08:00:00Z");
  CHECK(lifecycle::describe_backup_status(json::object(), now) == "never");
  CHECK(lifecycle::describe_backup_status({{"result", "ok"}, {"finished_at", finished(125)}}, now) == "2m ago ok");
  CHECK(lifecycle::describe_backup_status({{"result", "ok"}, {"finished_at", finished(7200)}}, now) == "2h ago ok");
  CHECK(lifecycle::describe_backup_status({{"result", "failed"},
                                           {"finished_at", finished(30)},
                                           {"message", "bucket \"x\" does "
                                                       "not exist\n\x1b[2J"}},
                                          now) == "30s ago failed: bucket \"x\" does not exist\\x0a\\x1b[2J");
  CHECK(lifecycle::describe_backup_status({{"result", "failed"}, {"finished_at", finished(3 * 86400)}}, now) ==
        "3d ago failed");
  CHECK(lifecycle::describe_backup_status({{"finished_at", "yesterday"}}, now) == "never");
  CHECK(lifecycle::describe_backup_status({{"finished_at", "2027-01-15T08:00:00Z trailing"}}, now) == "never");
}

TEST_CASE("a finished backup is one line: version, files, bytes, seconds, throughput", "[lifecycle][backup]") {
  json result{{"version", "20261207T011500Z"}, {"files", 64},     {"bytes", 1073741824},
              {"uploaded_bytes", 12582912},    {"seconds", 8.21}, {"throughput_mb_s", 130.8}};
  CHECK(lifecycle::describe_backup_run("dev", result) ==
        "backup 20261207T011500Z of dev: 64 files, 1.0 GiB (12.0 MiB uploaded) in 8.2 s, 130.8 MB/s");
  result.erase("seconds");
  CHECK_THROWS_WITH(lifecycle::describe_backup_run("dev", result), Catch::Contains("/seconds"));
}

TEST_CASE("the versions are a table with their state", "[lifecycle][backup]") {
  json listing{
      {"versions",
       {{{"version", "v1"}, {"state", "complete"}, {"files", 3}, {"bytes", 2048}, {"created", "2026-12-07T01:00:00Z"}},
        {{"version", "v2"},
         {"state", "incomplete"},
         {"files", 1},
         {"bytes", 10},
         {"created", "2026-12-07T01:30:00Z"}}}}};
  std::string table = lifecycle::backup_versions_table(listing);
  CHECK(table.find("VERSION") == 0);
  CHECK(table.find("v1                       complete          3    2.0 KiB  2026-12-07T01:00:00Z\n") !=
        std::string::npos);
  CHECK(table.find("v2                       incomplete        1       10 B  2026-12-07T01:30:00Z\n") !=
        std::string::npos);
}

TEST_CASE("doctor's backup check: keys, then the store from inside the running env", "[doctor][backup]") {
  using doctor::Status;
  const std::string repository = "s3://ckpt/team/dev";
  auto missing = doctor::backup_check({repository, "/home/a/.aws/credentials has no profile [x]", true, std::nullopt});
  CHECK(missing.status == Status::fail);
  CHECK(missing.message == "backup to s3://ckpt/team/dev: /home/a/.aws/credentials has no profile [x]");
  auto stopped = doctor::backup_check({repository, "", false, std::nullopt});
  CHECK(stopped.status == Status::warn);
  CHECK(stopped.fix == "launcher up, then launcher doctor again (or launcher backup ENV)");
  auto refused = doctor::backup_check({repository, "", true, std::string("the store check failed: access denied")});
  CHECK(refused.status == Status::fail);
  CHECK(refused.message == "backup to s3://ckpt/team/dev: the store check failed: access denied");
  auto fine = doctor::backup_check({repository, "", true, std::string()});
  CHECK(fine.status == Status::ok);
  CHECK(fine.message == "backup to s3://ckpt/team/dev: the store answers and the keys work");
}
