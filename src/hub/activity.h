// What the hub itself saw lately, for its status page (hub/admin_routes.h):
// a small ring of recent pushes per vault (head.json writes observed by the
// store service: when, which version, which device's token) and one ring of
// recent error replies (4xx/5xx with their KC_SYNC_* code), plus the
// change-feed checkpoints' write throttle (Checkpoints).
//
// All of it is in memory and this hub's own: another hub over the same store
// keeps its own rings, and a restart empties them (the devices' last seen
// and last acknowledged head are in the store, hub_auth.h). Nothing here
// holds a vault's content: a head's version is the store's version tag, the
// snapshot it names stays sealed.
//
// Bounds: kMaxPushesPerVault per vault, kMaxActivityVaults vaults (the
// least recently pushed is dropped), kMaxRecentErrors errors; every string
// is cut to kMaxActivityText bytes.
//
// Thread-safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hx::hub {

inline constexpr std::size_t kMaxPushesPerVault = 20;
inline constexpr std::size_t kMaxActivityVaults = 1000;
inline constexpr std::size_t kMaxRecentErrors = 50;
inline constexpr std::size_t kMaxActivityText = 200;

struct PushEvent {
  std::int64_t at_ms = 0;
  std::string head;       // hex version (protocol.h EncodeVersion)
  std::string device_id;  // the writer's token; "" without auth
};

struct ErrorEvent {
  std::int64_t at_ms = 0;
  std::string method;
  std::string route;  // the router's prefix ("/v1/"), not the full path
  std::string vault;  // "" if none could be read from the path
  int status = 0;
  std::string code;   // KC_SYNC_* from the reply's body, or ""
};

class HubActivity {
 public:
  void RecordPush(std::string_view vault, PushEvent event);
  void RecordError(ErrorEvent event);
  // Newest first.
  std::vector<PushEvent> Pushes(std::string_view vault) const;
  std::vector<ErrorEvent> Errors() const;

 private:
  mutable std::mutex mu_;
  std::uint64_t tick_ = 0;
  struct VaultRing {
    std::deque<PushEvent> pushes;
    std::uint64_t last_tick = 0;
  };
  std::map<std::string, VaultRing, std::less<>> pushes_;
  std::deque<ErrorEvent> errors_;
};

// The vault a request path names ("/v1/<vault>/..." or
// "/v1/_auth/<vault>/..."), if it is a valid vault name; else "".
std::string VaultOfPath(std::string_view path);

// The KC_SYNC_* code of an error reply's JSON body ({"error":{"code":...}}),
// or "" (bounded scan, never throws).
std::string ErrorCodeOfBody(std::string_view body);

// The change feed's checkpoints: a device polling with after=<head> has
// acknowledged that head. Observe queues a call of `sink`
// (HubAuth::AcknowledgeHead, a store write) only when the device's head
// differs from the one last written, or when its last write is older than
// refresh_ms (so "last seen" moves on an idle vault): not a store write per
// poll. The writes run on a thread of their own, one at a time, so a burst
// of polls after a push (every device re-polls with the new head) never
// holds the hub's workers; queued writes of one device coalesce to the
// newest. Remembers at most kMaxCheckpointDevices devices (then starts over:
// a few extra writes) and queues at most as many (more are dropped: a
// checkpoint is best effort). The destructor writes what is queued, then
// joins the thread.
inline constexpr std::size_t kMaxCheckpointDevices = 100'000;

class Checkpoints {
 public:
  using Sink = std::function<void(const std::string& vault, const std::string& device_id,
                                  const std::string& head, std::int64_t now_ms)>;
  Checkpoints(Sink sink, std::int64_t refresh_ms);
  ~Checkpoints();
  Checkpoints(const Checkpoints&) = delete;
  Checkpoints& operator=(const Checkpoints&) = delete;

  // True if it queued a write.
  bool Observe(const std::string& vault, const std::string& device_id, const std::string& head,
               std::int64_t now_ms);
  // Waits until every queued write is done (tests).
  void Flush();

 private:
  struct Last {
    std::string head;
    std::int64_t written_ms = 0;
  };
  struct Pending {
    std::string vault;
    std::string device_id;
    std::string head;
    std::int64_t now_ms = 0;
  };
  void Run();

  const Sink sink_;
  const std::int64_t refresh_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Last, std::less<>> last_;
  std::map<std::string, Pending, std::less<>> pending_;
  bool writing_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace hx::hub
