// Skeleton (the implementation lands next).
#include "agent/inotify_watcher.h"

#include "agent/polling_watcher.h"

namespace hx {

std::unique_ptr<Watcher> MakeInotifyWatcher(InotifyOptions options) {
  PollingOptions polling;
  polling.env = options.env;
  return MakePollingWatcher(polling);
}

}  // namespace hx
