#include <catch2/catch.hpp>

#include "lifecycle/inspect.hpp"
#include "lifecycle/snapshot.hpp"
#include "lifecycle/unsaved.hpp"
#include "support.hpp"

using namespace launcher;
using lifecycle::PackageChange;
using lifecycle::PackageListing;

namespace {

// `docker diff` of an env whose user is alice, work dir /workspace on a volume.
lifecycle::UnsavedWork work_of(const std::string& diff, const std::optional<PackageListing>& built = std::nullopt,
                               const std::optional<PackageListing>& current = std::nullopt) {
  return lifecycle::unsaved_work(diff, {"/workspace", "/data"}, "/home/alice", "/workspace", built, current);
}

} // namespace

TEST_CASE("every change outside the volumes counts, wherever it is", "[lifecycle][unsaved]") {
  auto work = work_of(
      "C /opt\nA /opt/unsaved-work.txt\nA /srv/notes\nC /usr\nC /usr/local\nC /usr/local/bin\nA /usr/local/bin/tool\n"
      "A /workspace/on-volume.txt\nA /home/alice\nA /home/alice/model.pt\nD /etc/motd\n");
  CHECK(work.files ==
        std::vector<std::string>{"/home/alice/model.pt", "/opt/unsaved-work.txt", "/srv/notes", "/usr/local/bin/tool"});
}

TEST_CASE("each regenerated place is noise, and nothing else is", "[lifecycle][unsaved]") {
  for (const auto& place : lifecycle::regenerated_paths()) {
    INFO(place);
    CHECK(lifecycle::is_regenerated(place, "/home/alice"));
    CHECK(lifecycle::is_regenerated(place + "/x", "/home/alice"));
    CHECK(work_of("A " + place + "/file\n").files.empty());
  }
  for (const auto& entry : lifecycle::regenerated_home_entries()) {
    INFO(entry);
    CHECK(work_of("A /home/alice/" + entry + "/x\n").files.empty());
    // Only in the user's home: elsewhere the same name is data.
    CHECK(work_of("A /opt/" + entry + "/x\n").files == std::vector<std::string>{"/opt/" + entry + "/x"});
  }
  CHECK(work_of("A /opt/app/__pycache__/m.cpython-311.pyc\nA /opt/app/__pycache__\n").files.empty());
  CHECK(work_of("A /etc/sudoers.d/launcher-alice\n").files.empty());
  CHECK(work_of("A /etc/sudoers.d/other\n").files == std::vector<std::string>{"/etc/sudoers.d/other"});
  CHECK(work_of("A /tmpfile\nA /var/cache2/x\n").files == std::vector<std::string>{"/tmpfile", "/var/cache2/x"});
  // What Podman writes at start; a file whose name only begins the same is data.
  CHECK(work_of("C /etc\nC /etc/hosts\nA /etc/mtab\n").files.empty());
  CHECK(work_of("A /etc/hosts.allow\n").files == std::vector<std::string>{"/etc/hosts.allow"});
  // What launcher-init makes at start: the home and work dir themselves, empty.
  CHECK(work_of("A /home/alice\nC /run\nA /run/launcher\nC /etc/passwd\nC /etc/shadow\n").files.empty());
}

TEST_CASE("package changes are named with both versions, new and removed ones too", "[lifecycle][unsaved]") {
  CHECK(lifecycle::package_changes({{"numpy", "1.24.2"}, {"six", "1.16.0"}, {"torch", "2.7.1"}},
                                   {{"numpy", "1.26.0"}, {"tinywheel", "0.1"}, {"torch", "2.7.1"}}) ==
        std::vector<PackageChange>{{"numpy", "1.24.2", "1.26.0"}, {"six", "1.16.0", ""}, {"tinywheel", "", "0.1"}});
}

TEST_CASE("files of changed packages are told as the packages", "[lifecycle][unsaved]") {
  PackageListing built{{{"torch", "2.7.1"}}, {{"bash", "5.2"}}, {}};
  PackageListing current{{{"torch", "2.7.1"}, {"tinywheel", "0.1"}},
                         {{"bash", "5.2"}, {"jq", "1.6-2.1"}},
                         {"/usr/lib/python3/dist-packages/tinywheel/__init__.py",
                          "/usr/lib/python3/dist-packages/tinywheel-0.1.dist-info", "/usr/bin/jq"}};
  std::string diff =
      "A /usr/lib/python3/dist-packages/tinywheel\nA /usr/lib/python3/dist-packages/tinywheel-0.1.dist-info\n"
      "A /usr/lib/python3/dist-packages/tinywheel/__init__.py\nA /opt/venv/lib/python3.11/site-packages/x.py\n"
      "C /var/lib/dpkg/status\nC /var/lib/apt/extended_states\nA /usr/bin/jq\nA /opt/keep.txt\n";
  auto work = work_of(diff, built, current);
  CHECK(work.python == std::vector<PackageChange>{{"tinywheel", "", "0.1"}});
  CHECK(work.debian == std::vector<PackageChange>{{"jq", "", "1.6-2.1"}});
  // A file no changed package owns stays a file, even in site-packages.
  CHECK(work.files == std::vector<std::string>{"/opt/keep.txt", "/opt/venv/lib/python3.11/site-packages/x.py"});
  // Without the listings (a stopped container), the same files are files.
  CHECK(work_of(diff).files.size() == 7);
}

