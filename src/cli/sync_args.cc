#include "cli/sync_args.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include <termios.h>
#include <unistd.h>

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

std::int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

}  // namespace hx::cli
