#include "store/hub/hub_notifier.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>


namespace hx {
namespace {

constexpr std::int64_t kFeedWaitMs = 25'000;

// What the feed thread shares with the notifier; it outlives both.
struct FeedState {
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::function<void()> wake;
  std::atomic<bool> hinted{false};
  std::atomic<std::uint64_t> requests{0};

  void Hint() {
    hinted.store(true);
    std::lock_guard lock(mu);
    if (!stopped && wake) wake();
  }
  // Sleeps `ms` unless stopped first; false when stopped.
  bool SleepFor(std::int64_t ms) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopped; });
  }
  bool Stopped() {
    std::lock_guard lock(mu);
    return stopped;
  }
};

void FeedLoop(std::shared_ptr<FeedState> state, std::shared_ptr<HubFeed> feed) {
  std::optional<StoreVersion> after;
  std::int64_t backoff_ms = 1000;
  while (!state->Stopped()) {
    state->requests.fetch_add(1);
    Result<HubFeedAnswer> answer = feed->Wait(after, kFeedWaitMs);
    if (!answer.ok()) {
      if (!state->SleepFor(backoff_ms)) return;
      backoff_ms = std::min<std::int64_t>(30'000, backoff_ms * 2);
      continue;
    }
    backoff_ms = 1000;
    if (answer->changed) {
      after = answer->head;
      state->Hint();
    }
  }
}

class HubRemoteNotifier final : public RemoteNotifier {
 public:
  HubRemoteNotifier(Store& store, std::unique_ptr<HubFeed> feed, RemoteNotifierOptions options)
      : store_(store),
        feed_(std::move(feed)),
        options_(options),
        state_(std::make_shared<FeedState>()) {}

  ~HubRemoteNotifier() override {
    {
      std::lock_guard lock(state_->mu);
      state_->stopped = true;
      state_->wake = nullptr;
    }
    state_->cv.notify_all();
  }

  Result<bool> Check(std::int64_t now_ms) override {
    const bool hinted = state_->hinted.exchange(false);
    if (!hinted && now_ms < next_due_ms_) return false;
    next_due_ms_ = now_ms + options_.idle_interval_ms;
    return look_.Look(store_, now_ms);
  }

  std::int64_t NextCheckInMs(std::int64_t now_ms) const override {
    if (state_->hinted.load()) return 0;
    return std::max<std::int64_t>(0, next_due_ms_ - now_ms);
  }

  // The feed reports every push; nothing to speed up.
  void NoteActivity(std::int64_t /*now_ms*/) override {}

  void SetWakeup(std::function<void()> wake) override {
    {
      std::lock_guard lock(state_->mu);
      state_->wake = std::move(wake);
    }
    if (!started_ && feed_) {
      started_ = true;
      std::thread(FeedLoop, state_, std::shared_ptr<HubFeed>(std::move(feed_))).detach();
    }
  }

  std::string_view mode() const override { return "hub_feed"; }

  std::uint64_t RequestsLastHour(std::int64_t now_ms) override {
    return look_.RequestsLastHour(now_ms);
  }
  std::int64_t interval_ms() const override { return options_.idle_interval_ms; }
  std::uint64_t RequestsTotal() const override {
    return look_.RequestsTotal() + state_->requests.load();
  }

 private:
  Store& store_;
  std::unique_ptr<HubFeed> feed_;
  const RemoteNotifierOptions options_;
  std::shared_ptr<FeedState> state_;
  bool started_ = false;
  HeadLook look_;
  std::int64_t next_due_ms_ = 0;
};

}  // namespace

std::unique_ptr<RemoteNotifier> MakeHubRemoteNotifier(Store& store, std::unique_ptr<HubFeed> feed,
                                                      RemoteNotifierOptions options) {
  return std::make_unique<HubRemoteNotifier>(store, std::move(feed), options);
}

}  // namespace hx
