// StoreWrapper, CountingStore and FaultInjectingStore. RetryingStore is in
// retrying_store.cc.
#include "store/store_wrappers.h"

#include <utility>

#include "obs/log.h"
#include "obs/metrics.h"

namespace hx {

std::string_view ToString(StoreOp op) {
  static constexpr std::array<std::string_view, kStoreOpCount> kNames = {
      "get",          "get_range", "get_versioned", "put",   "put_if_absent",
      "put_if_match", "exists",    "list",          "delete",
      "get_if_none_match"};
  return kNames[static_cast<std::size_t>(op)];
}

// ------------------------------------------------------------ StoreWrapper

StoreWrapper::StoreWrapper(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

const StoreCapabilities& StoreWrapper::capabilities() const { return inner_->capabilities(); }
std::string StoreWrapper::Describe() const { return inner_->Describe(); }
Result<Bytes> StoreWrapper::Get(std::string_view key, std::uint64_t max_size) {
  return inner_->Get(key, max_size);
}
Result<Bytes> StoreWrapper::GetRange(std::string_view key, ByteRange range) {
  return inner_->GetRange(key, range);
}
Result<std::pair<Bytes, StoreVersion>> StoreWrapper::GetVersioned(std::string_view key,
                                                                  std::uint64_t max_size) {
  return inner_->GetVersioned(key, max_size);
}
Result<std::optional<std::pair<Bytes, StoreVersion>>> StoreWrapper::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  return inner_->GetIfNoneMatch(key, version, max_size);
}
Status StoreWrapper::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  return inner_->Put(key, bytes);
}
Result<StoreVersion> StoreWrapper::PutIfAbsent(std::string_view key,
                                               std::span<const std::uint8_t> bytes) {
  return inner_->PutIfAbsent(key, bytes);
}
Result<StoreVersion> StoreWrapper::PutIfMatch(std::string_view key,
                                              std::span<const std::uint8_t> bytes,
                                              const StoreVersion& expected) {
  return inner_->PutIfMatch(key, bytes, expected);
}
Result<bool> StoreWrapper::Exists(std::string_view key) { return inner_->Exists(key); }
Result<std::vector<StoreObjectInfo>> StoreWrapper::List(std::string_view prefix) {
  return inner_->List(prefix);
}
Status StoreWrapper::Delete(std::string_view key) { return inner_->Delete(key); }

namespace {

// The inner store's writer, observed: `committed` learns how each write
// ended (a write that failed in Append ends there, uncommitted).
class ObservedWriter final : public StoreWriter {
 public:
  ObservedWriter(std::unique_ptr<StoreWriter> inner,
                 std::function<void(bool, std::uint64_t)> committed)
      : inner_(std::move(inner)), committed_(std::move(committed)) {}
  ~ObservedWriter() override {
    if (append_failed_ && !told_) committed_(false, bytes_);
  }
  ObservedWriter(const ObservedWriter&) = delete;
  ObservedWriter& operator=(const ObservedWriter&) = delete;

  Status Append(std::span<const std::uint8_t> bytes) override {
    Status appended = inner_->Append(bytes);
    if (appended.ok()) bytes_ += bytes.size();
    append_failed_ = append_failed_ || !appended.ok();
    return appended;
  }
  Status Commit(std::string_view key) override {
    Status committed = inner_->Commit(key);
    if (!told_) committed_(committed.ok(), bytes_);
    told_ = true;
    return committed;
  }

 private:
  std::unique_ptr<StoreWriter> inner_;
  std::function<void(bool, std::uint64_t)> committed_;
  std::uint64_t bytes_ = 0;
  bool append_failed_ = false;
  bool told_ = false;
};

}  // namespace

Result<std::unique_ptr<StoreWriter>> StoreWrapper::StartWriteThrough(
    std::function<void(bool, std::uint64_t)> committed) {
  HX_ASSIGN_OR_RETURN(std::unique_ptr<StoreWriter> writer, inner_->StartWrite());
  return std::unique_ptr<StoreWriter>(
      std::make_unique<ObservedWriter>(std::move(writer), std::move(committed)));
}

// ----------------------------------------------------------- CountingStore

std::uint64_t StoreCounts::total_calls() const {
  std::uint64_t total = 0;
  for (const std::uint64_t n : calls) total += n;
  return total;
}

