// The one logger of the program: JSON lines, each carrying the correlation
// id of the command (or agent cycle) it belongs to, so every store request
// and every error of one run can be found together.
//
//   {"ts":"2026-12-06T08:40:24.123Z","level":"info","cid":"5f0c...","event":"push.end",...}
//
// What is never logged: secrets (credentials, keys, passphrases), file
// contents, and — below debug level — file names (personal data): an error
// logged at info or above carries its code, category and retryable flag;
// its message and details (which may name a file) only when debug is on
// (LogError). Store keys (hashes, no plaintext names) are logged at debug.
//
// Off until configured: ConfigureLogging (the CLI: --log-file, --log-level,
// HX_LOG). Lines go through spdlog (one thread-safe sink: a file opened for
// appending, or stderr) and are flushed one by one, so a crash loses none.
//
// Thread-safety: everything here is thread-safe. The correlation id is one
// per process (a command, or one agent cycle at a time): a
// CorrelationScope sets it for every thread until it ends.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {
class Clock;
}

namespace hx::obs {

enum class LogLevel : int { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
// "trace", "debug", "info", "warn" (or "warning"), "error", "off";
// anything else is KC_SYNC_INPUT_INVALID listing them.
Result<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

struct LogConfig {
  LogLevel level = LogLevel::kOff;
  // Append to this file; empty: stderr.
  std::string file;
  // The time of each line ("ts"); null: lines carry no time.
  Clock* clock = nullptr;
};

// Replaces the program's logger (a file that cannot be opened is
// KC_SYNC_INPUT_INVALID naming it; the previous logger is kept then).
Status ConfigureLogging(const LogConfig& config);
// Flushes and turns logging off (the end of main, tests).
void StopLogging();

// Whether a line at `level` would be written (cheap: one atomic load).
bool LogEnabled(LogLevel level);

// Writes one line: ts, level, cid, event, then `fields` (an object; other
// values are logged under "value"). Invalid UTF-8 in fields is replaced.
void Log(LogLevel level, std::string_view event, const nlohmann::json& fields = nullptr);
// An error: code, category, retryable, plus `fields`; message and details
// only when debug is enabled (they may name files).
void LogError(LogLevel level, std::string_view event, const Error& error,
              nlohmann::json fields = nullptr);

// 16 lowercase hex digits from the system's random source.
std::string NewCorrelationId();
// The id of the current scope ("" outside any).
std::string CurrentCorrelationId();

// Sets the correlation id for the whole process while it lives and puts the
// previous one back at its end. Scopes nest (innermost wins) and must end in
// reverse order of their start.
class CorrelationScope {
 public:
  explicit CorrelationScope(std::string id = NewCorrelationId());
  ~CorrelationScope();
  CorrelationScope(const CorrelationScope&) = delete;
  CorrelationScope& operator=(const CorrelationScope&) = delete;

  const std::string& id() const { return id_; }

 private:
  std::string id_;
  std::string previous_;
};

}  // namespace hx::obs
