// How every hx command reports: a result for humans (text on stdout) or for
// machines (`--json`: one canonical JSON document on stdout), and failures as
// an AppError (text on stderr, or its JSON on stdout) with the exit code of
// its class (docs/ERRORS.md).
#pragma once

#include <string>

#include "base/error.h"

namespace hx::cli {

// What a successful command produced, in both renderings.
struct Report {
  std::string human;  // printed as is (should end with '\n')
  std::string json;   // one canonical JSON document (no trailing newline)
};

struct OutputOptions {
  bool json = false;
};

// Prints `result` and returns the process exit code (0 on success).
int Emit(const OutputOptions& options, const Result<Report>& result);

}  // namespace hx::cli
