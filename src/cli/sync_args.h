// What every command that opens a vault shares: the clock, the passphrase
// source, paths as the user typed them, and the rendering of a report. The
// engine reads none of these itself (now_ms and the passphrase are inputs).
//
// Thread-safety: called from the CLI's single thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "cli/commands.h"
#include "json/canonical_json.h"
#include "sync/engine.h"

namespace hx::cli {

// Milliseconds since the epoch, for commands not given --now-ms.
std::int64_t WallClockMs();

// Where a passphrase comes from, in order: HX_PASSPHRASE, the first line of
// `file` (if given), then (kAllowed only) a no-echo prompt on a terminal.
// Commands run by scripts and apps (merge-preview, lock, member) never
// prompt: without the first two, only the cached key opens the vault.
enum class Prompt { kAllowed, kNever };
PassphraseFn MakePassphraseSource(const std::string& file, Prompt prompt);

// The working directory (relative target paths are resolved against it),
// and a path the user typed made absolute and normal.
std::string CurrentDir();
std::filesystem::path AbsolutePath(const std::string& path);

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
      if (!context.output.json) std::fputs(result->error->ToHuman().c_str(), stderr);
      code = ExitCodeFor(result->error->code);
    }
  }
  return code;
}

}  // namespace hx::cli