std::string StoreCounts::ToString() const {
  std::string out;
  for (std::size_t i = 0; i < kStoreOpCount; ++i) {
    if (calls[i] == 0) continue;
    out += hx::ToString(static_cast<StoreOp>(i));
    out += "=" + std::to_string(calls[i]) + " ";
  }
  out += "failures=" + std::to_string(failures) + " bytes_up=" + std::to_string(bytes_up) +
         " bytes_down=" + std::to_string(bytes_down);
  return out;
}

StoreCounts operator-(const StoreCounts& after, const StoreCounts& before) {
  StoreCounts out;
  for (std::size_t i = 0; i < kStoreOpCount; ++i) out.calls[i] = after.calls[i] - before.calls[i];
  out.failures = after.failures - before.failures;
  out.bytes_up = after.bytes_up - before.bytes_up;
  out.bytes_down = after.bytes_down - before.bytes_down;
  return out;
}

CountingStore::CountingStore(std::unique_ptr<Store> inner) : StoreWrapper(std::move(inner)) {}

StoreCounts CountingStore::Counts() const {
  StoreCounts out;
  for (std::size_t i = 0; i < kStoreOpCount; ++i) {
    out.calls[i] = calls_[i].load(std::memory_order_relaxed);
  }
  out.failures = failures_.load(std::memory_order_relaxed);
  out.bytes_up = bytes_up_.load(std::memory_order_relaxed);
  out.bytes_down = bytes_down_.load(std::memory_order_relaxed);
  return out;
}

void CountingStore::Reset() {
  for (auto& n : calls_) n.store(0, std::memory_order_relaxed);
  failures_.store(0, std::memory_order_relaxed);
  bytes_up_.store(0, std::memory_order_relaxed);
  bytes_down_.store(0, std::memory_order_relaxed);
}

// Counters are statistics, not synchronization: relaxed order suffices.
// Each call also goes to the process's metrics (hx_store_requests_total,
// hx_store_bytes_total) and, at debug level, to the log.
void CountingStore::Count(StoreOp op, bool ok, std::uint64_t up, std::uint64_t down) {
  calls_[static_cast<std::size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  if (!ok) failures_.fetch_add(1, std::memory_order_relaxed);
  bytes_up_.fetch_add(up, std::memory_order_relaxed);
  bytes_down_.fetch_add(down, std::memory_order_relaxed);
  obs::RecordStoreRequest(ToString(op), ok, up, down);
  if (obs::LogEnabled(obs::LogLevel::kDebug)) {
    obs::Log(obs::LogLevel::kDebug, "store.call",
             {{"op", std::string(ToString(op))}, {"ok", ok}, {"bytes_up", up}, {"bytes_down", down}});
  }
}

Result<Bytes> CountingStore::Get(std::string_view key, std::uint64_t max_size) {
  auto result = StoreWrapper::Get(key, max_size);
  Count(StoreOp::kGet, result.ok(), 0, result.ok() ? result->size() : 0);
  return result;
}

Result<Bytes> CountingStore::GetRange(std::string_view key, ByteRange range) {
  auto result = StoreWrapper::GetRange(key, range);
  Count(StoreOp::kGetRange, result.ok(), 0, result.ok() ? result->size() : 0);
  return result;
}

Result<std::pair<Bytes, StoreVersion>> CountingStore::GetVersioned(std::string_view key,
                                                                   std::uint64_t max_size) {
  auto result = StoreWrapper::GetVersioned(key, max_size);
  Count(StoreOp::kGetVersioned, result.ok(), 0, result.ok() ? result->first.size() : 0);
  return result;
}

Result<std::optional<std::pair<Bytes, StoreVersion>>> CountingStore::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  auto result = StoreWrapper::GetIfNoneMatch(key, version, max_size);
  Count(StoreOp::kGetIfNoneMatch, result.ok(), 0,
        result.ok() && result->has_value() ? (*result)->first.size() : 0);
  return result;
}

// Bytes up count what was sent, whether or not the store took it: that is
// the traffic (and on S3, the cost).
Status CountingStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  auto result = StoreWrapper::Put(key, bytes);
  Count(StoreOp::kPut, result.ok(), bytes.size(), 0);
  return result;
}

Result<StoreVersion> CountingStore::PutIfAbsent(std::string_view key,
                                                std::span<const std::uint8_t> bytes) {
  auto result = StoreWrapper::PutIfAbsent(key, bytes);
  Count(StoreOp::kPutIfAbsent, result.ok(), bytes.size(), 0);
  return result;
}

Result<StoreVersion> CountingStore::PutIfMatch(std::string_view key,
                                               std::span<const std::uint8_t> bytes,
                                               const StoreVersion& expected) {
  auto result = StoreWrapper::PutIfMatch(key, bytes, expected);
  Count(StoreOp::kPutIfMatch, result.ok(), bytes.size(), 0);
  return result;
}

