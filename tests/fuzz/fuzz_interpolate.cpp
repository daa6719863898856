// ${VAR} interpolation with arbitrary environment bytes. The input is NUL-separated: a profile
// string, then NAME=VALUE variables; the string is expanded alone and as profile fields.
#include "fuzz_support.hpp"
#include "profile/interpolate.hpp"
#include "profile/schema.hpp"

using namespace launcher;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> parts = fuzz::split_at_nul(fuzz::as_text(data, size), 16);
  std::map<std::string, std::string> variables;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::size_t equals = parts[i].find('=');
    variables[parts[i].substr(0, equals)] = equals == std::string::npos ? "" : parts[i].substr(equals + 1);
  }
  profile::EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
  };
  const std::string& text = parts[0];
  try {
    (void)profile::interpolate(text, env);
  } catch (const Error&) {}
  // A JSON document holds only UTF-8; the file's text was checked by the parser before this.
  json fields = {{"image", text},
                 {"env", {{"VALUE", text}}},
                 {"volumes", json::array({{{"host", text}, {"container", "/data"}, {"create", true}}})},
                 {"labels", {{"team", text}}}};
  try {
    profile::FieldContext context{"launcher.json", "/home/alice/project", "/home/alice", &env};
    profile::normalize_profile(fields, context, "/profiles/fuzz");
    (void)fields.dump();
  } catch (const Error&) {}
  return 0;
}
