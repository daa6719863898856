// A profile file's text → validated source → every profile (the built-in ones too) merged,
// resolved, rendered to argv. Seeds hold long extends chains, cycles and missing targets.
#include "fuzz_support.hpp"

using namespace launcher;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Variables the text may interpolate; DATA is not UTF-8, on purpose.
  profile::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME") return "/home/alice";
    if (name == "DATA")
      return "/srv/donn\xe9"
             "es";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
  profile::Catalog catalog = fuzz::builtin_catalog();
  try {
    profile::FieldContext context{"launcher.json", "/home/alice/project", "/home/alice", &env};
    catalog.sources.push_back(profile::parse_profile_source(fuzz::as_text(data, size), context));
  } catch (const Error&) {
    return 0;
  }
  // Every profile of the catalog, as `launcher profiles` merges them: extends chains, cycles
  // and missing targets are resolved (and refused) for each one.
  for (const auto& name : catalog.profile_names()) {
    try {
      fuzz::render_profile(catalog, name, {});
    } catch (const Error&) {}
  }
  return 0;
}
