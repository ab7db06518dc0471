#include "sync/observe.h"

#include <chrono>
#include <memory>
#include <utility>

#include "obs/log.h"
#include "obs/metrics.h"
#include "sync/session.h"

namespace hx {
namespace {

// Counts the bytes of successful reads and writes as progress.
class ProgressStore final : public StoreWrapper {
 public:
  ProgressStore(std::unique_ptr<Store> inner, obs::Progress progress)
      : StoreWrapper(std::move(inner)), progress_(std::move(progress)) {}

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override {
    auto r = StoreWrapper::Get(key, max_size);
    if (r.ok()) progress_.Add(0, r->size());
    return r;
  }
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    auto r = StoreWrapper::GetRange(key, range);
    if (r.ok()) progress_.Add(0, r->size());
    return r;
  }
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override {
    auto r = StoreWrapper::GetVersioned(key, max_size);
    if (r.ok()) progress_.Add(0, r->first.size());
    return r;
  }
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    Status r = StoreWrapper::Put(key, bytes);
    if (r.ok()) progress_.Add(0, bytes.size());
    return r;
  }
  Result<std::unique_ptr<StoreWriter>> StartWrite() override {
    return StartWriteThrough([this](bool ok, std::uint64_t bytes) {
      if (ok) progress_.Add(0, bytes);
    });
  }
  bool streams_writes() const override { return inner().streams_writes(); }
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    auto r = StoreWrapper::PutIfAbsent(key, bytes);
    if (r.ok()) progress_.Add(0, bytes.size());
    return r;
  }
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override {
    auto r = StoreWrapper::PutIfMatch(key, bytes, expected);
    if (r.ok()) progress_.Add(0, bytes.size());
    return r;
  }

 private:
  obs::Progress progress_;
};

}  // namespace

obs::RequestUsage UsageOfCalls(const StoreCounts& c) {
  obs::RequestUsage u;
  const auto set = [&u](obs::Method m, std::uint64_t n) {
    u.requests[static_cast<std::size_t>(m)] += n;
  };
  set(obs::Method::kGet, c[StoreOp::kGet] + c[StoreOp::kGetRange] + c[StoreOp::kGetVersioned]);
  set(obs::Method::kPut, c[StoreOp::kPut] + c[StoreOp::kPutIfAbsent] + c[StoreOp::kPutIfMatch]);
  set(obs::Method::kHead, c[StoreOp::kExists]);
  set(obs::Method::kList, c[StoreOp::kList]);
  set(obs::Method::kDelete, c[StoreOp::kDelete]);
  u.failed = c.failures;
  u.bytes_up = c.bytes_up;
  u.bytes_down = c.bytes_down;
  return u;
}

obs::StoreUsage SessionUsage(const Session& s, const obs::PriceTable& prices) {
  obs::StoreUsage usage;
  if (s.target.kind == TargetKind::kS3 && s.meter) {
    usage.usage = s.meter->Read();
    usage.estimated_cost_usd = obs::EstimateCostUsd(usage.usage, prices);
    usage.price_source = prices.source;
  } else if (s.counts != nullptr) {
    usage.usage = UsageOfCalls(s.counts->Counts());
  }
  return usage;
}

std::unique_ptr<Store> WrapForProgress(std::unique_ptr<Store> store, obs::Progress progress) {
  if (!progress.enabled()) return store;
  return std::make_unique<ProgressStore>(std::move(store), std::move(progress));
}

SyncOptions WithApplyProgress(const SyncOptions& options, std::uint64_t files_total) {
  if (!options.progress.enabled()) return options;
  SyncOptions with = options;
  auto started = std::make_shared<bool>(false);
  with.checkpoint = [inner = options.checkpoint, progress = options.progress, files_total,
                     started](std::string_view point) {
    if (point == "pull.apply_item") {
      if (!*started) {
        *started = true;
        progress.StartPhase(obs::Phase::kApply, files_total, 0);
      }
      progress.Add(1, 0);
    }
    if (inner) inner(point);
  };
  return with;
}

OperationObserver::OperationObserver(std::string_view op, const SyncOptions& options)
    : op_(op), options_(options) {
  Env* env = options.env != nullptr ? options.env : &Env::Default();
  clock_ = options.clock != nullptr ? options.clock : &env->clock();
  start_ = clock_->Monotonic();
  obs::Log(obs::LogLevel::kInfo, op_ + ".start");
}

void OperationObserver::Record(const std::string& outcome, const obs::StoreUsage* usage,
                               const Error* error) {
  const double seconds =
      std::chrono::duration<double>(clock_->Monotonic() - start_).count();
  nlohmann::json fields = {{"seconds", seconds}};
  if (usage != nullptr) fields["store_usage"] = usage->ToJson();
  if (error != nullptr) {
    obs::RecordSyncRun(op_, ToString(error->code), seconds);
    if (error->code == SyncCode::kConflict) obs::RecordConflicts(op_, 1);
    obs::LogError(obs::LogLevel::kError, op_ + ".failed", *error, std::move(fields));
    return;
  }
  obs::RecordSyncRun(op_, outcome, seconds);
  fields["outcome"] = outcome;
  obs::Log(obs::LogLevel::kInfo, op_ + ".end", fields);
}

void OperationObserver::RecordReport(const PushReport& report) {
  if (report.merged) RecordReport(*report.merged);
}

void OperationObserver::RecordReport(const PullReport& report) {
  if (!report.resolutions.empty()) obs::RecordConflicts(op_, report.resolutions.size());
  std::map<std::string, std::uint64_t> by_status;
  for (const PullItem& item : report.items) {
    ++by_status[item.status];
    if (item.error) obs::RecordItemFailure(ToString(item.error->category));
    if (obs::LogEnabled(obs::LogLevel::kDebug)) {
      // File names are personal data: only at debug level.
      obs::Log(obs::LogLevel::kDebug, op_ + ".item",
               {{"path", item.path}, {"action", item.action}, {"status", item.status}});
    }
  }
  for (const auto& [status, n] : by_status) obs::RecordItems(status, n);
  if (report.error) obs::LogError(obs::LogLevel::kError, op_ + ".partial", *report.error);
}

}  // namespace hx
