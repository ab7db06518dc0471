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
  // The notifier's Hint, cleared (under `mu`) when the notifier goes.
  std::function<void()> hint;
  std::atomic<std::uint64_t> requests{0};

  void Hint() {
    std::lock_guard lock(mu);
    if (!stopped && hint) hint();
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

// The poll on the safety-net schedule (the feed tells of every push, so
// NoteActivity has nothing to speed up), hinted by the feed thread.
class HubRemoteNotifier final : public PollingRemoteNotifier {
 public:
  HubRemoteNotifier(Store& store, std::unique_ptr<HubFeed> feed, RemoteNotifierOptions options)
      : PollingRemoteNotifier(store, SafetyNet(options), "hub_feed"),
        feed_(std::move(feed)),
        state_(std::make_shared<FeedState>()) {}

  ~HubRemoteNotifier() override {
    {
      std::lock_guard lock(state_->mu);
      state_->stopped = true;
      state_->hint = nullptr;
    }
    state_->cv.notify_all();
  }

  void SetWakeup(std::function<void()> wake) override {
    {
      // Under the feed's lock: its thread may be calling Hint, which calls
      // the wake-up.
      std::lock_guard lock(state_->mu);
      PollingRemoteNotifier::SetWakeup(std::move(wake));
      state_->hint = [this] { Hint(); };
    }
    if (!started_ && feed_) {
      started_ = true;
      std::thread(FeedLoop, state_, std::shared_ptr<HubFeed>(std::move(feed_))).detach();
    }
  }

  std::uint64_t RequestsTotal() const override {
    return PollingRemoteNotifier::RequestsTotal() + state_->requests.load();
  }

 private:
  std::unique_ptr<HubFeed> feed_;
  std::shared_ptr<FeedState> state_;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<RemoteNotifier> MakeHubRemoteNotifier(Store& store, std::unique_ptr<HubFeed> feed,
                                                      RemoteNotifierOptions options) {
  return std::make_unique<HubRemoteNotifier>(store, std::move(feed), options);
}

}  // namespace hx
