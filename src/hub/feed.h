// The change feed: long polls that answer as soon as a vault's head.json
// changes. A request waits with the head version it last saw (`after`);
// Wait answers at once if the current head differs, else parks the request
// (no thread: the Responder is kept) until the head moves or its wait
// (at most kMaxFeedWaitMs) ends, and then answers 200
//   {"changed": true|false, "head": "<hex version>" | null}
// ("head" null: the vault has no head yet).
//
// How the head's moves are seen: the store service calls Notify after every
// write of a vault's head.json through this hub (a push's notification goes
// out at once), and a ticker thread re-reads the head of every vault with
// waiters each poll_interval_ms (GetIfNoneMatch: one bodiless 304 on S3),
// which catches writes through other hubs over the same bucket.
//
// The same feed as server-sent events (Stream; GET .../feed/stream, hub/sse.h):
// one long reply per client with an event each time the head moves, a
// heartbeat comment every heartbeat_ms, ended after stream_lifetime_ms or
// when the token that opened it expires, whichever comes first (the client
// reconnects, EventSource by itself, with Last-Event-ID and a fresh token). For apps and
// browsers; the agent's notifier keeps the long poll (store/hub/hub_notifier.h:
// one request, one answer, no parser of a stream, and it works through every
// proxy that passes a plain request).
//
// Bounds: at most max_waiters parked requests and open streams together
// (more are answered 429, KC_SYNC_NETWORK_FAILED kThrottling, retryable);
// the gauge hx_hub_open_feeds counts both.
//
// Thread-safety: thread-safe. Stop (or the destructor) drops every parked
// request without answering it; call it before the server stops.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "hub/router.h"
#include "hub/sse.h"
#include "hub/vault_stores.h"
#include "store/store.h"

namespace hx::hub {

inline constexpr std::string_view kHubOpenFeeds = "hx_hub_open_feeds";

struct FeedOptions {
  std::int64_t poll_interval_ms = 1000;
  std::size_t max_waiters = 20'000;
  // SSE: a heartbeat comment this often, and the longest life of a stream.
  std::int64_t heartbeat_ms = 15'000;
  std::int64_t stream_lifetime_ms = 10 * 60 * 1000;
  // Times the waits (null: the real clock, os/real_clock.h); must outlive
  // the service.
  Clock* clock = nullptr;
};

class FeedService {
 public:
  FeedService(std::shared_ptr<VaultStores> stores, FeedOptions options);
  ~FeedService();
  FeedService(const FeedService&) = delete;
  FeedService& operator=(const FeedService&) = delete;

  // Answers (now or later) whether `vault`'s head differs from `after` ("":
  // none seen). Called on a worker thread; reads the head once.
  void Wait(const std::string& vault, const StoreVersion& after, std::int64_t wait_ms,
            Responder respond);
  // Answers with an SSE stream (hub/sse.h) of `vault`'s head moves after
  // `after` ("": none seen), ended after stream_lifetime_ms or
  // `max_lifetime_ms` if sooner (what is left of the client's token: a
  // stream never outlives the token that opened it). Called on a worker
  // thread; reads the head once.
  void Stream(const std::string& vault, const StoreVersion& after, std::int64_t max_lifetime_ms,
              Responder respond);
  // The head of `vault` was written through this hub.
  void Notify(const std::string& vault);
  void Stop();

 private:
  struct Waiter {
    StoreVersion after;
    std::int64_t deadline_ms;
    Responder respond;
  };
  // The head's version, or nullopt if absent; errors as the store's.
  struct Subscriber {
    std::shared_ptr<SseStream> stream;
    StoreVersion last;
    std::int64_t next_heartbeat_ms;
    std::int64_t end_ms;
  };
  Result<std::optional<StoreVersion>> ReadHead(const std::string& vault);
  // Streams' heartbeats, ends and dropped connections; under mu_. The count
  // removed.
  std::size_t TendStreams(std::int64_t now_ms);
  void Run();
  void Sweep(bool all_vaults_due);

  std::shared_ptr<VaultStores> stores_;
  const FeedOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::string> notified_;
  std::map<std::string, std::vector<Waiter>> waiters_;
  std::map<std::string, std::vector<Subscriber>> streams_;
  std::size_t count_ = 0;
  std::thread thread_;
};

}  // namespace hx::hub