Result<std::unique_ptr<StoreWriter>> CountingStore::StartWrite() {
  auto result = StartWriteThrough(
      [this](bool ok, std::uint64_t bytes) { Count(StoreOp::kPut, ok, bytes, 0); });
  if (!result.ok()) Count(StoreOp::kPut, false, 0, 0);
  return result;
}

bool CountingStore::streams_writes() const { return inner().streams_writes(); }

Result<bool> CountingStore::Exists(std::string_view key) {
  auto result = StoreWrapper::Exists(key);
  Count(StoreOp::kExists, result.ok(), 0, 0);
  return result;
}

Result<std::vector<StoreObjectInfo>> CountingStore::List(std::string_view prefix) {
  auto result = StoreWrapper::List(prefix);
  Count(StoreOp::kList, result.ok(), 0, 0);
  return result;
}

Status CountingStore::Delete(std::string_view key) {
  auto result = StoreWrapper::Delete(key);
  Count(StoreOp::kDelete, result.ok(), 0, 0);
  return result;
}

// ------------------------------------------------------ FaultInjectingStore

FaultRule FaultRule::FailNth(StoreOp op, std::uint64_t n, Category category) {
  FaultRule rule;
  rule.op = op;
  rule.skip = n == 0 ? 0 : n - 1;
  rule.times = 1;
  rule.category = category;
  return rule;
}

FaultRule FaultRule::FailFirst(StoreOp op, std::uint64_t count, Category category) {
  FaultRule rule;
  rule.op = op;
  rule.times = count;
  rule.category = category;
  return rule;
}

FaultRule FaultRule::FailPrefix(StoreOp op, std::string key_prefix, Category category) {
  FaultRule rule;
  rule.op = op;
  rule.key_prefix = std::move(key_prefix);
  rule.times = kForever;
  rule.category = category;
  return rule;
}

FaultRule FaultRule::FailRate(StoreOp op, double rate, Category category) {
  FaultRule rule;
  rule.op = op;
  rule.times = kForever;
  rule.probability = rate;
  rule.category = category;
  return rule;
}

FaultRule FaultRule::CorruptReads(StoreOp op, FaultAction action) {
  FaultRule rule;
  rule.op = op;
  rule.times = kForever;
  rule.action = action;
  return rule;
}

namespace {

bool IsRead(StoreOp op) {
  return op == StoreOp::kGet || op == StoreOp::kGetRange || op == StoreOp::kGetVersioned;
}

SyncCode CodeFor(Category category) {
  switch (category) {
    case Category::kThrottling:
    case Category::kTimeout:
    case Category::kNetwork:
      return SyncCode::kNetworkFailed;
    case Category::kAuth:
      return SyncCode::kAuthFailed;
    default:
      return SyncCode::kStateFailed;
  }
}

Error InjectedError(StoreOp op, std::string_view key, Category category) {
  return Error(CodeFor(category), category,
               "injected fault: " + std::string(ToString(op)) + " " + std::string(key))
      .With("injected", "true")
      .With("key", std::string(key));
}

void Corrupt(Bytes& bytes, FaultAction action, std::uint64_t random) {
  if (bytes.empty()) return;
  if (action == FaultAction::kTruncate) {
    bytes.resize(static_cast<std::size_t>(random % bytes.size()));
  } else {
    const std::size_t position = static_cast<std::size_t>((random >> 3) % bytes.size());
    bytes[position] ^= static_cast<std::uint8_t>(1u << (random & 7));
  }
}

// The bytes a read returned, whatever the shape of its result.
Bytes& ReadBytes(Bytes& bytes) { return bytes; }
Bytes& ReadBytes(std::pair<Bytes, StoreVersion>& result) { return result.first; }

}  // namespace

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<Store> inner, std::uint64_t seed)
    : StoreWrapper(std::move(inner)), random_(seed) {}

void FaultInjectingStore::AddRule(FaultRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(RuleState{std::move(rule)});
}

void FaultInjectingStore::ClearRules() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

std::vector<InjectedFault> FaultInjectingStore::Injected() const {
  std::lock_guard lock(mu_);
  return injected_;
}

