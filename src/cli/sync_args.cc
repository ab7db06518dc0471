#include "cli/sync_args.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include <termios.h>
#include <unistd.h>

#include "os/real_clock.h"

namespace hx::cli {
namespace {

// Reads a passphrase from the terminal without echo; nullopt without one.
std::optional<std::string> PromptPassphrase() {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  std::fputs("passphrase: ", stderr);
  std::fflush(stderr);
  termios old_mode{};
  const bool have_mode = ::tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (have_mode) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (have_mode) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
  std::fputc('\n', stderr);
  if (!got) return std::nullopt;
  return line;
}

}  // namespace

std::int64_t WallClockMs() { return RealClock::Get().WallMs(); }

PassphraseFn MakePassphraseSource(const std::string& file, Prompt prompt) {
  return [file, prompt]() -> std::optional<std::string> {
    if (const char* env = std::getenv("HX_PASSPHRASE"); env != nullptr && *env != '\0') {
      return std::string(env);
    }
    if (!file.empty()) {
      std::ifstream in(file);
      std::string line;
      if (in && std::getline(in, line)) return line;
      return std::nullopt;
    }
    if (prompt == Prompt::kNever) return std::nullopt;
    return PromptPassphrase();
  };
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
  cmd->add_option("--now-ms", args.now_ms, now_help);
  cmd->add_option("--passphrase-file", args.passphrase_file,
                  prompt == Prompt::kAllowed
                      ? "Read the passphrase from this file's first line (else HX_PASSPHRASE, "
                        "else a prompt on a terminal)"
                      : "Read the passphrase from this file's first line if this device has no "
                        "cached key (else HX_PASSPHRASE)");
}

SyncOptions MakeSyncOptions(const VaultArgs& args, Prompt prompt) {
  SyncOptions options;
  options.target_uri = args.target;
  options.target_options = {args.endpoint, args.path_style, args.region};
  options.now_ms = args.now_ms.value_or(WallClockMs());
  options.cwd = CurrentDir();
  options.passphrase = MakePassphraseSource(args.passphrase_file, prompt);
  return options;
}

}  // namespace hx::cli
