// One server-sent-events reply (text/event-stream) of the change feed
// (hub/feed.h, GET /v1/<vault>/feed/stream): a queue of pieces the feed
// pushes (events, heartbeat comments) and the server pulls (router.h,
// ResponseStream) as fast as the connection takes them.
//
// Pieces (https://html.spec.whatwg.org/multipage/server-sent-events.html):
//   retry: 3000                      once, first: how long a browser waits
//                                    before it reconnects
//   id: <hex head>\nevent: head\ndata: {"head":"<hex head>"|null}
//                                    each time the vault's head moves (and
//                                    once at the start if it differs from
//                                    `after`); id lets a reconnecting
//                                    EventSource resume (Last-Event-ID)
//   : heartbeat                      a comment every heartbeat_ms, so idle
//                                    proxies keep the connection and a
//                                    dead peer is noticed
//
// Bounds: at most kMaxSsePieces queued (a reader that does not read is
// ended, not buffered without end).
//
// Thread-safety: thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "hub/router.h"

namespace hx::hub {

inline constexpr std::size_t kMaxSsePieces = 64;

class SseStream final : public ResponseStream {
 public:
  // Queues `piece` (or hands it to a waiting Next). False if the stream has
  // ended (cancelled by the server, or too far behind: then it ends).
  bool Push(std::string piece);
  // No more pieces: the server closes the connection after the queued ones.
  void End();
  // True once the connection went away (the feed drops it).
  bool cancelled() const;

  void Next(std::function<void(std::optional<std::string>)> deliver) override;
  void Cancel() override;

 private:
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  std::function<void(std::optional<std::string>)> waiting_;
  bool ended_ = false;
  bool cancelled_ = false;
};

// The SSE event of a head (nullopt: the vault has none yet), hex-encoded.
std::string SseHeadEvent(const std::optional<std::string>& hex_head);
inline constexpr std::string_view kSseHeartbeat = ": heartbeat\n\n";
inline constexpr std::string_view kSseRetry = "retry: 3000\n\n";

}  // namespace hx::hub
