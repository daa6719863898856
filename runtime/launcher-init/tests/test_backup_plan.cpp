#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "backup.hpp"
#include "backup_plan.hpp"
#include "error.hpp"

using namespace launcher_init;

namespace {

const std::string hash_a(64, 'a');
const std::string hash_b(64, 'b');
const std::string hash_c(64, 'c');

std::string recorded(const std::string& name) {
  std::ifstream file(std::string(LAUNCHER_FIXTURES_DIR) + "/rclone/" + name);
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

Manifest manifest_of(std::string version, std::vector<std::string> hashes) {
  Manifest manifest{std::move(version), {}};
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    manifest.files.push_back({"/workspace/f" + std::to_string(i), 10, 1, hashes[i]});
  }
  return manifest;
}

} // namespace

TEST_CASE("backup manifest: written and read back unchanged, paths with quotes and newlines included") {
  Manifest manifest{"20261207T012233.123456Z",
                    {{"/workspace/a \"quoted\"\nname", 5, 1'765'000'000'123'456'789, hash_a},
                     {"/workspace/b", 9'000'000'000'000, -5, hash_b}}};
  auto read = parse_manifest(manifest_json(manifest), "m.json");
  CHECK(read.version == manifest.version);
  REQUIRE(read.files.size() == 2);
  CHECK(read.files[0].path == manifest.files[0].path);
  CHECK(read.files[0].mtime_ns == manifest.files[0].mtime_ns);
  CHECK(read.files[1].size == 9'000'000'000'000);
  CHECK(read.files[1].mtime_ns == -5);
  CHECK(read.bytes() == 9'000'000'000'005);
}

