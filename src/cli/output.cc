#include "cli/output.h"

#include <cstdio>

namespace hx::cli {

int Emit(const OutputOptions& options, const Result<Report>& result) {
  if (result.ok()) {
    if (options.json) {
      std::fputs(result->json.c_str(), stdout);
      std::fputc('\n', stdout);
    } else {
      std::fputs(result->human.c_str(), stdout);
    }
    std::fflush(stdout);
    return 0;
  }
  const Error& error = result.error();
  if (options.json) {
    // Machines read stdout; the error is the document.
    std::fputs(error.ToJson().c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  } else {
    std::fputs(error.ToHuman().c_str(), stderr);
  }
  return ExitCodeFor(error.code);
}

}  // namespace hx::cli
