#include "cli/sync_args.h"

#include "cli/commands.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "base/printable.h"
#include "cli/command_spec.h"
#include "cli/output.h"
#include "merge/policy.h"
#include "os/real_clock.h"

namespace hx::cli {
namespace {

// Reads a passphrase from the terminal without echo, after `label`;
// nullopt without a terminal or at end of input. Echo is off (and what was
// typed ahead discarded) before the label is shown, so what answers the
// label is never echoed.
std::optional<std::string> PromptPassphrase(const char* label) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  termios old_mode{};
  const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::fputs(label, stderr);
  std::fflush(stderr);
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (have_mode) ::tcsetattr(STDIN_FILENO, TCSANOW, &old_mode);
  std::fputc('\n', stderr);
  if (!got) return std::nullopt;
  return line;
}

// A new passphrase typed twice; the two must be the same.
Result<std::optional<std::string>> PromptNewPassphrase() {
  std::optional<std::string> first = PromptPassphrase("new passphrase: ");
  if (!first) return std::optional<std::string>();
  if (first->empty()) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the passphrase typed is empty; nothing was written. Run the command "
                        "again and type one");
  }
  std::optional<std::string> second = PromptPassphrase("new passphrase again: ");
  if (!second || *second != *first) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the two passphrases typed differ; nothing was written. Run the command "
                        "again and type the same passphrase twice");
  }
  return first;
}

// What a person at the terminal is asked for `request`.
Result<std::optional<std::string>> AskOnTerminal(const PassphraseRequest& request) {
  using Purpose = PassphraseRequest::Purpose;
  if (request.purpose == Purpose::kCheck) return std::optional<std::string>();
  if (request.purpose == Purpose::kCreate) return PromptNewPassphrase();
  if (request.attempt > 1 && ::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "that passphrase does not open this vault; try again (%d of %d)\n",
                 request.attempt, kPassphraseTries);
  }
  return PromptPassphrase("passphrase: ");
}

}  // namespace

std::function<void(std::string_view)> CrashHookFromEnv() {
  const char* spec = std::getenv("HX_TEST_CRASH_AT");
  if (spec == nullptr || *spec == '\0') return nullptr;
  std::string point = spec;
  long nth = 1;
  if (const auto colon = point.find(':'); colon != std::string::npos) {
    nth = std::strtol(point.c_str() + colon + 1, nullptr, 10);
    point.resize(colon);
  }
  auto seen = std::make_shared<long>(0);
  return [point, nth, seen](std::string_view at) {
    if (at == point && ++*seen == nth) ::kill(::getpid(), SIGKILL);
  };
}

std::int64_t WallClockMs() { return RealClock::Get().WallMs(); }

void AddNowMsOption(CLI::App* cmd, std::optional<std::int64_t>& now_ms, const std::string& help) {
  cmd->add_option("--now-ms", now_ms, help)
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            std::int64_t value = 0;
            const char* end = text.data() + text.size();
            const auto [at, ec] = std::from_chars(text.data(), end, value);
            if (ec == std::errc() && at == end && value >= 0 && value <= kMaxNowMs) return {};
            return "'" + text + "' is not a time: give ms since the epoch, from 0 to " +
                   std::to_string(kMaxNowMs) + " (the end of the year 9999), or leave out "
                   "--now-ms to use the clock";
          },
          "MS", "ms since the epoch"));
}

Result<std::string> ReadPassphraseFile(const std::string& file, std::string_view instead) {
  const auto refused = [&](const std::string& why) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "cannot read the passphrase file " + file + ": " + why +
                            "; give a readable file whose first line is the passphrase (or " +
                            std::string(instead) + ")")
        .With("path", file);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) return refused("it is a directory");
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) return refused(errno != 0 ? std::strerror(errno) : "it cannot be opened");
  std::string line;
  if (!std::getline(in, line)) {
    if (in.bad()) return refused(errno != 0 ? std::strerror(errno) : "a read error");
    return refused("it is empty");
  }
  // getline took the LF; a file written on Windows (or by an editor set so)
  // ends the line with CRLF, and the CR is no part of the passphrase.
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return refused("its first line is empty");
  return line;
}

