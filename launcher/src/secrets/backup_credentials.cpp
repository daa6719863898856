#include "secrets/backup_credentials.hpp"

#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/text.hpp"
#include "secrets/state.hpp"

namespace launcher::secrets {

namespace fs = std::filesystem;

namespace {

std::string trimmed(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\r") - first + 1));
}

// The "key = value" lines of one INI section; nullopt when the file has no such section. Indented
// lines belong to a nested block (the config file's "s3 =" settings) and are skipped.
std::optional<std::map<std::string, std::string>> ini_section(const std::string& text, const std::string& section) {
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  for (const std::string& raw : split(text, '\n')) {
    std::string line = trimmed(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      inside = trimmed(std::string_view(line).substr(1, line.size() - 2)) == section;
      if (inside && !found) found.emplace();
      continue;
    }
    if (!inside || raw[0] == ' ' || raw[0] == '\t') continue;
    std::size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    (*found)[trimmed(std::string_view(line).substr(0, equals))] = trimmed(std::string_view(line).substr(equals + 1));
  }
  return found;
}

fs::path from_environment(const EnvironmentLookup& environment, const std::string& name, const fs::path& fallback) {
  auto value = environment(name);
  return value && !value->empty() ? fs::path(*value) : fallback;
}

} // namespace

CredentialSource credential_source(const std::string& named_profile, const EnvironmentLookup& environment,
                                   const fs::path& home) {
  std::string profile = named_profile;
  if (profile.empty()) profile = environment("AWS_PROFILE").value_or("");
  if (profile.empty()) profile = "default";
  return {from_environment(environment, "AWS_SHARED_CREDENTIALS_FILE", home / ".aws" / "credentials"),
          from_environment(environment, "AWS_CONFIG_FILE", home / ".aws" / "config"), profile};
}

AwsCredentials parse_aws_credentials(const std::string& credentials_text, const CredentialSource& source) {
  const std::string where = source.credentials_file.string() + ": profile [" + source.profile + "]";
  auto section = ini_section(credentials_text, source.profile);
  if (!section)
    throw Error(ExitCode::usage,
                source.credentials_file.string() + " has no profile [" + source.profile +
                    "] for the backup's keys (the profile's backup/credentials names it, else AWS_PROFILE, else "
                    "\"default\")");
  auto key = [&](const char* name, bool required) {
    auto value = section->find(name);
    if (value == section->end() || value->second.empty()) {
      if (required) throw Error(ExitCode::usage, where + " has no " + name + " for the backup");
      return std::string();
    }
    if (!is_valid_utf8(value->second) || value->second.find('\0') != std::string::npos)
      throw Error(ExitCode::usage, where + ": " + name + " is not UTF-8 text");
    return value->second;
  };
  return {key("aws_access_key_id", true), key("aws_secret_access_key", true), key("aws_session_token", false), ""};
}

std::string parse_aws_region(const std::string& config_text, const std::string& profile) {
  auto section = ini_section(config_text, profile == "default" ? profile : "profile " + profile);
  if (!section || !section->contains("region")) return "";
  return section->at("region");
}

AwsCredentials read_aws_credentials(const CredentialSource& source) {
  auto text = read_file_if_present(source.credentials_file);
  if (!text)
    throw Error(ExitCode::usage, source.credentials_file.string() +
                                     " does not exist: the backup's keys go there as "
                                     "profile [" +
                                     source.profile +
                                     "] (aws_access_key_id, aws_secret_access_key), or "
                                     "AWS_SHARED_CREDENTIALS_FILE names another file");
  AwsCredentials credentials = parse_aws_credentials(*text, source);
  if (auto config = read_file_if_present(source.config_file))
    credentials.region = parse_aws_region(*config, source.profile);
  return credentials;
}

std::optional<AwsCredentials> read_backup_credentials(const plan::Plan& plan, const fs::path& home) {
  if (!plan.backup) return std::nullopt;
  EnvironmentLookup environment = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  return read_aws_credentials(credential_source(plan.backup->credentials_profile, environment, home));
}

std::string backup_credentials_json(const AwsCredentials& credentials) {
  nlohmann::json document{{"aws_access_key_id", credentials.access_key_id},
                          {"aws_secret_access_key", credentials.secret_access_key}};
  if (!credentials.session_token.empty()) document["aws_session_token"] = credentials.session_token;
  if (!credentials.region.empty()) document["region"] = credentials.region;
  return document.dump() + "\n";
}

void store_backup_credentials(const host::StateLayout& layout, const AwsCredentials& credentials) {
  std::string content = backup_credentials_json(credentials);
  ensure_private_dir(layout.secrets_dir);
  if (read_private_file(layout.backup_credentials()) != content)
    write_private_file(layout.inside(layout.backup_credentials()), content);
}

} // namespace launcher::secrets
