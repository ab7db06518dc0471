#include "obs/log.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "base/json_string.h"
#include "base/mutex.h"

namespace hx::obs {
namespace {

struct LoggerState {
  Mutex mu;
  std::shared_ptr<spdlog::logger> logger HX_GUARDED_BY(mu);
  Clock* clock HX_GUARDED_BY(mu) = nullptr;
  std::string correlation_id HX_GUARDED_BY(mu);
};

LoggerState& State() {
  static LoggerState* state = new LoggerState();  // never destroyed: used at exit
  return *state;
}

std::atomic<int> g_level{static_cast<int>(LogLevel::kOff)};

// "2026-12-06T08:40:24.123Z" for ms since the epoch.
std::string IsoTime(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return out;
}

void AppendField(std::string& line, std::string_view key, const nlohmann::json& value) {
  line += ',';
  AppendJsonQuoted(line, key);
  line += ':';
  line += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "trace") return LogLevel::kTrace;
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return InvalidInput(SyncCode::kInputInvalid,
                      "unknown log level '" + std::string(name) +
                          "'; use trace, debug, info, warn, error or off");
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "off";
}

Status ConfigureLogging(const LogConfig& config) {
  std::shared_ptr<spdlog::logger> logger;
  if (config.level != LogLevel::kOff) {
    if (!config.file.empty()) {
      // spdlog would create missing directories; a mistyped path is the
      // user's to fix, so it must exist and be writable already.
      std::FILE* probe = std::fopen(config.file.c_str(), "a");
      if (probe == nullptr) {
        return InvalidInput(SyncCode::kInputInvalid,
                            "cannot open the log file " + config.file + ": " +
                                std::strerror(errno) + "; give a writable path to --log-file")
            .With("path", config.file);
      }
      std::fclose(probe);
    }
    try {
      std::shared_ptr<spdlog::sinks::sink> sink;
      if (config.file.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      } else {
        sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file, /*truncate=*/false);
      }
      logger = std::make_shared<spdlog::logger>("hx", std::move(sink));
    } catch (const spdlog::spdlog_ex& e) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "cannot open the log file " + config.file + ": " + e.what() +
                              "; give a writable path to --log-file")
          .With("path", config.file);
    }
    // The line is built here whole; spdlog adds only the newline.
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::trace);
  }
  LoggerState& state = State();
  MutexLock lock(state.mu);
  if (state.logger) state.logger->flush();
  state.logger = std::move(logger);
  state.clock = config.clock;
  g_level.store(static_cast<int>(state.logger ? config.level : LogLevel::kOff));
  return OkStatus();
}

void StopLogging() { (void)ConfigureLogging({}); }

bool LogEnabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<int>(level) >= g_level.load();
}

void Log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (!LogEnabled(level)) return;
  LoggerState& state = State();
  MutexLock lock(state.mu);
  if (!state.logger) return;
  std::string line = "{";
  if (state.clock != nullptr) {
    line += "\"ts\":\"" + IsoTime(state.clock->WallMs()) + "\",";
  }
  line += "\"level\":\"";
  line += LogLevelName(level);
  line += "\",\"cid\":";
  AppendJsonQuoted(line, state.correlation_id);
  AppendField(line, "event", nlohmann::json(std::string(event)));
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) AppendField(line, key, value);
  } else if (!fields.is_null()) {
    AppendField(line, "value", fields);
  }
  line += '}';
  state.logger->log(spdlog::level::info, line);
}

void LogError(LogLevel level, std::string_view event, const Error& error,
              nlohmann::json fields) {
  if (!LogEnabled(level)) return;
  if (!fields.is_object()) fields = nlohmann::json::object();
  fields["code"] = std::string(ToString(error.code));
  fields["category"] = std::string(ToString(error.category));
  fields["retryable"] = error.retryable;
  if (LogEnabled(LogLevel::kDebug)) {
    fields["message"] = error.message;
    nlohmann::json details = nlohmann::json::object();
    for (const auto& [key, value] : error.details) details[key] = value;
    fields["details"] = std::move(details);
  }
  Log(level, event, fields);
}

std::string NewCorrelationId() {
  std::random_device random;
  const std::uint64_t value =
      (static_cast<std::uint64_t>(random()) << 32) ^ static_cast<std::uint64_t>(random());
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(value));
  return out;
}

std::string CurrentCorrelationId() {
  LoggerState& state = State();
  MutexLock lock(state.mu);
  return state.correlation_id;
}

CorrelationScope::CorrelationScope(std::string id) : id_(std::move(id)) {
  LoggerState& state = State();
  MutexLock lock(state.mu);
  previous_ = std::move(state.correlation_id);
  state.correlation_id = id_;
}

CorrelationScope::~CorrelationScope() {
  LoggerState& state = State();
  MutexLock lock(state.mu);
  state.correlation_id = std::move(previous_);
}

}  // namespace hx::obs
