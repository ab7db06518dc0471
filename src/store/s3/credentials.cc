#include "store/s3/credentials.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <unistd.h>

extern char** environ;

namespace hx::s3 {
namespace {

// Credentials files are a few hundred bytes; anything far larger is not one.
constexpr std::size_t kMaxFileBytes = 1 << 20;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// The file's text, nullopt if it does not exist or cannot be read.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

using Ini = std::map<std::string, std::map<std::string, std::string>>;

// The section of `profile` in `ini`, nullptr if absent. In the config file a
// named profile is "[profile name]"; "[name]" is also accepted there, as the
// AWS CLI does.
const std::map<std::string, std::string>* Section(const Ini& ini, const std::string& profile,
                                                  bool config_file) {
  if (config_file && profile != "default") {
    if (auto it = ini.find("profile " + profile); it != ini.end()) return &it->second;
  }
  if (auto it = ini.find(profile); it != ini.end()) return &it->second;
  return nullptr;
}

Result<std::optional<Ini>> LoadIni(const std::string& path) {
  std::optional<std::string> text = ReadSmallFile(path);
  if (!text) return std::optional<Ini>();
  if (text->size() > kMaxFileBytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the AWS file " + path + " is larger than 1 MiB; is it the right file?")
        .With("path", path);
  }
  HX_ASSIGN_OR_RETURN(Ini ini, ParseAwsIni(*text, path));
  return std::optional<Ini>(std::move(ini));
}

std::string CredentialsPath(const CredentialEnvironment& env) {
  if (auto path = env.Get("AWS_SHARED_CREDENTIALS_FILE")) return *path;
  return env.home + "/.aws/credentials";
}

std::string ConfigPath(const CredentialEnvironment& env) {
  if (auto path = env.Get("AWS_CONFIG_FILE")) return *path;
  return env.home + "/.aws/config";
}

std::string Profile(const CredentialEnvironment& env) {
  if (auto profile = env.Get("AWS_PROFILE")) return *profile;
  return "default";
}

std::string Get(const std::map<std::string, std::string>& section, const std::string& key) {
  auto it = section.find(key);
  return it == section.end() ? "" : it->second;
}

}  // namespace

CredentialEnvironment CredentialEnvironment::FromProcess() {
  CredentialEnvironment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, eq);
    // AWS_* for credentials and region, HX_S3_* for the store's tuning (s3_store.h).
    if (name.starts_with("AWS_") || name.starts_with("HX_S3_")) {
      env.variables.emplace(name, text.substr(eq + 1));
    }
    if (name == "HOME") env.home = std::string(text.substr(eq + 1));
  }
  return env;
}

std::optional<std::string> CredentialEnvironment::Get(std::string_view name) const {
  auto it = variables.find(std::string(name));
  if (it == variables.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

Result<Ini> ParseAwsIni(std::string_view text, std::string_view path_for_messages) {
  Ini ini;
  std::string section;
  bool in_section = false;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    const std::string_view line = Trim(raw);
    start = end + 1;
    ++line_number;
    auto fail = [&](const std::string& problem) {
      return InvalidInput(SyncCode::kInputInvalid,
                          std::string(path_for_messages) + " line " +
                              std::to_string(line_number) + ": " + problem +
                              "; fix the file (see the AWS CLI's configuration docs)")
          .With("path", std::string(path_for_messages))
          .With("line", std::to_string(line_number));
    };
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return fail("a section header must end with ']'");
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      in_section = true;
      ini[section];
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // An indented continuation of a nested setting (s3 = ...) is legal in
      // the config file; hx needs none of them, so they are skipped.
      if (in_section && (raw.front() == ' ' || raw.front() == '\t')) continue;
      return fail("expected 'name = value'");
    }
    if (!in_section) return fail("a setting before the first [section]");
    std::string key(Trim(line.substr(0, eq)));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ini[section][key] = std::string(Trim(line.substr(eq + 1)));
  }
  return ini;
}

Result<AwsCredentials> LoadCredentials(const CredentialEnvironment& env) {
  auto id = env.Get("AWS_ACCESS_KEY_ID");
  auto secret = env.Get("AWS_SECRET_ACCESS_KEY");
  if (id && secret) {
    return AwsCredentials{*id, *secret, env.Get("AWS_SESSION_TOKEN").value_or("")};
  }
  const std::string profile = Profile(env);
  const std::string credentials_path = CredentialsPath(env);
  const std::string config_path = ConfigPath(env);
  for (const bool config_file : {false, true}) {
    const std::string& path = config_file ? config_path : credentials_path;
    HX_ASSIGN_OR_RETURN(std::optional<Ini> ini, LoadIni(path));
    if (!ini) continue;
    const auto* section = Section(*ini, profile, config_file);
    if (section == nullptr) continue;
    AwsCredentials credentials{Get(*section, "aws_access_key_id"),
                               Get(*section, "aws_secret_access_key"),
                               Get(*section, "aws_session_token")};
    if (credentials.access_key_id.empty() && credentials.secret_access_key.empty()) continue;
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
      return Error(SyncCode::kAuthFailed, Category::kAuth,
                   "profile '" + profile + "' in " + path +
                       " has only one of aws_access_key_id and aws_secret_access_key; "
                       "set both")
          .With("path", path)
          .With("profile", profile);
    }
    return credentials;
  }
  return Error(SyncCode::kAuthFailed, Category::kAuth,
               "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
               "add profile '" + profile + "' to " + credentials_path + " (or " + config_path +
                   "), or choose another profile with AWS_PROFILE")
      .With("profile", profile);
}

std::string ResolveRegion(std::string_view flag, const CredentialEnvironment& env) {
  if (!flag.empty()) return std::string(flag);
  if (auto region = env.Get("AWS_REGION")) return *region;
  if (auto region = env.Get("AWS_DEFAULT_REGION")) return *region;
  auto ini = LoadIni(ConfigPath(env));
  if (ini.ok() && ini->has_value()) {
    if (const auto* section = Section(**ini, Profile(env), /*config_file=*/true)) {
      const std::string region = Get(*section, "region");
      if (!region.empty()) return region;
    }
  }
  return "us-east-1";
}

}  // namespace hx::s3
