#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "host/state_layout.hpp"
#include "plan/plan.hpp"

namespace launcher::secrets {

// One profile of the AWS shared credentials file: what launcher-init signs the backup's requests with.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; // empty: none
  std::string region;        // empty: none in the config file
};

// Where the keys are looked up, the way the AWS CLI and SDKs do: AWS_SHARED_CREDENTIALS_FILE,
// else ~/.aws/credentials; the profile the env's profile names, else AWS_PROFILE, else "default";
// the region from AWS_CONFIG_FILE, else ~/.aws/config, when that file exists.
struct CredentialSource {
  std::filesystem::path credentials_file;
  std::filesystem::path config_file;
  std::string profile;
};

using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
CredentialSource credential_source(const std::string& named_profile, const EnvironmentLookup& environment,
                                   const std::filesystem::path& home);

// Pure: the profile's keys from the credentials file's text (INI: "[name]" sections, "key = value"
// lines, '#' and ';' comments), and its region from the config file's text ("[profile name]", or
// "[default]"). A missing profile or key is an Error of one line naming the file and the profile,
// never a value.
AwsCredentials parse_aws_credentials(const std::string& credentials_text, const CredentialSource& source);
std::string parse_aws_region(const std::string& config_text, const std::string& profile);

// Reads both files (the config file only when it exists).
AwsCredentials read_aws_credentials(const CredentialSource& source);

// The keys of a plan with a backup, read through this process's environment (before anything is
// made, so that a missing key stops `up` first); nullopt for a plan without one.
std::optional<AwsCredentials> read_backup_credentials(const plan::Plan& plan, const std::filesystem::path& home);

// The JSON launcher-init reads (contract::secret_file::backup_credentials), and its writing into
// the env's secrets directory with mode 0600 when it differs from what is there.
std::string backup_credentials_json(const AwsCredentials& credentials);
void store_backup_credentials(const host::StateLayout& layout, const AwsCredentials& credentials);

} // namespace launcher::secrets
