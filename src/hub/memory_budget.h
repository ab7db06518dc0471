// A hub-wide budget of bytes, so that what hostile or merely many clients
// make the hub hold in memory at once is bounded: the server charges the
// request bodies it reads and holds (hub/server.h), the envelope routes
// charge what parsing an envelope costs (hub/envelope_routes.h). A request
// that would go over the budget is refused at once (never queued) with
// BudgetExhausted: 503, KC_SYNC_NETWORK_FAILED, Category::kThrottling
// (retryable: the hub client's retry policy waits and tries again).
//
//   MemoryBudget budget(512 << 20);
//   std::optional<MemoryBudget::Lease> lease = budget.TryAcquire(body_size);
//   if (!lease) return BudgetExhausted(...);  // 503
//   ... lease->TryGrow(more) ...              // false: refuse likewise
//   // the bytes return to the budget when the lease dies
//
// A lease that is the only one held always gets its bytes, however many: a
// request larger than the whole budget is served alone rather than never
// (its own bounds, such as the body limit, cap it).
//
// Thread-safety: thread-safe; a Lease is a value owned by one thread at a
// time and may outlive the MemoryBudget that made it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace hx::hub {

class MemoryBudget {
  struct State {
    std::mutex mu;
    std::uint64_t limit = 0;
    std::uint64_t in_use = 0;
    std::uint64_t leases = 0;
  };

 public:
  explicit MemoryBudget(std::uint64_t limit_bytes);

  // Holds bytes of the budget until it is destroyed (or Release).
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    // Adds `bytes` to the lease if the budget has them (or this lease is
    // the only one held); false, and nothing changes, otherwise.
    bool TryGrow(std::uint64_t bytes);
    // Grows the lease to `total` bytes if it holds fewer (TryGrow).
    bool TryGrowTo(std::uint64_t total);
    std::uint64_t bytes() const { return bytes_; }
    void Release();

   private:
    friend class MemoryBudget;
    Lease(std::shared_ptr<State> state, std::uint64_t bytes)
        : state_(std::move(state)), bytes_(bytes) {}
    std::shared_ptr<State> state_;
    std::uint64_t bytes_ = 0;
  };

  // A lease of `bytes`, or nullopt when they would take the budget over its
  // limit while other leases are held.
  std::optional<Lease> TryAcquire(std::uint64_t bytes);

  std::uint64_t limit() const;
  std::uint64_t in_use() const;

 private:
  std::shared_ptr<State> state_;
};

// The refusal of a request that does not fit the budget: 503 with
// KC_SYNC_NETWORK_FAILED, Category::kThrottling (retryable), a message
// naming `what` ("request bodies", "envelope work") and the limit, and
// details {budget_bytes, http_status: "503"}.
Error BudgetExhausted(std::string_view what, std::uint64_t limit_bytes);

}  // namespace hx::hub
