#include "cli/observe.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "obs/log.h"
#include "os/real_clock.h"

namespace hx::cli {
namespace {

std::int64_t Ms(Clock::MonoTime::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string Duration(std::int64_t seconds) {
  char out[32];
  if (seconds >= 3600) {
    std::snprintf(out, sizeof out, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(out, sizeof out, "%lld:%02lld", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  }
  return out;
}

int TerminalWidth(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

TerminalProgress::TerminalProgress(std::FILE* out, Clock& clock, int min_interval_ms)
    : out_(out), clock_(clock), min_interval_ms_(min_interval_ms) {}

std::string TerminalProgress::Line(const obs::ProgressEvent& event, std::int64_t elapsed_ms) {
  // A total may be an estimate that the work passes: never show more done.
  obs::ProgressEvent e = event;
  if (e.files_total > 0) e.files_done = std::min(e.files_done, e.files_total);
  if (e.bytes_total > 0) e.bytes_done = std::min(e.bytes_done, e.bytes_total);
  std::string line(obs::PhaseName(e.phase));
  line.resize(9, ' ');
  if (e.files_total > 0 || e.files_done > 0) {
    line += std::to_string(e.files_done);
    if (e.files_total > 0) line += "/" + std::to_string(e.files_total);
    line += " files   ";
  }
  line += obs::HumanBytes(e.bytes_done);
  if (e.bytes_total > 0) line += "/" + obs::HumanBytes(e.bytes_total);
  if (elapsed_ms >= 500 && e.bytes_done > 0) {
    const double rate = static_cast<double>(e.bytes_done) * 1000.0 / static_cast<double>(elapsed_ms);
    line += "   " + obs::HumanBytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (e.bytes_total > e.bytes_done) {
      const auto eta = static_cast<std::int64_t>(static_cast<double>(e.bytes_total - e.bytes_done) / rate);
      line += "   ETA " + Duration(eta);
    }
  }
  return line;
}

void TerminalProgress::OnProgress(const obs::ProgressEvent& event) {
  const Clock::MonoTime now = clock_.Monotonic();
  const bool new_phase = !phase_ || *phase_ != event.phase;
  if (new_phase) {
    phase_ = event.phase;
    phase_start_ = now;
  } else if (Ms(now - last_draw_) < min_interval_ms_) {
    return;
  }
  last_draw_ = now;
  std::string line = Line(event, Ms(now - phase_start_));
  const std::size_t width = static_cast<std::size_t>(TerminalWidth(out_));
  if (line.size() >= width) line.resize(width > 1 ? width - 1 : 0);
  // Carriage return, the line, then erase what a longer line left.
  std::fputs(("\r" + line + "\x1b[K").c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
}

void TerminalProgress::End() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

JsonProgress::JsonProgress(std::FILE* out, Clock& clock, int min_interval_ms)
    : out_(out), clock_(clock), min_interval_ms_(min_interval_ms), start_(clock.Monotonic()) {}

void JsonProgress::OnProgress(const obs::ProgressEvent& e) {
  const Clock::MonoTime now = clock_.Monotonic();
  const bool new_phase = !phase_ || *phase_ != e.phase;
  if (!new_phase && Ms(now - last_) < min_interval_ms_) return;
  phase_ = e.phase;
  last_ = now;
  const nlohmann::json line = {{"type", "progress"},
                               {"phase", std::string(obs::PhaseName(e.phase))},
                               {"files_done", e.files_done},
                               {"files_total", e.files_total},
                               {"bytes_done", e.bytes_done},
                               {"bytes_total", e.bytes_total},
                               {"elapsed_ms", Ms(now - start_)}};
  std::fputs((line.dump() + "\n").c_str(), out_);
  std::fflush(out_);
}

void JsonProgress::End(const std::optional<obs::StoreUsage>& usage) {
  const nlohmann::json line = {{"type", "done"},
                               {"elapsed_ms", Ms(clock_.Monotonic() - start_)},
                               {"store_usage", usage ? usage->ToJson() : nlohmann::json(nullptr)}};
  std::fputs((line.dump() + "\n").c_str(), out_);
  std::fflush(out_);
}

void CommandProgress::Start(const ObsFlags& flags, bool json_output) {
  Clock& clock = RealClock::Get();
  if (flags.progress == "json") {
    json_ = std::make_unique<JsonProgress>(stderr, clock);
    progress_ = obs::Progress(json_.get());
  } else if (flags.progress == "auto" && !flags.quiet && ::isatty(STDERR_FILENO) == 1) {
    terminal_ = std::make_unique<TerminalProgress>(stderr, clock);
    progress_ = obs::Progress(terminal_.get());
    // The summary is for people; --json readers have it in the report.
    summary_ = !json_output;
  }
}

void CommandProgress::End(const std::optional<obs::StoreUsage>& usage) {
  if (terminal_) terminal_->End();
  if (json_) json_->End(usage);
  if (summary_ && usage) {
    const std::string text = usage->ToHuman();
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  }
  progress_ = obs::Progress();
}

Status ApplyObsFlags(const ObsFlags& flags) {
  if (flags.progress != "auto" && flags.progress != "json" && flags.progress != "none") {
    return InvalidInput(SyncCode::kInputInvalid,
                        "unknown --progress '" + flags.progress + "'; use auto, json or none");
  }
  if (const char* prices = std::getenv("HX_S3_PRICES"); prices != nullptr) {
    if (Result<obs::PriceTable> table = obs::ParsePriceTable(prices); !table.ok()) {
      return table.error();
    }
  }
  std::string level_name = flags.log_level;
  if (level_name.empty()) {
    if (const char* env = std::getenv("HX_LOG"); env != nullptr && *env != '\0') level_name = env;
  }
  obs::LogLevel level = flags.log_file.empty() ? obs::LogLevel::kOff : obs::LogLevel::kInfo;
  if (!level_name.empty()) {
    HX_ASSIGN_OR_RETURN(level, obs::ParseLogLevel(level_name));
  }
  return obs::ConfigureLogging({.level = level, .file = flags.log_file, .clock = &RealClock::Get()});
}

}  // namespace hx::cli