TEST_CASE("the refusal groups what would be lost and says how to keep each", "[lifecycle][unsaved]") {
  lifecycle::UnsavedWork work;
  for (int i = 0; i < 22; ++i)
    work.files.push_back("/opt/f" + std::to_string(100 + i));
  work.python = {{"tinywheel", "", "0.1"}, {"numpy", "1.24.2", "1.26.0"}};
  work.debian = {{"jq", "", "1.6-2.1"}, {"nano", "7.2-1", ""}};
  std::string message = lifecycle::unsaved_work_message("lab", work, "/workspace", "or discard it all with --force");
  std::string files;
  for (int i = 0; i < 20; ++i)
    files += "\n    /opt/f" + std::to_string(100 + i);
  CHECK(message == "environment \"lab\" has changes outside its volumes that removing the container would lose:"
                   "\n  files (22):" +
                       files +
                       "\n    ... and 2 more (`launcher down lab --list-all` lists every file)"
                       "\n  Python packages installed, changed or removed since the image was built (2):"
                       "\n    tinywheel 0.1 (new)\n    numpy 1.24.2 -> 1.26.0"
                       "\n  Debian packages installed, changed or removed since the image was built (2):"
                       "\n    jq 1.6-2.1 (new)\n    nano 7.2-1 (removed)"
                       "\nkeep all of it as an image with `launcher snapshot lab` (then `launcher up --image <its "
                       "tag>`); keep files "
                       "with `docker cp lab:PATH .` or by moving them onto a volume (`launcher exec lab -- mv PATH "
                       "/workspace/`); make "
                       "packages part of every environment through the image's lock or the team file's image; or "
                       "discard it all with --force");
}

