// What a sync operation tells about itself (obs/): its start and end in the
// log (with the correlation id of the command, never a file name above debug
// level), the process's metrics (runs, durations, conflicts, items), the
// store usage and its cost in the report, and progress during the phases.
// Internal to the sync module; push, pull and link call it.
//
// Thread-safety: an OperationObserver belongs to one operation's thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "obs/usage.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"

namespace hx {

struct Session;

// The store usage of a session so far: for an S3 store what went on the
// wire (its RequestMeter), priced with `prices`; for a folder store its
// calls by method (reads GET, writes PUT, Exists HEAD), unpriced.
obs::StoreUsage SessionUsage(const Session& s, const obs::PriceTable& prices);
// The same from a CountingStore's calls (folder stores).
obs::RequestUsage UsageOfCalls(const StoreCounts& counts);

// Wraps a store so that bytes read and written count as progress of the
// current phase (download and upload bytes).
std::unique_ptr<Store> WrapForProgress(std::unique_ptr<Store> store, obs::Progress progress);

// The options ApplyPlan is given: `options` whose checkpoint also counts
// each installed file ("pull.apply_item"), the first one starting the apply
// phase with `files_total` files.
SyncOptions WithApplyProgress(const SyncOptions& options, std::uint64_t files_total);

class OperationObserver {
 public:
  // Logs "<op>.start" and starts the clock (options' clock, else its env's).
  OperationObserver(std::string_view op, const SyncOptions& options);

  // Logs "<op>.end" (outcome, usage) or "<op>.failed" (the error), records
  // the metrics, and puts the usage into the report. `s` is null when the
  // session did not open.
  template <typename R>
  Result<R> Finish(const Session* s, Result<R> result) {
    std::optional<obs::StoreUsage> usage;
    if (s != nullptr) usage = SessionUsage(*s, options_.prices);
    if (result.ok()) {
      result->store_usage = usage;
      Record(ReportOutcome(*result), usage ? &*usage : nullptr, nullptr);
      RecordReport(*result);
    } else {
      Record("", usage ? &*usage : nullptr, &result.error());
    }
    return result;
  }

 private:
  static std::string ReportOutcome(const PushReport& r) { return r.outcome; }
  static std::string ReportOutcome(const PullReport& r) { return r.outcome; }
  void Record(const std::string& outcome, const obs::StoreUsage* usage, const Error* error);
  void RecordReport(const PushReport& report);
  void RecordReport(const PullReport& report);

  std::string op_;
  const SyncOptions& options_;
  Clock* clock_;
  Clock::MonoTime start_;
};

}  // namespace hx
