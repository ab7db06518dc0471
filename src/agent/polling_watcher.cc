// Skeleton (the implementation lands next).
#include "agent/polling_watcher.h"

namespace hx {
namespace {

class PollingWatcher final : public Watcher {
 public:
  explicit PollingWatcher(PollingOptions options) : options_(options) {}
  Status Start(const std::filesystem::path&, const IgnoreRules&) override {
    return Error(SyncCode::kStateFailed, Category::kUnsupported, "the watcher is not built yet");
  }
  Result<std::vector<WatchEvent>> Poll(int) override { return std::vector<WatchEvent>{}; }
  void SetRules(const IgnoreRules&) override {}
  void Wake() override {}
  WatcherMode mode() const override { return WatcherMode::kPolling; }
  void InjectOverflow(std::string) override {}

 private:
  PollingOptions options_;
};

}  // namespace

std::unique_ptr<Watcher> MakePollingWatcher(PollingOptions options) {
  return std::make_unique<PollingWatcher>(options);
}

}  // namespace hx
