#include "sync/apply_sync.h"

#include <algorithm>

namespace hx {

StagedSyncer::StagedSyncer(Env& env, int threads) : env_(env), max_threads_(std::max(1, threads)) {}

StagedSyncer::~StagedSyncer() {
  (void)Wait();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void StagedSyncer::SyncBatch(Batch& batch) {
  std::vector<std::pair<std::uint64_t, int>> failed;
  for (Item& item : batch) {
    int err = item.full ? env_.Fsync(item.fd.get()) : env_.Fdatasync(item.fd.get());
    if (const int closed = item.fd.reset(); err == 0) err = closed;
    if (err != 0) failed.emplace_back(item.tag, err);
  }
  if (failed.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [tag, err] : failed) failed_.emplace(tag, err);
}

void StagedSyncer::Work() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    SyncBatch(batch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
    }
    done_cv_.notify_all();
  }
}

void StagedSyncer::Add(std::uint64_t tag, Fd fd, bool full) {
  current_.push_back(Item{tag, std::move(fd), full});
  if (current_.size() < kBatch) return;
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return in_flight_ < kMaxQueued; });
    queue_.push_back(std::move(current_));
    ++in_flight_;
  }
  current_ = Batch();
  if (threads_.size() < static_cast<std::size_t>(max_threads_)) {
    threads_.emplace_back([this] { Work(); });
  }
  cv_.notify_one();
}

std::map<std::uint64_t, int> StagedSyncer::Wait() {
  // What is left is synced here, on the caller's thread, while the workers
  // finish theirs.
  SyncBatch(current_);
  current_.clear();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return in_flight_ == 0; });
  return std::exchange(failed_, {});
}

}  // namespace hx
