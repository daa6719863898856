#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace launcher::lifecycle {

// What removing a container would lose, judged from `docker diff` and from the container's
// package lists against the ones its image recorded at build time. Pure.

// Where images record their Python and Debian packages (the baseline `down` compares with; a
// snapshot rewrites it to its own state), and the script that lists them
// (images/scripts/list_packages.py), in the image.
inline constexpr const char* package_record = "/usr/local/share/launcher/packages.json";
inline constexpr const char* package_lister = "/usr/local/share/launcher/list_packages.py";

// Places whose changes never count: temporary, cache and log places, and what launcher-init
// rewrites at every start. The one list; docs/commands.md's `down` section shows it.
const std::vector<std::string>& regenerated_paths();
// Under the user's home only: files that tools regenerate.
const std::vector<std::string>& regenerated_home_entries();
// Whether a change at `path` counts for nothing: under a regenerated path, inside a
// __pycache__ directory, or a regenerated entry of `home` that holds no secret.
bool is_regenerated(const std::string& path, const std::string& home);

// Where a home keeps secrets: shell and IPython histories, SSH keys, tokens and credentials of
// Hugging Face, cloud and registry clients, Jupyter's runtime files (tokens). Relative to a home;
// '*' matches within one path component. `snapshot` leaves each out unless named with --include,
// and `down` lists them as work a removal loses, never as regenerated. The one list; docs/commands.md's
// `snapshot` section shows it.
const std::vector<std::string>& home_secret_patterns();
// The secret path (one of the patterns, in one of `homes`) that is `path` or holds it, or "".
std::string secret_path_holding(const std::string& path, const std::vector<std::string>& homes);
// The homes whose secrets count: the env's user's, and root's (a `sudo` shell's history).
std::vector<std::string> secret_homes(const std::string& home);

using PackageVersions = std::map<std::string, std::string>; // name -> version

struct PackageListing {
  PackageVersions python;                     // Python distributions, names in PEP 503 form
  PackageVersions debian;                     // installed Debian packages
  std::vector<std::string> new_package_files; // files of the packages its image's record lacks
};

// images/scripts/list_packages.py's JSON; an Error naming `source` when it is not that. The
// image's own record has no "new_package_files".
PackageListing parse_package_listing(const std::string& text, const std::string& source);

struct PackageChange {
  std::string name;
  std::string built;   // the image's version; empty: installed since
  std::string current; // the container's version; empty: removed since
  bool operator==(const PackageChange&) const = default;
};

std::vector<PackageChange> package_changes(const PackageVersions& built, const PackageVersions& current);

struct UnsavedWork {
  std::vector<std::string> files;             // added or changed leaves, sorted
  std::vector<std::string> added_directories; // directories `docker diff` reports as added, sorted
  std::vector<PackageChange> python;
  std::vector<PackageChange> debian;
  std::vector<std::string> secrets; // the secret paths (home_secret_patterns) that hold some of `files`, sorted
  bool empty() const { return files.empty() && python.empty() && debian.empty(); }
};

// The leaves `docker diff` reports as added or changed outside `mount_targets`, less what is
// regenerated and less `home` and `workdir` themselves (made empty at start). With both package
// listings, the package changes too, and the files of those packages (and dpkg's and apt's
// databases) are
// told as the packages instead.
UnsavedWork unsaved_work(const std::string& diff_output, const std::vector<std::string>& mount_targets,
                         const std::string& home, const std::string& workdir,
                         const std::optional<PackageListing>& built, const std::optional<PackageListing>& current);

// One line of the refusal's file list: a file (count 1), or the topmost added directory that holds
// `count` of the files (a tree copied, unpacked or renamed inside the env).
struct FileGroup {
  std::string path;
  std::size_t count = 1;
  bool operator==(const FileGroup&) const = default;
};
std::vector<FileGroup> group_files(const UnsavedWork& work);

// The work a snapshot of this container kept, as it was when it was taken.
struct SnapshotHeld {
  std::string tag;
  std::string time; // ISO 8601, UTC
  std::vector<std::string> files;
  std::vector<PackageChange> packages; // Python and Debian ones
};

// How many of the files and package changes of `work` the snapshot does not hold.
std::size_t new_since_snapshot(const UnsavedWork& work, const SnapshotHeld& snapshot);

struct UnsavedReport {
  bool list_all = false;                // every file on its own line, none left out
  std::optional<SnapshotHeld> snapshot; // the last snapshot of this very container, when its image is still here
};

// The refusal: each group with what to do about it. `discard` says how to go on without them.
std::string unsaved_work_message(const std::string& env, const UnsavedWork& work, const std::string& workdir,
                                 const std::string& discard, const UnsavedReport& report = {});

} // namespace launcher::lifecycle
