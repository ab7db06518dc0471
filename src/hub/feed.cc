#include "hub/feed.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "hub/protocol.h"
#include "obs/metrics.h"
#include "store/retry_policy.h"  // ClockOrReal

namespace hx::hub {
namespace {

// Milliseconds of `clock`'s monotonic time.
std::int64_t NowMs(Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Monotonic().time_since_epoch())
      .count();
}

obs::Gauge& OpenFeeds() {
  static obs::Gauge& gauge = obs::DefaultMetrics().GetGauge(
      kHubOpenFeeds, "Change-feed requests the hub holds, waiting for a head to move.");
  return gauge;
}

HubResponse FeedReply(bool changed, const std::optional<StoreVersion>& head) {
  std::string body = changed ? R"({"changed":true,"head":)" : R"({"changed":false,"head":)";
  body += head ? "\"" + EncodeVersion(*head) + "\"" : "null";
  body += "}";
  return HubResponse::Json(200, std::move(body));
}

HubResponse Busy() {
  HubResponse busy = HubResponse::FromError(
      Error(SyncCode::kNetworkFailed, Category::kThrottling,
            "the hub holds as many change-feed requests as it may; retry shortly"));
  busy.status = 429;
  return busy;
}

}  // namespace

FeedService::FeedService(std::shared_ptr<VaultStores> stores, FeedOptions options)
    : stores_(std::move(stores)), options_(options), thread_([this] { Run(); }) {
  OpenFeeds();  // the gauge is shown (at 0) before the first feed request
}

FeedService::~FeedService() { Stop(); }

void FeedService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    OpenFeeds().Add(-static_cast<std::int64_t>(count_));
    count_ = 0;
    waiters_.clear();
    for (auto& [vault, list] : streams_) {
      for (Subscriber& subscriber : list) subscriber.stream->End();
    }
    streams_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::optional<StoreVersion>> FeedService::ReadHead(const std::string& vault) {
  HX_ASSIGN_OR_RETURN(Store* const store, stores_->For(vault));
  const Result<std::pair<Bytes, StoreVersion>> head = store->GetVersioned("head.json", 1 << 20);
  if (!head.ok()) {
    if (head.error().category == Category::kNotFound) return std::optional<StoreVersion>();
    return head.error();
  }
  return std::optional<StoreVersion>(head->second);
}

void FeedService::Wait(const std::string& vault, const StoreVersion& after, std::int64_t wait_ms,
                       Responder respond) {
  const Result<std::optional<StoreVersion>> head = ReadHead(vault);
  if (!head.ok()) return respond(HubResponse::FromError(head.error()));
  const StoreVersion current = head->value_or("");
  if (current != after || wait_ms <= 0) return respond(FeedReply(current != after, *head));
  std::unique_lock lock(mu_);
  if (stop_) return;
  if (count_ >= options_.max_waiters) {
    lock.unlock();
    return respond(Busy());
  }
  waiters_[vault].push_back(
      Waiter{after, NowMs(ClockOrReal(options_.clock)) + wait_ms, std::move(respond)});
  ++count_;
  OpenFeeds().Add(1);
}

void FeedService::Stream(const std::string& vault, const StoreVersion& after,
                         std::int64_t max_lifetime_ms, Responder respond) {
  const Result<std::optional<StoreVersion>> head = ReadHead(vault);
  if (!head.ok()) return respond(HubResponse::FromError(head.error()));
  const StoreVersion current = head->value_or("");
  auto stream = std::make_shared<SseStream>();
  stream->Push(std::string(kSseRetry));
  if (current != after) {
    stream->Push(
        SseHeadEvent(*head ? std::optional<std::string>(EncodeVersion(**head)) : std::nullopt));
  }
  const std::int64_t now = NowMs(ClockOrReal(options_.clock));
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    if (count_ >= options_.max_waiters) return respond(Busy());
    const std::int64_t lifetime =
        std::clamp<std::int64_t>(max_lifetime_ms, 0, options_.stream_lifetime_ms);
    streams_[vault].push_back(
        Subscriber{stream, current, now + options_.heartbeat_ms, now + lifetime});
    ++count_;
    OpenFeeds().Add(1);
  }
  HubResponse response;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.stream = std::move(stream);
  respond(std::move(response));
}