PassphraseFn MakePassphraseSource(const std::string& file, Prompt prompt) {
  return [file, prompt](const PassphraseRequest& request) -> Result<std::optional<std::string>> {
    // What the command line names wins over what the environment holds:
    // an exported HX_PASSPHRASE must not silently override the file the
    // user just named (AddVaultArgs has already checked that it reads).
    // Either holds one value: after it failed there is no other to try.
    if (!file.empty()) {
      if (request.attempt > 1) return std::optional<std::string>();
      HX_ASSIGN_OR_RETURN(std::string line, ReadPassphraseFile(file));
      return std::optional<std::string>(std::move(line));
    }
    if (const char* env = std::getenv("HX_PASSPHRASE"); env != nullptr && *env != '\0') {
      if (request.attempt > 1) return std::optional<std::string>();
      return std::optional<std::string>(env);
    }
    if (prompt == Prompt::kNever) return std::optional<std::string>();
    return AskOnTerminal(request);
  };
}

PassphraseFn MakeNewPassphraseSource(const std::string& file) {
  return [file](const PassphraseRequest& request) -> Result<std::optional<std::string>> {
    if (!file.empty()) {
      if (request.attempt > 1) return std::optional<std::string>();
      HX_ASSIGN_OR_RETURN(std::string line, ReadPassphraseFile(file, kNewPassphraseInstead));
      return std::optional<std::string>(std::move(line));
    }
    return AskOnTerminal(request);
  };
}

void PrintWarning(const Error& warning) {
  PrintHuman(stderr, "warning: " + Printable(warning.message) + "\n");
}

std::string CurrentDir() {
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

std::filesystem::path AbsolutePath(const std::string& path) {
  std::error_code ec;
  return std::filesystem::absolute(path, ec).lexically_normal();
}

void AddVaultArgs(CLI::App* cmd, VaultArgs& args, Target target, Prompt prompt,
                  const std::string& now_help) {
  cmd->add_option("vault_path", args.vault, "The vault folder")->required();
  if (target != Target::kNone) {
    const std::string what =
        "The store: a path, file:///abs, s3://bucket/prefix or s3+endpoint://bucket/prefix";
    auto* uri = cmd->add_option("target_uri", args.target,
                                target == Target::kRequired
                                    ? what
                                    : what + " (default: the one given at init)");
    if (target == Target::kRequired) uri->required();
    cmd->add_option("--endpoint", args.endpoint, "S3 endpoint URL for s3+endpoint:// targets");
    cmd->add_flag("--path-style", args.path_style, "S3 path-style addressing");
    cmd->add_option("--region", args.region, "S3 region (default us-east-1)");
  }
  AddNowMsOption(cmd, args.now_ms, now_help);
  // A file that cannot be read is a usage error at once (naming it), even
  // when a cached key would have made it unnecessary: the user meant it.
  cmd->add_option("--passphrase-file", args.passphrase_file,
                  prompt == Prompt::kAllowed
                      ? "Read the passphrase from this file's first line (before HX_PASSPHRASE "
                        "and the prompt on a terminal)"
                      : "Read the passphrase from this file's first line if this device has no "
                        "cached key (before HX_PASSPHRASE)")
      ->check(CLI::Validator(
          [](const std::string& file) -> std::string {
            Result<std::string> line = ReadPassphraseFile(file);
            return line.ok() ? std::string() : line.error().message;
          },
          "FILE", "readable passphrase file"));
}

std::string MergePolicyTypeName() {
  std::vector<std::string_view> names;
  for (const MergePolicy policy : kAllMergePolicies) names.push_back(MergePolicyName(policy));
  return ChoicesTypeName("POLICY", names);
}

SyncOptions MakeSyncOptions(const VaultArgs& args, Prompt prompt) {
  // hx:// and hxs:// targets get their tokens with this vault's device
  // credential (cli/hub_enroll.cc).
  if (!args.vault.empty()) InstallHubTokenProvider(AbsolutePath(args.vault));
  SyncOptions options;
  options.target_uri = args.target;
  options.target_options = {args.endpoint, args.path_style, args.region};
  options.now_ms = args.now_ms.value_or(WallClockMs());
  options.cwd = CurrentDir();
  options.passphrase = MakePassphraseSource(args.passphrase_file, prompt);
  options.warning = PrintWarning;
  // Checked with the global flags (cli/observe.h): valid here.
  if (const char* prices = std::getenv("HX_S3_PRICES"); prices != nullptr) {
    if (Result<obs::PriceTable> table = obs::ParsePriceTable(prices); table.ok()) {
      options.prices = *std::move(table);
    }
  }
  return options;
}

}  // namespace hx::cli
