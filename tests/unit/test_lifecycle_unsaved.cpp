#include <catch2/catch.hpp>

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
                       "\n    ... and 2 more"
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
  testing::require_error([] { lifecycle::parse_package_listing(R"({"python": {"a": 1}, "debian": {}})", "src"); },
                         ExitCode::failed,
                         "src is not a package listing ({\"python\": {NAME: VERSION}, \"debian\": {NAME: VERSION}}): "
                         "type must be string, but is number");
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