TEST_CASE("a package listing that is not one names its source", "[lifecycle][unsaved]") {
  auto listing = lifecycle::parse_package_listing(R"({"python": {"torch": "2.7.1"}, "debian": {"bash": "5.2"}})", "x");
  CHECK(listing.python.at("torch") == "2.7.1");
  testing::require_error(
      [] { lifecycle::parse_package_listing("[]", "lab:/usr/local/share/launcher/packages.json"); }, ExitCode::failed,
      "lab:/usr/local/share/launcher/packages.json is not a package listing ({\"python\": {NAME: VERSION}, "
      "\"debian\": {NAME: VERSION}})");
  testing::require_error(
      [] { lifecycle::parse_package_listing(R"({"python": {"a": 1}, "debian": {}})", "src"); }, ExitCode::failed,
      R"(src is not a package listing ({"python": {NAME: VERSION}, "debian": {NAME: VERSION}}): )"
      R"(type must be string, but is number; it starts with "{\"python\": {\"a\": 1}, \"debian\": {}}")");
  // What `down` once printed as [json.exception.parse_error.101]: the command and what was wrong.
  try {
    lifecycle::parse_package_listing("garbage\x1b[2J", "`docker exec lab cat /usr/local/share/launcher/packages.json`");
    FAIL("no error");
  } catch (const Error& error) {
    std::string message = error.what();
    CHECK(
        message.starts_with("`docker exec lab cat /usr/local/share/launcher/packages.json` is not a package listing"));
    CHECK(message.find("[json.exception") == std::string::npos);
    CHECK(message.find("syntax error while parsing value") != std::string::npos);
    CHECK(message.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("a snapshot is named after its image, env and time", "[lifecycle][snapshot]") {
  std::time_t when = 1796083200 + 13 * 3600 + 5 * 60; // 2026-12-01 13:05 UTC
  CHECK(lifecycle::default_snapshot_tag("pytorch-cuda:2.7.1-cu126", "lab", when) ==
        "pytorch-cuda:2.7.1-cu126-snapshot-lab-20261201-1305");
  CHECK(lifecycle::default_snapshot_tag("registry.example.com:5000/team/pt:1@sha256:" + std::string(64, 'a'), "lab",
                                        when) == "registry.example.com:5000/team/pt:1-snapshot-lab-20261201-1305");
  CHECK(lifecycle::default_snapshot_tag("registry.example.com:5000/team/pt", "lab", when) ==
        "registry.example.com:5000/team/pt:latest-snapshot-lab-20261201-1305");
}

TEST_CASE("snapshot names Docker would refuse are refused first, saying why", "[lifecycle][snapshot]") {
  CHECK(lifecycle::image_reference_problem("team/lab:v2").empty());
  CHECK(lifecycle::image_reference_problem("registry.example.com:5000/team/lab:v2").empty());
  CHECK(lifecycle::image_reference_problem("Team/lab") ==
        "\"Team\" in the repository is not lowercase letters and digits separated by '.', '_' or '-'");
  CHECK(lifecycle::image_reference_problem("lab:bad tag") ==
        "the tag \"bad tag\" is not 1-128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')");
  CHECK(lifecycle::image_reference_problem("lab:" + std::string(129, 'a')).rfind("the tag", 0) == 0);
  CHECK(lifecycle::image_reference_problem("lab@sha256:" + std::string(64, 'a')) ==
        "a digest (@sha256:...) is Docker's to give, not a name to choose");
  CHECK(lifecycle::image_reference_problem("") == "it is empty");
  CHECK(lifecycle::image_reference_problem("lab/") ==
        "\"\" in the repository is not lowercase letters and digits separated by '.', '_' or '-'");
}

TEST_CASE("a tree renamed or unpacked inside the env is one line with its count and --list-all lists every file",
          "[lifecycle][unsaved]") {
  // `mv /opt/data /opt/data-v2` on overlayfs: the new tree is added whole, the old one deleted.
  std::string diff = "C /opt\nD /opt/data\nA /opt/data-v2\nA /opt/data-v2/shards\n";
  std::vector<std::string> tree;
  for (int i = 0; i < 15; ++i) {
    tree.push_back("/opt/data-v2/shards/s" + std::to_string(10 + i));
    diff += "A " + tree.back() + "\n";
  }
  diff += "A /opt/data-v2/README\nC /usr\nC /usr/local\nC /usr/local/bin\nC /usr/local/bin/tool\nA /srv/one\n"
          "A /srv/one/only.txt\n";
  auto work = work_of(diff);
  CHECK(work.files.size() == 18);
  CHECK(work.added_directories == std::vector<std::string>{"/opt/data-v2", "/opt/data-v2/shards", "/srv/one"});
  // The topmost added directory holds the tree; a new directory with one file shows the file.
  CHECK(lifecycle::group_files(work) ==
        std::vector<lifecycle::FileGroup>{{"/opt/data-v2", 16}, {"/srv/one/only.txt", 1}, {"/usr/local/bin/tool", 1}});
  std::string message = lifecycle::unsaved_work_message("lab", work, "/workspace", "or discard it all with --force");
  CHECK(message.find("\n  files (18):\n    /opt/data-v2/ (new directory, 16 files)\n    /srv/one/only.txt\n    "
                     "/usr/local/bin/tool\nkeep all of it") == message.find("\n  files"));
  CHECK(message.find("... and") == std::string::npos);

  std::string all = lifecycle::unsaved_work_message("lab", work, "/workspace", "x", {true, std::nullopt});
  for (const auto& file : work.files)
    CHECK(all.find("\n    " + file + "\n") != std::string::npos);

  // More lines than are shown: the rest is counted in files, and the flag that shows them named.
  lifecycle::UnsavedWork many;
  for (int i = 0; i < 30; ++i)
    many.files.push_back("/srv/f" + std::to_string(100 + i));
  many.added_directories = {"/srv/a"};
  for (int i = 0; i < 5; ++i)
    many.files.push_back("/srv/a/x" + std::to_string(i));
  std::sort(many.files.begin(), many.files.end());
  std::string cut = lifecycle::unsaved_work_message("lab", many, "/workspace", "x");
  CHECK(cut.find("\n    /srv/a/ (new directory, 5 files)\n") != std::string::npos);
  CHECK(cut.find("\n    ... and 11 more (`launcher down lab --list-all` lists every file)\n") != std::string::npos);
  std::string listed = lifecycle::unsaved_work_message("lab", many, "/workspace", "x", {true, std::nullopt});
  CHECK(listed.find("... and") == std::string::npos);
  CHECK(listed.find("\n    /srv/f129\n") != std::string::npos);
}

TEST_CASE("the package record is the launcher's own: a snapshot's rewrite of it is no work", "[lifecycle][unsaved]") {
  CHECK(work_of(std::string("C /usr\nC /usr/local\nC /usr/local/share\nC /usr/local/share/launcher\nC ") +
                lifecycle::package_record + "\n")
            .files.empty());
}

TEST_CASE("down names the snapshot that holds the work, and what is new since", "[lifecycle][snapshot]") {
  lifecycle::UnsavedWork work;
  work.files = {"/opt/notes.txt"};
  work.python = {{"tinywheel", "", "0.1"}};
  lifecycle::SnapshotHeld held{
      "lab:1-snapshot-lab-20261201-1305", "2026-12-01T13:05:00Z", {"/opt/notes.txt"}, {{"tinywheel", "", "0.1"}}};
  CHECK(lifecycle::new_since_snapshot(work, held) == 0);
  std::string message = lifecycle::unsaved_work_message("lab", work, "/workspace", "x", {false, held});
  CHECK(message.find("\nsnapshot lab:1-snapshot-lab-20261201-1305 (taken 2026-12-01T13:05:00Z) holds all of it as it "
                     "was then\nkeep all of it") != std::string::npos);
  // A file added and a package upgraded since: two not in it.
  work.files.push_back("/opt/later.txt");
  work.python = {{"tinywheel", "", "0.2"}};
  CHECK(lifecycle::new_since_snapshot(work, held) == 2);
  CHECK(lifecycle::unsaved_work_message("lab", work, "/workspace", "x", {false, held})
            .find("holds it as it was then, but not 2 of these, new since\n") != std::string::npos);
  CHECK(lifecycle::unsaved_work_message("lab", work, "/workspace", "x").find("snapshot lab:1") == std::string::npos);
}

TEST_CASE("a snapshot's record reads back as written and anything else reads as none", "[lifecycle][snapshot]") {
  lifecycle::SnapshotRecord record{
      "c0ffee", "sha256:5a", {"lab:1-snapshot", "2026-12-01T13:05:00Z", {"/opt/a", "/srv/b"}, {{"jq", "", "1.6"}}}};
  auto again = lifecycle::parse_snapshot_record(lifecycle::snapshot_record_json(record).dump());
  REQUIRE(again);
  CHECK(again->container_id == "c0ffee");
  CHECK(again->image_id == "sha256:5a");
  CHECK(again->held.tag == "lab:1-snapshot");
  CHECK(again->held.time == "2026-12-01T13:05:00Z");
  CHECK(again->held.files == record.held.files);
  CHECK(again->held.packages == record.held.packages);
  for (std::string text : {"", "[]", "{}", R"({"container": 1})", "not json"}) {
    INFO(text);
    CHECK_FALSE(lifecycle::parse_snapshot_record(text));
  }
}

TEST_CASE("the snapshot's hints are commands that work: pin takes the profile, not the tag", "[lifecycle][snapshot]") {
  std::string hints = lifecycle::snapshot_hints("lab", "repo/pt:1-snapshot-lab-20261201-1305", "sha256:5a", "jupyter");
  CHECK(hints == "snapshot of lab: repo/pt:1-snapshot-lab-20261201-1305 (sha256:5a)\n"
                 "  use it:   launcher up --image repo/pt:1-snapshot-lab-20261201-1305\n"
                 "  share it: docker push repo/pt:1-snapshot-lab-20261201-1305; others: docker pull "
                 "repo/pt:1-snapshot-lab-20261201-1305 && launcher up --image repo/pt:1-snapshot-lab-20261201-1305\n"
                 "  pin it:   set \"image\": \"repo/pt:1-snapshot-lab-20261201-1305\" for profile \"jupyter\" in "
                 "launcher.json, then launcher pin --profile jupyter\n");
  CHECK(hints.find("launcher pin repo") == std::string::npos);
}

TEST_CASE("a changed plan shows byte sizes as a profile writes them, resources field by field", "[lifecycle][plan]") {
  nlohmann::json before{{"shm_size", 2147483648ULL},
                        {"resources", {{"memory", 2147483648ULL}, {"cpu_shares", 1024}}},
                        {"ipc", "private"}};
  nlohmann::json after{{"shm_size", 3221225472ULL},
                       {"resources", {{"memory", 1610612736ULL}, {"cpu_shares", 1024}, {"cpus", 2.5}}},
                       {"ipc", "host"}};
  CHECK(lifecycle::plan_differences(before, after) ==
        std::vector<std::string>{"ipc: \"private\" -> \"host\"", "resources.cpus: null -> 2.5",
                                 "resources.memory: 2g -> 1536m", "shm_size: 2g -> 3g"});
  nlohmann::json unlimited = after;
  unlimited["resources"].erase("memory");
  CHECK(lifecycle::plan_differences(after, unlimited) == std::vector<std::string>{"resources.memory: 1536m -> null"});
}
