#include "hub/memory_budget.h"

#include <algorithm>
#include <string>
#include <utility>

namespace hx::hub {

MemoryBudget::MemoryBudget(std::uint64_t limit_bytes) : state_(std::make_shared<State>()) {
  state_->limit = limit_bytes;
}

std::optional<MemoryBudget::Lease> MemoryBudget::TryAcquire(std::uint64_t bytes) {
  std::lock_guard lock(state_->mu);
  if (state_->leases > 0 && bytes > state_->limit - std::min(state_->limit, state_->in_use)) {
    return std::nullopt;
  }
  state_->in_use += bytes;
  ++state_->leases;
  return Lease(state_, bytes);
}

std::uint64_t MemoryBudget::limit() const {
  std::lock_guard lock(state_->mu);
  return state_->limit;
}

std::uint64_t MemoryBudget::in_use() const {
  std::lock_guard lock(state_->mu);
  return state_->in_use;
}

MemoryBudget::Lease::Lease(Lease&& other) noexcept
    : state_(std::move(other.state_)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryBudget::Lease& MemoryBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    state_ = std::move(other.state_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

MemoryBudget::Lease::~Lease() { Release(); }

void MemoryBudget::Lease::Release() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    state_->in_use -= bytes_;
    --state_->leases;
  }
  state_.reset();
  bytes_ = 0;
}

bool MemoryBudget::Lease::TryGrow(std::uint64_t bytes) {
  if (!state_) return false;
  std::lock_guard lock(state_->mu);
  const bool alone = state_->leases == 1;
  if (!alone && bytes > state_->limit - std::min(state_->limit, state_->in_use)) return false;
  state_->in_use += bytes;
  bytes_ += bytes;
  return true;
}

bool MemoryBudget::Lease::TryGrowTo(std::uint64_t total) {
  return total <= bytes_ || TryGrow(total - bytes_);
}

Error BudgetExhausted(std::string_view what, std::uint64_t limit_bytes) {
  return Error(SyncCode::kNetworkFailed, Category::kThrottling,
               "the hub is holding as much " + std::string(what) + " as it may at once (" +
                   std::to_string(limit_bytes >> 20) +
                   " MiB across all clients); retry in a few seconds")
      .With("budget_bytes", std::to_string(limit_bytes))
      .With("http_status", "503");
}

}  // namespace hx::hub
