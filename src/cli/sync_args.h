// What every command that opens a vault shares: the clock, the passphrase
// source, paths as the user typed them, and the rendering of a report. The
// engine reads none of these itself (now_ms and the passphrase are inputs).
//
// Thread-safety: called from the CLI's single thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "cli/commands.h"
#include "json/canonical_json.h"
#include "sync/engine.h"

namespace hx::cli {

// Milliseconds since the epoch, for commands not given --now-ms.
std::int64_t WallClockMs();

// The latest --now-ms accepted: 9999-12-31T23:59:59.999Z. Beyond it (and
// below 0) a time is a typo, and sums over it (lock expiry) could overflow.
inline constexpr std::int64_t kMaxNowMs = 253'402'300'799'999;

// Registers --now-ms on `cmd`: a time outside [0, kMaxNowMs] or not a
// number is a usage error (KC_SYNC_INPUT_INVALID) when the command line is
// parsed, before anything runs.
void AddNowMsOption(CLI::App* cmd, std::optional<std::int64_t>& now_ms, const std::string& help);

// Where a passphrase comes from, in order: the first line of `file` (if
// given: --passphrase-file wins over the environment), else HX_PASSPHRASE,
// else (kAllowed only) a no-echo prompt on a terminal. Commands run by
// scripts and apps (merge-preview, lock, member) never prompt: without the
// first two, only the cached key opens the vault.
enum class Prompt { kAllowed, kNever };
// The engine's PassphraseRequest decides what a prompt asks: a new
// passphrase (kCreate) twice, refusing two that differ
// (KC_SYNC_INPUT_INVALID); another try (kOpen, attempt > 1) after saying
// that the last one did not open the vault; nothing for kCheck (a passphrase
// given to a device with a cached key is checked only if given by the file
// or the environment). A file or HX_PASSPHRASE gives its one value to the
// first attempt only.
PassphraseFn MakePassphraseSource(const std::string& file, Prompt prompt);
// Where a new passphrase comes from (hx key change-passphrase): the first
// line of `file` if given (--new-passphrase-file), else the prompt (twice).
// Never HX_PASSPHRASE, which holds the current one.
PassphraseFn MakeNewPassphraseSource(const std::string& file);
inline constexpr std::string_view kNewPassphraseInstead =
    "leave out --new-passphrase-file and type it twice on a terminal";
// Prints an engine warning (SyncOptions::warning) on stderr: "warning: ...".
void PrintWarning(const Error& warning);

// The passphrase in `file`: its first line without the line ending (LF or
// CRLF). A file that cannot be opened or read, is empty or starts with an
// empty line is KC_SYNC_INPUT_INVALID naming it (detail path) and saying
// what to do (`instead`: what else the user may do).
Result<std::string> ReadPassphraseFile(
    const std::string& file,
    std::string_view instead = "leave out --passphrase-file and set HX_PASSPHRASE");

// The working directory (relative target paths are resolved against it),
// and a path the user typed made absolute and normal.
std::string CurrentDir();
std::filesystem::path AbsolutePath(const std::string& path);

// The arguments of every command that opens a vault: the folder, the store
// (and how to reach an S3 one), the clock and the passphrase file.
struct VaultArgs {
  std::string vault;
  std::string target;
  std::string endpoint;
  bool path_style = false;
  std::string region;
  std::optional<std::int64_t> now_ms;
  std::string passphrase_file;
};

// Registers vault_path, target_uri (if not kNone), the S3 options, --now-ms
// (described by `now_help`) and --passphrase-file (described per `prompt`).
enum class Target { kRequired, kOptional, kNone };
void AddVaultArgs(CLI::App* cmd, VaultArgs& args, Target target, Prompt prompt,
                  const std::string& now_help =
                      "The time to record, in ms since the epoch (default: the clock)");

// The engine's options for these arguments: the clock read here if no
// --now-ms, the passphrase source per `prompt`.
// The value type of --auto-merge and --policy for --help and the completion
// scripts: every merge policy ("POLICY:{none,...}", cli/command_spec.h).
std::string MergePolicyTypeName();

SyncOptions MakeSyncOptions(const VaultArgs& args, Prompt prompt);

// HX_TEST_CRASH_AT=<point>[:<n>] kills this process with SIGKILL the n-th
// time (default 1st) the engine passes the named checkpoint: the crash
// tests use it to stop a real hx at exact points of a push or pull (and of
// an agent's cycle). Null when the variable is not set.
std::function<void(std::string_view)> CrashHookFromEnv();

// Renders a report or its error and returns the exit code. A report that
// carries an `error` (a partial result: items failed or await a decision)
// is printed, and the exit code is that error's.
template <typename R>
int Finish(Context& context, const Result<R>& result) {
  if (!result.ok()) return Emit(context.output, Result<Report>(result.error()));
  Result<std::string> json = WriteCanonicalJson(result->ToJson());
  if (!json.ok()) return Emit(context.output, Result<Report>(json.error()));
  int code = Emit(context.output, Report{result->ToHuman(), *json});
  if constexpr (requires { result->error; }) {
    if (result->error) {
      if (!context.output.json) PrintHuman(stderr, result->error->ToHuman());
      code = ExitCodeFor(result->error->code);
    }
  }
  return code;
}

}  // namespace hx::cli
