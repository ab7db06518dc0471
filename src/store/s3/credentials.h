// Where the S3 store finds its credentials and region, as AWS users expect
// (the AWS CLI's order):
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   2. the profile AWS_PROFILE (else "default") of the shared credentials
//      file, AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials);
//   3. the same profile in the config file, AWS_CONFIG_FILE (else
//      ~/.aws/config), where it is written "[profile name]" ("[default]").
// The region: the --region flag, else AWS_REGION, else AWS_DEFAULT_REGION,
// else the profile's `region` in the config file, else us-east-1.
//
// The environment is an input (CredentialEnvironment), so tests never touch
// the process's. Secrets never appear in errors, messages or logs: an error
// names the file and the line number, never a value.
//
// Thread-safety: pure functions over values (they read files); safe from
// any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "store/s3/sigv4.h"

namespace hx::s3 {

// The environment variables and home directory the lookup reads.
struct CredentialEnvironment {
  std::map<std::string, std::string> variables;
  std::string home;

  // The process's environment: AWS_* (credentials, region), HX_S3_* (the
  // store's tuning, s3_store.h) and HOME; nothing else is kept.
  static CredentialEnvironment FromProcess();
  std::optional<std::string> Get(std::string_view name) const;
};

// The sections of an AWS-style INI file: section name (as written between
// the brackets, trimmed) -> key (lowercased) -> value (trimmed). Lines
// starting with '#' or ';' are comments. Errors (KC_SYNC_INPUT_INVALID,
// kInvalidInput) name `path_for_messages` and the line, never its content.
Result<std::map<std::string, std::map<std::string, std::string>>> ParseAwsIni(
    std::string_view text, std::string_view path_for_messages);

// Finds credentials in the order above. Errors: KC_SYNC_AUTH_FAILED
// (Category::kAuth) when none is found or a profile lacks a key, saying which
// variables and files were looked at; KC_SYNC_INPUT_INVALID for a malformed
// file.
Result<AwsCredentials> LoadCredentials(const CredentialEnvironment& env);

// The region: `flag` if not empty, else as above.
std::string ResolveRegion(std::string_view flag, const CredentialEnvironment& env);

}  // namespace hx::s3
