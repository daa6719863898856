#include "lifecycle/snapshot.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/error.hpp"
#include "launcher_contract/contract.hpp"
#include "lifecycle/inspect.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

using nlohmann::json;

namespace {

bool is_tag_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// One path component of a repository: lowercase letters and digits, separated by '.', '_', '__' or '-'s.
bool is_path_component(const std::string& component) {
  if (component.empty() || !std::isalnum(static_cast<unsigned char>(component.front())) ||
      !std::isalnum(static_cast<unsigned char>(component.back())))
    return false;
  return std::all_of(component.begin(), component.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c))) || c == '.' ||
           c == '_' || c == '-';
  });
}

} // namespace

std::string default_snapshot_tag(const std::string& image, const std::string& env, std::time_t when) {
  std::string name = image.substr(0, image.find('@'));
  std::string tag = "latest";
  if (auto colon = name.rfind(':'); colon != std::string::npos && name.find('/', colon) == std::string::npos) {
    tag = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  std::tm utc{};
  gmtime_r(&when, &utc);
  return fmt::format("{}:{}-snapshot-{}-{:04}{:02}{:02}-{:02}{:02}", name, tag, env, utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min);
}

std::string image_reference_problem(const std::string& reference) {
  if (reference.empty()) return "it is empty";
  if (reference.find('@') != std::string::npos)
    return "a digest (@sha256:...) is Docker's to give, not a name to choose";
  std::string repository = reference, tag;
  if (auto colon = reference.rfind(':');
      colon != std::string::npos && reference.find('/', colon) == std::string::npos) {
    repository = reference.substr(0, colon);
    tag = reference.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !std::all_of(tag.begin(), tag.end(), is_tag_character) ||
        tag.front() == '.' || tag.front() == '-')
      return "the tag \"" + tag + "\" is not 1-128 letters, digits, '_', '.' or '-' (not starting with '.' or '-')";
  }
  if (repository.size() > 255) return "the repository name is longer than 255 characters";
  // The first component may be a registry host ("registry.example.com:5000").
  std::size_t start = 0;
  if (auto slash = repository.find('/'); slash != std::string::npos) {
    std::string first = repository.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") start = slash + 1;
  }
  for (std::size_t begin = start; begin <= repository.size();) {
    std::size_t end = std::min(repository.find('/', begin), repository.size());
    std::string component = repository.substr(begin, end - begin);
    if (!is_path_component(component))
      return "\"" + component + "\" in the repository is not lowercase letters and digits separated by '.', '_' or '-'";
    begin = end + 1;
  }
  return "";
}

std::string snapshot_hints(const std::string& env, const std::string& tag, const std::string& id,
                           const std::string& profile) {
  std::string name = profile.empty() ? "PROFILE" : profile;
  return "snapshot of " + env + ": " + tag + " (" + id + ")\n" + "  use it:   launcher up --image " + tag + "\n" +
         "  share it: docker push " + tag + "; others: docker pull " + tag + " && launcher up --image " + tag + "\n" +
         "  pin it:   set \"image\": \"" + tag + "\" for profile \"" + name +
         "\" in launcher.json, then launcher pin --profile " + name + "\n";
}

json snapshot_record_json(const SnapshotRecord& record) {
  json packages = json::array();
  for (const auto& change : record.held.packages)
    packages.push_back({{"name", change.name}, {"built", change.built}, {"current", change.current}});
  return {{"container", record.container_id}, {"image", record.image_id},   {"tag", record.held.tag},
          {"time", record.held.time},         {"files", record.held.files}, {"packages", packages}};
}

std::optional<SnapshotRecord> parse_snapshot_record(const std::string& text) {
  try {
    json document = json::parse(text);
    SnapshotRecord record{document.at("container").get<std::string>(), document.at("image").get<std::string>(),
                          SnapshotHeld{document.at("tag").get<std::string>(),
                                       document.at("time").get<std::string>(),
                                       document.at("files").get<std::vector<std::string>>(),
                                       {}}};
    for (const auto& change : document.at("packages"))
      record.held.packages.push_back({change.at("name").get<std::string>(), change.at("built").get<std::string>(),
                                      change.at("current").get<std::string>()});
    return record;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void record_snapshot(const host::StateLayout& layout, const SnapshotRecord& record) {
  secrets::ensure_private_dir(layout.env_dir);
  secrets::write_private_file(layout.last_snapshot(), snapshot_record_json(record).dump(2) + "\n");
}

std::optional<SnapshotHeld> snapshot_holding(const docker::Docker& docker, const host::StateLayout& layout,
                                             const json& container) {
  std::optional<SnapshotRecord> record;
  try {
    if (auto text = secrets::read_private_file(layout.last_snapshot())) record = parse_snapshot_record(*text);
  } catch (const Error&) {
    return std::nullopt; // a record that cannot be read only loses the note
  }
  if (!record || !container.is_object() || container.value("Id", "") != record->container_id) return std::nullopt;
  auto image = docker.inspect_image(record->held.tag);
  if (!image || !image->is_object() || image->value("Id", "") != record->image_id) return std::nullopt;
  return record->held;
}

PackageBaseline::PackageBaseline(const docker::Docker& docker, const json& container) : docker_(docker) {
  if (!is_running(container)) return;
  container_ = name_of(container);
  if (docker_.try_run({"exec", container_, "test", "-f", package_record}).exit_code != 0) return;
  std::string uid = env_variable(container, contract::env::uid);
  // As `down` lists them: as the env's user, so that its own site-packages count.
  auto listed = docker_.try_run({"exec", "-u", uid.empty() ? "0" : uid, container_, "python3", package_lister});
  if (listed.exit_code != 0) return;
  PackageListing listing = parse_package_listing(listed.out, "the package listing of " + container_);
  // The image's own record has no "new_package_files". Each list is its own argument (the
  // kernel's limit is per argument), and none is read by the shell.
  const char* script = "cp -p \"$3\" \"$4\" && printf '{\"debian\": %s, \"python\": %s}\\n' \"$1\" \"$2\" > \"$3.new\" "
                       "&& chmod 0644 \"$3.new\" && mv -f \"$3.new\" \"$3\"";
  rewritten_ = docker_
                   .try_run({"exec", "-u", "0", container_, "sh", "-c", script, "sh", json(listing.debian).dump(),
                             json(listing.python).dump(), package_record, saved})
                   .exit_code == 0;
}

PackageBaseline::~PackageBaseline() {
  if (rewritten_)
    docker_.try_run({"exec", "-u", "0", container_, "sh", "-c", "cat \"$1\" > \"$2\" && rm -f \"$1\"", "sh", saved,
                     package_record});
}

} // namespace launcher::lifecycle