TEST_CASE("backup manifest: a wrong field is an error naming the manifest and the field") {
  auto bad = [](std::string json) {
    try {
      parse_manifest(json, "versions/x.json");
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  std::string file = "{\"path\":\"/w/f\",\"size\":1,\"mtime_ns\":1,\"sha256\":\"" + hash_a + "\"}";
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[" + file + "]}") == "no error");
  CHECK(bad("{\"version\":\"yesterday\",\"files\":[]}") ==
        "failed to read: versions/x.json: version: expected a version id");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"w/"
            "f\",\"size\":1,\"mtime_ns\":1,\"sha256\":\"" +
            hash_a + "\"}]}") ==
        "failed to read: versions/x.json: path: expected an absolute, normal file path, found 'w/f'");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"/w/../f\",\"size\":1,\"mtime_ns\":1,"
            "\"sha256\":\"" +
            hash_a + "\"}]}") ==
        "failed to read: versions/x.json: path: expected an absolute, normal file path, found '/w/../f'");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"/w/f\",\"size\":-1,\"mtime_ns\":1,"
            "\"sha256\":\"" +
            hash_a + "\"}]}") ==
        "failed to read: versions/x.json: size: expected a whole number from 0 to 9223372036854775807, found -1");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"/w/f\",\"size\":1,\"mtime_ns\":1,"
            "\"sha256\":\"ABC\"}]}") == "failed to read: versions/x.json: sha256: expected 64 hex digits for /w/f");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"/w/f\",\"size\":"
            "9223372036854775808,\"mtime_ns\":1,\"sha256\":\"" +
            hash_a + "\"}]}") == "failed to read: versions/x.json: size: expected a whole number from 0 to "
                                 "9223372036854775807, found 9223372036854775808");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[{\"path\":\"/w/f\",\"size\":1,\"mtime_ns\":1.5,"
            "\"sha256\":\"" +
            hash_a + "\"}]}") == "failed to read: versions/x.json: mtime_ns: expected a whole number from "
                                 "-9223372036854775808 to 9223372036854775807, found 1.5");
  CHECK(bad("{\"version\":\"20261207T012233.123456Z\",\"files\":[") ==
        "failed to parse: versions/x.json: parse error at line 1, column 47: syntax error while parsing value - "
        "unexpected end of input; expected '[', '{', or a literal");
  // Nesting is not limited, and deep nesting does not exhaust the stack.
  CHECK(bad(std::string(100'000, '['))
            .starts_with("failed to parse: versions/x.json: parse error at line 1, column "
                         "100001: syntax error while parsing value - unexpected end"));
}

TEST_CASE("backup json: a parse error does not quote the text, which may be the secret credentials") {
  CHECK_THROWS_WITH(parse_json(R"({"aws_secret_access_key":"s3cr3t)", "backup_credentials"),
                    "failed to parse: backup_credentials: parse error at line 1, column 33: syntax error while "
                    "parsing value - invalid string: missing closing quote");
  CHECK_THROWS_WITH(
      json_string(parse_json(R"({"aws_access_key_id":1})", "credentials"), "aws_access_key_id", "credentials"),
      "failed to read: credentials: aws_access_key_id: expected a string");
}

TEST_CASE("backup manifest: a file name that is not UTF-8 is an error naming the file, as JSON cannot hold it") {
  Manifest manifest{"20261207T012233.123456Z", {{"/workspace/caf\xe9", 5, 1, hash_a}}};
  CHECK_THROWS_WITH(manifest_json(manifest),
                    "failed to back up: /workspace/caf\xe9: the name is not UTF-8, which a manifest (JSON) cannot "
                    "hold");
}

TEST_CASE("backup versions: ids are sortable UTC times, and a listing keeps only manifests") {
  auto time = std::chrono::system_clock::from_time_t(1'796'606'553) + std::chrono::microseconds(42);
  CHECK(version_id(time) == "20261207T012233.000042Z");
  CHECK(is_version_id("20261207T012233.000042Z"));
  CHECK_FALSE(is_version_id("20261207T012233Z"));
  CHECK(versions_in_listing({"20261207T012233.000042Z.json", "20251207T012233.000042Z.json", "notes.json",
                             "20261207T012233.000042Z.json.tmp"}) ==
        std::vector<std::string>{"20251207T012233.000042Z", "20261207T012233.000042Z"});
}

TEST_CASE("backup keep: manifests beyond the newest complete ones go, then the objects none of the rest names") {
  std::vector<Manifest> manifests = {manifest_of("20260101T000000.000000Z", {hash_a}),
                                     manifest_of("20260102T000000.000000Z", {hash_a, hash_b}),
                                     manifest_of("20260103T000000.000000Z", {hash_b})};
  std::set<std::string, std::less<>> objects = {hash_a, hash_b, hash_c};
  auto pruning = plan_pruning(manifests, objects, 2);
  CHECK(pruning.versions == std::vector<std::string>{"20260101T000000.000000Z"});
  CHECK(pruning.objects == std::vector<std::string>{hash_c});

  pruning = plan_pruning(manifests, objects, 1);
  CHECK(pruning.versions == std::vector<std::string>{"20260101T000000.000000Z", "20260102T000000.000000Z"});
  CHECK(pruning.objects == std::vector<std::string>{hash_a, hash_c});
}

TEST_CASE("backup keep: an incomplete version does not count, so the complete one before it stays") {
  std::vector<Manifest> manifests = {manifest_of("20260101T000000.000000Z", {hash_a}),
                                     manifest_of("20260102T000000.000000Z", {hash_b})};
  std::set<std::string, std::less<>> objects = {hash_a}; // hash_b's object is missing
  CHECK_FALSE(is_complete(manifests[1], objects));
  auto pruning = plan_pruning(manifests, objects, 1);
  CHECK(pruning.versions.empty());
  CHECK(pruning.objects.empty());
}

TEST_CASE("backup change detection: only a file with the same size and mtime and a stored object is reused") {
  std::map<std::string, BackupFile> previous = {{"/w/f", {"/w/f", 10, 100, hash_a}}};
  std::set<std::string, std::less<>> objects = {hash_a};
  CHECK(unchanged_hash({"/w/f", 10, 100, {}}, previous, objects) == hash_a);
  CHECK_FALSE(unchanged_hash({"/w/f", 11, 100, {}}, previous, objects));
  CHECK_FALSE(unchanged_hash({"/w/f", 10, 101, {}}, previous, objects));
  CHECK_FALSE(unchanged_hash({"/w/g", 10, 100, {}}, previous, objects));
  CHECK_FALSE(unchanged_hash({"/w/f", 10, 100, {}}, previous, {}));
}

TEST_CASE("backup errors: rclone's recorded failures become one line naming the cause") {
  const std::string endpoint = "http://127.0.0.1:5079";
  CHECK(describe_store_failure(recorded("1.60-wrong-key.txt"), "b", endpoint) ==
        "http://127.0.0.1:5079 refused the backup credentials (InvalidAccessKeyId)");
  CHECK(describe_store_failure(recorded("1.60-missing-bucket-upload.txt"), "nobucket2", endpoint) ==
        "bucket nobucket2 does not exist at http://127.0.0.1:5079");
  CHECK(describe_store_failure(recorded("1.60-unreachable.txt"), "b", endpoint) ==
        "cannot reach http://127.0.0.1:5079: connection refused");
  CHECK(describe_store_failure(recorded("1.60-ca-bundle.txt"), "b", "") ==
        "rclone cannot use the CA bundle it was given (AWS_CA_BUNDLE): unsupported transport");
  CHECK(describe_store_failure(recorded("1.60-missing-bucket-list.txt"), "b", endpoint) ==
        "error in ListJSON: directory not found");
  CHECK(describe_store_failure("Failed to copy: RequestTimeTooSkewed: The difference between the request time and "
                               "the current time is too large.",
                               "b", "") ==
        "this machine's clock differs too much from AWS S3's (RequestTimeTooSkewed): set the time");
  CHECK(describe_store_failure("", "b", "") == "rclone failed without a message");
}

TEST_CASE("backup settings: LAUNCHER_BACKUP_* are read whole or refused naming the variable") {
  Environment environment = {{"LAUNCHER_BACKUP_TO", "s3://bucket/team/env1/"},
                             {"LAUNCHER_BACKUP_PATHS", R"(["/workspace/checkpoints", "/data/../results"])"},
                             {"LAUNCHER_BACKUP_EVERY", "60"},
                             {"LAUNCHER_BACKUP_KEEP", "3"}};
  auto backup = parse_backup_settings(environment);
  REQUIRE(backup);
  CHECK(backup->retries == 3);
  environment["LAUNCHER_BACKUP_RETRIES"] = "1";
  backup = parse_backup_settings(environment);
  REQUIRE(backup);
  CHECK(backup->bucket == "bucket");
  CHECK(backup->repository == "team/env1");
  CHECK(backup->paths == std::vector<std::filesystem::path>{"/workspace/checkpoints", "/results"});
  CHECK(backup->every == std::chrono::seconds(60));
  CHECK(backup->keep == 3);
  CHECK(backup->retries == 1);
  CHECK(backup->endpoint.empty());
  CHECK_FALSE(parse_backup_settings({}));

  auto refused = [&](const std::string& name, const std::string& value) {
    auto changed = environment;
    changed[name] = value;
    try {
      parse_backup_settings(changed);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(refused("LAUNCHER_BACKUP_TO", "s3://bucket") ==
        "failed to read setting: LAUNCHER_BACKUP_TO: expected s3://BUCKET/PREFIX, found 's3://bucket'");
  CHECK(refused("LAUNCHER_BACKUP_TO", "gs://bucket/x") ==
        "failed to read setting: LAUNCHER_BACKUP_TO: expected s3://BUCKET/PREFIX");
  CHECK(refused("LAUNCHER_BACKUP_PATHS", R"(["relative"])") ==
        "failed to read setting: LAUNCHER_BACKUP_PATHS: expected absolute paths, found 'relative'");
  CHECK(refused("LAUNCHER_BACKUP_PATHS", "[1]") ==
        "failed to read: LAUNCHER_BACKUP_PATHS: expected an array of strings");
  CHECK(refused("LAUNCHER_BACKUP_KEEP", "0") ==
        "failed to read setting: LAUNCHER_BACKUP_KEEP: expected a whole number from 1 to 100000, found '0'");
  CHECK(refused("LAUNCHER_BACKUP_EVERY", "30m") ==
        "failed to read setting: LAUNCHER_BACKUP_EVERY: expected a whole number from 1 to 31622400, found '30m'");
  CHECK(refused("LAUNCHER_BACKUP_RETRIES", "0") ==
        "failed to read setting: LAUNCHER_BACKUP_RETRIES: expected a whole number from 1 to 100, found '0'");
  CHECK(refused("LAUNCHER_BACKUP_RETRIES", "three") ==
        "failed to read setting: LAUNCHER_BACKUP_RETRIES: expected a whole number from 1 to 100, found 'three'");
}
