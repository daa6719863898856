#pragma once

// What the fuzz targets share: a fixed host, and the rule that the only exception the code under
// test may throw is launcher::Error (anything else escapes the target and libFuzzer reports it).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "engine/docker_engine.hpp"
#include "facts/facts.hpp"
#include "host/host_facts.hpp"
#include "plan/resolve.hpp"
#include "profile/builtin.hpp"
#include "profile/catalog.hpp"
#include "render/render.hpp"
#include "replay_engine.hpp"
#include "test_host.hpp"

namespace launcher::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at NUL bytes: argv elements, or several outputs of one host.
inline std::vector<std::string> split_at_nul(std::string_view text, std::size_t most) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < most) {
    std::size_t end = text.find('\0');
    if (end == std::string_view::npos) break;
    parts.emplace_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  parts.emplace_back(text);
  return parts;
}

// A host where only a few paths exist; nothing touches the disk.
inline host::PathProbe fixed_paths() {
  return {[](const std::filesystem::path& path) {
            return path == "/home/alice/project" || path == "/home/alice/data" || path == "/etc";
          },
          [](const std::filesystem::path& path) { return path; },
          [](const std::filesystem::path&) -> std::optional<host::FileFacts> {
            return host::FileFacts{0, 040755};
          }};
}

// Merge, resolve, render and serialize one profile: every step a real `render --json` takes.
inline void render_profile(const profile::Catalog& catalog, const std::string& name,
                           const std::vector<profile::Sourced>& overrides) {
  profile::Sourced merged = profile::merge_profile(catalog, name, overrides);
  testing::FakeGpus gpus(2);
  plan::Resolution resolution = plan::resolve_plan(name, merged, testing::test_host(2), fixed_paths(), gpus);
  render::ContainerCommand command =
      engine::DockerEngine(docker::Docker("docker"))
          .container_command(engine::Launch::detached, resolution.plan, "/state/run.env");
  (void)command.argv();
  (void)command.display();
  (void)plan::to_json(resolution.plan).dump();
  (void)plan::plan_hash(resolution.plan);
}

inline profile::Catalog builtin_catalog() {
  profile::FieldContext builtin{"built-in", "/home/alice/project", "/home/alice", nullptr};
  profile::Catalog catalog;
  catalog.sources.push_back(profile::parse_profile_source(profile::builtin_profiles_json(), builtin));
  return catalog;
}

} // namespace launcher::fuzz