FaultInjectingStore::Decision FaultInjectingStore::Decide(StoreOp op, std::string_view key) {
  std::lock_guard lock(mu_);
  Decision decision;
  for (RuleState& state : rules_) {
    const FaultRule& rule = state.rule;
    if (rule.op.has_value() && *rule.op != op) continue;
    if (!key.starts_with(rule.key_prefix)) continue;
    const bool corrupts =
        rule.action == FaultAction::kTruncate || rule.action == FaultAction::kFlipByte;
    if (corrupts && !IsRead(op)) continue;  // only reads return bytes to corrupt
    ++state.matched;
    if (decision.action.has_value()) continue;  // an earlier rule fired; keep counting
    if (state.matched <= rule.skip || state.fired >= rule.times) continue;
    // Draw only when needed, so that adding a certain rule does not shift
    // the random sequence seen by the others.
    if (rule.probability < 1.0) {
      const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
      if (draw >= rule.probability) continue;
    }
    ++state.fired;
    decision.action = rule.action;
    decision.category = rule.category;
    decision.random = random_();
    injected_.push_back(InjectedFault{op, std::string(key), rule.action});
  }
  return decision;
}

template <typename T, typename Call>
T FaultInjectingStore::Run(StoreOp op, std::string_view key, Call call) {
  const Decision decision = Decide(op, key);
  if (!decision.action.has_value()) return call();
  switch (*decision.action) {
    case FaultAction::kFailBefore:
      return InjectedError(op, key, decision.category);
    case FaultAction::kFailAfter: {
      // The outcome is dropped on purpose: the caller must not learn it.
      [[maybe_unused]] const auto outcome = call();
      return InjectedError(op, key, decision.category);
    }
    case FaultAction::kTruncate:
    case FaultAction::kFlipByte:
      break;
  }
  T result = call();
  if constexpr (!std::is_same_v<T, Status>) {
    if constexpr (requires { ReadBytes(*result); }) {
      if (result.ok()) Corrupt(ReadBytes(*result), *decision.action, decision.random);
    }
  }
  return result;
}

Result<Bytes> FaultInjectingStore::Get(std::string_view key, std::uint64_t max_size) {
  return Run<Result<Bytes>>(StoreOp::kGet, key, [&] { return StoreWrapper::Get(key, max_size); });
}

Result<Bytes> FaultInjectingStore::GetRange(std::string_view key, ByteRange range) {
  return Run<Result<Bytes>>(StoreOp::kGetRange, key,
                            [&] { return StoreWrapper::GetRange(key, range); });
}

Result<std::pair<Bytes, StoreVersion>> FaultInjectingStore::GetVersioned(std::string_view key,
                                                                         std::uint64_t max_size) {
  return Run<Result<std::pair<Bytes, StoreVersion>>>(
      StoreOp::kGetVersioned, key, [&] { return StoreWrapper::GetVersioned(key, max_size); });
}

Result<std::optional<std::pair<Bytes, StoreVersion>>> FaultInjectingStore::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  return Run<Result<std::optional<std::pair<Bytes, StoreVersion>>>>(
      StoreOp::kGetIfNoneMatch, key,
      [&] { return StoreWrapper::GetIfNoneMatch(key, version, max_size); });
}

Status FaultInjectingStore::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  return Run<Status>(StoreOp::kPut, key, [&] { return StoreWrapper::Put(key, bytes); });
}

Result<StoreVersion> FaultInjectingStore::PutIfAbsent(std::string_view key,
                                                      std::span<const std::uint8_t> bytes) {
  return Run<Result<StoreVersion>>(StoreOp::kPutIfAbsent, key,
                                   [&] { return StoreWrapper::PutIfAbsent(key, bytes); });
}

Result<StoreVersion> FaultInjectingStore::PutIfMatch(std::string_view key,
                                                     std::span<const std::uint8_t> bytes,
                                                     const StoreVersion& expected) {
  return Run<Result<StoreVersion>>(StoreOp::kPutIfMatch, key,
                                   [&] { return StoreWrapper::PutIfMatch(key, bytes, expected); });
}

Result<bool> FaultInjectingStore::Exists(std::string_view key) {
  return Run<Result<bool>>(StoreOp::kExists, key, [&] { return StoreWrapper::Exists(key); });
}

Result<std::vector<StoreObjectInfo>> FaultInjectingStore::List(std::string_view prefix) {
  return Run<Result<std::vector<StoreObjectInfo>>>(StoreOp::kList, prefix,
                                                   [&] { return StoreWrapper::List(prefix); });
}

Status FaultInjectingStore::Delete(std::string_view key) {
  return Run<Status>(StoreOp::kDelete, key, [&] { return StoreWrapper::Delete(key); });
}

}  // namespace hx
