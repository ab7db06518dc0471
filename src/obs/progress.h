// Progress of a long engine operation (push, pull, link), reported through a
// callback interface: the engine never prints. It tells a ProgressListener
// the current phase and how many files and bytes of that phase are done of
// how many in all; a renderer (the CLI's terminal line or JSON lines, an
// app's progress bar) decides what to show and how often.
//
//   scan      walking the folder (and the store's trees, for pull)
//   hash      chunking and hashing changed files
//   upload    sealing and uploading packs
//   download  fetching the store's objects for changed files
//   apply     installing files into the folder
//
// The engine may report often (per file, per pack): a listener must be cheap
// and rate-limit what it shows itself. Totals may be 0 (unknown); done may
// pass a total that was an estimate (an upload's total is the changed files'
// plaintext size; what goes up is compressed and encrypted).
//
// Thread-safety: Progress is thread-safe and cheap to copy (copies share
// their state); the engine's worker threads call it concurrently. The
// listener is called with Progress's lock held, so calls never overlap and
// arrive in order; it must not call back into the same Progress.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace hx::obs {

enum class Phase : std::uint8_t { kScan, kHash, kUpload, kDownload, kApply };
// "scan", "hash", "upload", "download", "apply".
std::string_view PhaseName(Phase phase);

struct ProgressEvent {
  Phase phase = Phase::kScan;
  std::uint64_t files_done = 0;
  std::uint64_t files_total = 0;  // 0: unknown
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;  // 0: unknown
};

class ProgressListener {
 public:
  virtual ~ProgressListener() = default;
  // The state after a change (a new phase, or more done).
  virtual void OnProgress(const ProgressEvent& event) = 0;
};

// What the engine holds (SyncOptions::progress). Default-constructed, it has
// no listener and every call is a no-op costing one branch.
class Progress {
 public:
  Progress() = default;
  // `listener` must outlive every copy of this Progress that is used.
  explicit Progress(ProgressListener* listener);

  bool enabled() const { return state_ != nullptr; }
  // A new phase with these totals (0: unknown); done counts restart at 0.
  void StartPhase(Phase phase, std::uint64_t files_total = 0,
                  std::uint64_t bytes_total = 0) const;
  // More of the current phase is done.
  void Add(std::uint64_t files, std::uint64_t bytes) const;
  // Sets the done counts of the current phase (e.g. at its end).
  void SetDone(std::uint64_t files, std::uint64_t bytes) const;
  // A phase whose work is already done when it is reported (one event).
  void ReportPhaseDone(Phase phase, std::uint64_t files, std::uint64_t bytes) const;
  // The last state reported (for tests).
  ProgressEvent Current() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace hx::obs
