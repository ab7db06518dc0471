// What the hx command shows and records about a run, besides its result:
// progress on stderr (a redrawn line on a terminal, JSON lines with
// --progress=json, nothing when piped or --quiet), the store usage summary
// at the end of push and pull on a terminal, and the program's log
// (--log-file, --log-level, HX_LOG) with one correlation id per command.
//
// Thread-safety: the renderers are called by the engine's worker threads
// through obs::Progress, which serializes the calls; the rest runs on the
// CLI's thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"
#include "obs/progress.h"
#include "obs/usage.h"

namespace hx::cli {

// The global flags of this file.
struct ObsFlags {
  std::string progress = "auto";  // auto, json, none
  bool quiet = false;
  std::string log_file;
  std::string log_level;  // empty: HX_LOG, else info with a file, else off
};

// Draws progress on a terminal: one line, redrawn at most every
// `min_interval_ms` (and at each phase change), erased by End().
//   upload   12/40 files   1.2 MB/3.4 MB   850.0 kB/s   ETA 0:03
class TerminalProgress final : public obs::ProgressListener {
 public:
  TerminalProgress(std::FILE* out, Clock& clock, int min_interval_ms = 100);
  void OnProgress(const obs::ProgressEvent& event) override;
  // Erases the line (if one was drawn).
  void End();
  // The line for `event` after `elapsed_ms` of its phase (for tests).
  static std::string Line(const obs::ProgressEvent& event, std::int64_t elapsed_ms);

 private:
  std::FILE* out_;
  Clock& clock_;
  const int min_interval_ms_;
  bool drawn_ = false;
  std::optional<obs::Phase> phase_;
  Clock::MonoTime phase_start_{};
  Clock::MonoTime last_draw_{};
};

// One JSON object per line on `out`, for apps:
//   {"type":"progress","phase":"upload","files_done":1,"files_total":2,
//    "bytes_done":10,"bytes_total":20,"elapsed_ms":35}
// at most every `min_interval_ms`, and always at a phase change.
class JsonProgress final : public obs::ProgressListener {
 public:
  JsonProgress(std::FILE* out, Clock& clock, int min_interval_ms = 100);
  void OnProgress(const obs::ProgressEvent& event) override;
  // {"type":"done","store_usage":{...}} (usage null if none).
  void End(const std::optional<obs::StoreUsage>& usage);

 private:
  std::FILE* out_;
  Clock& clock_;
  const int min_interval_ms_;
  std::optional<obs::Phase> phase_;
  Clock::MonoTime start_{};
  Clock::MonoTime last_{};
};

// The progress of one command, as the flags and stderr decide.
class CommandProgress {
 public:
  CommandProgress() = default;
  void Start(const ObsFlags& flags, bool json_output);
  // What the engine gets (no listener: nothing shown).
  obs::Progress progress() const { return progress_; }
  // Erases the line; on a terminal (not quiet) prints the store usage
  // summary on stderr; --progress=json prints its "done" line.
  void End(const std::optional<obs::StoreUsage>& usage);

 private:
  std::unique_ptr<TerminalProgress> terminal_;
  std::unique_ptr<JsonProgress> json_;
  obs::Progress progress_;
  bool summary_ = false;
};

// Checks the flags (and HX_LOG, HX_S3_PRICES) and configures the log;
// KC_SYNC_INPUT_INVALID saying which is wrong.
Status ApplyObsFlags(const ObsFlags& flags);

}  // namespace hx::cli
