#include "hub/sse.h"

#include <utility>

namespace hx::hub {

bool SseStream::Push(std::string piece) {
  std::function<void(std::optional<std::string>)> deliver;
  {
    std::lock_guard lock(mu_);
    if (ended_) return false;
    if (waiting_) {
      deliver = std::move(waiting_);
      waiting_ = nullptr;
    } else if (queue_.size() >= kMaxSsePieces) {
      ended_ = true;  // the reader is that far behind: end, it reconnects
      return false;
    } else {
      queue_.push_back(std::move(piece));
      return true;
    }
  }
  deliver(std::move(piece));
  return true;
}

void SseStream::End() {
  std::function<void(std::optional<std::string>)> deliver;
  {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    if (!queue_.empty() || !waiting_) return;
    deliver = std::move(waiting_);
    waiting_ = nullptr;
  }
  deliver(std::nullopt);
}

bool SseStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void SseStream::Next(std::function<void(std::optional<std::string>)> deliver) {
  std::optional<std::string> piece;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    if (!queue_.empty()) {
      piece = std::move(queue_.front());
      queue_.pop_front();
    } else if (!ended_) {
      waiting_ = std::move(deliver);
      return;
    }
  }
  deliver(std::move(piece));
}

void SseStream::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  ended_ = true;
  queue_.clear();
  waiting_ = nullptr;
}

std::string SseHeadEvent(const std::optional<std::string>& hex_head) {
  if (!hex_head) return "id: \nevent: head\ndata: {\"head\":null}\n\n";
  return "id: " + *hex_head + "\nevent: head\ndata: {\"head\":\"" + *hex_head + "\"}\n\n";
}

}  // namespace hx::hub
