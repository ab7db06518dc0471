// How every hx command reports: a result for humans (text on stdout) or for
// machines (`--json`: one canonical JSON document on stdout), and failures as
// an AppError (text on stderr, or its JSON on stdout) with the exit code of
// its class (docs/ERRORS.md).
//
// Human text embeds names chosen by other devices and by whoever can write
// to the store. Renderers escape each such value (base/printable.h); every
// human text is then printed through PrintHuman, which escapes any control
// sequence a renderer let through (TerminalSafe), so no report or error can
// drive the terminal. JSON needs neither: its strings escape every control
// character.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hx::cli {

// What a successful command produced, in both renderings.
struct Report {
  std::string human;  // printed through PrintHuman (should end with '\n')
  std::string json;   // one canonical JSON document (no trailing newline)
};

struct OutputOptions {
  bool json = false;
  // --quiet: a successful command prints nothing (--json still prints its
  // document); errors are printed as always.
  bool quiet = false;
};

// Writes human text to `stream` with TerminalSafe applied.
void PrintHuman(std::FILE* stream, std::string_view text);

// Prints `result` and returns the process exit code (0 on success). An
// error is also logged (obs/log.h: its code and category; the rest at
// debug level).
int Emit(const OutputOptions& options, const Result<Report>& result);

}  // namespace hx::cli