std::size_t FeedService::TendStreams(std::int64_t now_ms) {
  std::size_t removed = 0;
  for (auto it = streams_.begin(); it != streams_.end();) {
    std::vector<Subscriber> keep;
    for (Subscriber& subscriber : it->second) {
      if (subscriber.stream->cancelled() || subscriber.end_ms <= now_ms) {
        subscriber.stream->End();
        ++removed;
        continue;
      }
      if (subscriber.next_heartbeat_ms <= now_ms) {
        subscriber.next_heartbeat_ms = now_ms + options_.heartbeat_ms;
        if (!subscriber.stream->Push(std::string(kSseHeartbeat))) {
          ++removed;
          continue;
        }
      }
      keep.push_back(std::move(subscriber));
    }
    it->second = std::move(keep);
    it = it->second.empty() ? streams_.erase(it) : std::next(it);
  }
  return removed;
}

void FeedService::Notify(const std::string& vault) {
  {
    std::lock_guard lock(mu_);
    if (!waiters_.contains(vault) && !streams_.contains(vault)) return;
    notified_.push_back(vault);
  }
  cv_.notify_all();
}

void FeedService::Run() {
  std::int64_t next_poll = NowMs(ClockOrReal(options_.clock)) + options_.poll_interval_ms;
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100),
                 [this] { return stop_ || !notified_.empty(); });
    if (stop_) break;
    const bool poll_due = NowMs(ClockOrReal(options_.clock)) >= next_poll;
    if (poll_due) next_poll = NowMs(ClockOrReal(options_.clock)) + options_.poll_interval_ms;
    lock.unlock();
    Sweep(poll_due);
    lock.lock();
  }
}

void FeedService::Sweep(bool all_vaults_due) {
  std::vector<std::string> vaults;
  {
    std::lock_guard lock(mu_);
    if (all_vaults_due) {
      for (const auto& [vault, list] : waiters_) vaults.push_back(vault);
      for (const auto& [vault, list] : streams_) {
        if (!waiters_.contains(vault)) vaults.push_back(vault);
      }
    } else {
      vaults = notified_;
    }
    notified_.clear();
  }
  std::vector<std::pair<Responder, HubResponse>> answers;
  for (const std::string& vault : vaults) {
    const Result<std::optional<StoreVersion>> head = ReadHead(vault);
    if (!head.ok()) continue;  // the next poll looks again; the waits still end on time
    const StoreVersion current = head->value_or("");
    std::lock_guard lock(mu_);
    if (auto streams = streams_.find(vault); streams != streams_.end()) {
      for (Subscriber& subscriber : streams->second) {
        if (subscriber.last == current) continue;
        subscriber.last = current;
        subscriber.stream->Push(
            SseHeadEvent(*head ? std::optional<std::string>(EncodeVersion(**head)) : std::nullopt));
      }
    }
    auto it = waiters_.find(vault);
    if (it == waiters_.end()) continue;
    std::vector<Waiter> keep;
    for (Waiter& waiter : it->second) {
      if (waiter.after != current) {
        answers.emplace_back(std::move(waiter.respond), FeedReply(true, *head));
      } else {
        keep.push_back(std::move(waiter));
      }
    }
    it->second = std::move(keep);
  }
  // Waits that ran out answer "unchanged".
  const std::int64_t now = NowMs(ClockOrReal(options_.clock));
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      std::vector<Waiter> keep;
      for (Waiter& waiter : it->second) {
        if (waiter.deadline_ms <= now) {
          answers.emplace_back(
              std::move(waiter.respond),
              FeedReply(false, waiter.after.empty() ? std::optional<StoreVersion>()
                                                    : std::optional<StoreVersion>(waiter.after)));
        } else {
          keep.push_back(std::move(waiter));
        }
      }
      it->second = std::move(keep);
      it = it->second.empty() ? waiters_.erase(it) : std::next(it);
    }
    const std::size_t ended = answers.size() + TendStreams(now);
    count_ -= std::min(count_, ended);
    OpenFeeds().Add(-static_cast<std::int64_t>(ended));
  }
  for (auto& [respond, response] : answers) respond(std::move(response));
}

}  // namespace hx::hub
