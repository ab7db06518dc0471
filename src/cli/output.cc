#include "cli/output.h"

#include "base/printable.h"
#include "obs/log.h"

namespace hx::cli {

void PrintHuman(std::FILE* stream, std::string_view text) {
  const std::string safe = TerminalSafe(text);
  std::fwrite(safe.data(), 1, safe.size(), stream);
}

int Emit(const OutputOptions& options, const Result<Report>& result) {
  if (result.ok()) {
    if (options.json) {
      std::fputs(result->json.c_str(), stdout);
      std::fputc('\n', stdout);
    } else if (!options.quiet) {
      PrintHuman(stdout, result->human);
    }
    std::fflush(stdout);
    return 0;
  }
  const Error& error = result.error();
  obs::LogError(obs::LogLevel::kError, "command.failed", error);
  if (options.json) {
    // Machines read stdout; the error is the document.
    std::fputs(error.ToJson().c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  } else {
    PrintHuman(stderr, error.ToHuman());
  }
  return ExitCodeFor(error.code);
}

}  // namespace hx::cli
