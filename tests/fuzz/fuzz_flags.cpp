// `render` with arbitrary arguments (NUL-separated in the input): CLI11's parse of every profile
// flag, the flags' own parsers and validation, then the merged profile resolved and rendered.
#include <CLI/CLI.hpp>

#include "commands/profile_request.hpp"
#include "fuzz_support.hpp"
#include "profile/flags.hpp"

using namespace launcher;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const profile::Catalog catalog = fuzz::builtin_catalog();
  std::vector<std::string> args = fuzz::split_at_nul(fuzz::as_text(data, size), 32);
  commands::ProfileRequest request;
  CLI::App app{"fuzz", "launcher"};
  CLI::App* render = app.add_subcommand("render");
  commands::add_profile_options(*render, request);
  app.require_subcommand(1);
  std::vector<std::string> argv{"render"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::reverse(argv.begin(), argv.end()); // CLI11 takes them last first
  try {
    app.parse(argv);
  } catch (const CLI::Error&) {
    return 0;
  }
  try {
    profile::FieldContext flag_context{"command line", "/home/alice/project", "/home/alice", nullptr};
    fuzz::render_profile(catalog, request.profile, profile::flag_layers(request.flags, flag_context));
  } catch (const Error&) {}
  return 0;
}
