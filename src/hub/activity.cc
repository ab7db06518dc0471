#include "hub/activity.h"

#include <algorithm>
#include <utility>

#include "hub/protocol.h"

namespace hx::hub {
namespace {

std::string Cut(std::string text) {
  if (text.size() > kMaxActivityText) text.resize(kMaxActivityText);
  return text;
}

}  // namespace

void HubActivity::RecordPush(std::string_view vault, PushEvent event) {
  event.head = Cut(std::move(event.head));
  event.device_id = Cut(std::move(event.device_id));
  std::lock_guard lock(mu_);
  auto it = pushes_.find(vault);
  if (it == pushes_.end()) {
    if (pushes_.size() >= kMaxActivityVaults) {
      pushes_.erase(std::min_element(pushes_.begin(), pushes_.end(), [](const auto& a,
                                                                        const auto& b) {
        return a.second.last_tick < b.second.last_tick;
      }));
    }
    it = pushes_.emplace(Cut(std::string(vault)), VaultRing{}).first;
  }
  it->second.last_tick = ++tick_;
  it->second.pushes.push_front(std::move(event));
  if (it->second.pushes.size() > kMaxPushesPerVault) it->second.pushes.pop_back();
}

void HubActivity::RecordError(ErrorEvent event) {
  event.method = Cut(std::move(event.method));
  event.route = Cut(std::move(event.route));
  event.vault = Cut(std::move(event.vault));
  event.code = Cut(std::move(event.code));
  std::lock_guard lock(mu_);
  errors_.push_front(std::move(event));
  if (errors_.size() > kMaxRecentErrors) errors_.pop_back();
}

std::vector<PushEvent> HubActivity::Pushes(std::string_view vault) const {
  std::lock_guard lock(mu_);
  const auto it = pushes_.find(vault);
  if (it == pushes_.end()) return {};
  return {it->second.pushes.begin(), it->second.pushes.end()};
}

std::vector<ErrorEvent> HubActivity::Errors() const {
  std::lock_guard lock(mu_);
  return {errors_.begin(), errors_.end()};
}

std::string VaultOfPath(std::string_view path) {
  if (!path.starts_with("/v1/")) return "";
  path.remove_prefix(4);
  if (path.starts_with("_auth/")) path.remove_prefix(6);
  const std::string_view vault = path.substr(0, path.find('/'));
  return ValidateVaultName(vault).ok() ? std::string(vault) : "";
}

std::string ErrorCodeOfBody(std::string_view body) {
  constexpr std::string_view kKey = "\"code\":\"";
  const std::size_t at = body.substr(0, 4096).find(kKey);
  if (at == std::string_view::npos) return "";
  const std::string_view rest = body.substr(at + kKey.size());
  std::size_t n = 0;
  while (n < rest.size() && n < 64 &&
         ((rest[n] >= 'A' && rest[n] <= 'Z') || (rest[n] >= '0' && rest[n] <= '9') ||
          rest[n] == '_')) {
    ++n;
  }
  if (n == rest.size() || rest[n] != '"') return "";
  return std::string(rest.substr(0, n));
}

Checkpoints::Checkpoints(Sink sink, std::int64_t refresh_ms)
    : sink_(std::move(sink)), refresh_ms_(refresh_ms), thread_([this] { Run(); }) {}

Checkpoints::~Checkpoints() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Checkpoints::Observe(const std::string& vault, const std::string& device_id,
                          const std::string& head, std::int64_t now_ms) {
  if (device_id.empty()) return false;
  const std::string key = vault + "/" + device_id;
  {
    std::lock_guard lock(mu_);
    const auto it = last_.find(key);
    if (it != last_.end() && it->second.head == head &&
        now_ms - it->second.written_ms < refresh_ms_) {
      return false;
    }
    if (it == last_.end() && last_.size() >= kMaxCheckpointDevices) last_.clear();
    if (!pending_.contains(key) && pending_.size() >= kMaxCheckpointDevices) return false;
    last_[key] = Last{head, now_ms};
    pending_[key] = Pending{vault, device_id, head, now_ms};
  }
  cv_.notify_all();
  return true;
}

void Checkpoints::Flush() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return pending_.empty() && !writing_; });
}

void Checkpoints::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopped, and nothing left to write
    Pending next = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    writing_ = true;
    lock.unlock();
    sink_(next.vault, next.device_id, next.head, next.now_ms);
    lock.lock();
    writing_ = false;
    cv_.notify_all();
  }
}

}  // namespace hx::hub
