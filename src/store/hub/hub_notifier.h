// The agent's RemoteNotifier for a hub target (hx://, hxs://): a thread
// long-polls the hub's change feed (hub/feed.h) and wakes the agent the
// moment another device's push moves the head, so a change arrives with no
// polling cost. The look itself (Check) is the polling notifier's: a
// conditional GET of head.json through the store, made when the feed said
// the head moved, and at the idle interval as a safety net (a feed that
// broke silently).
//
// Feed failures (the hub restarting, the network gone) back off from 1 s to
// 30 s between attempts; the safety-net look goes on meanwhile.
//
// Compiled into the agent library (it implements agent/remote_notifier.h);
// the feed client is the store's (store/hub/hub_store.h).
//
// Thread-safety: as RemoteNotifier. The feed thread may outlive the
// notifier by one long poll (it is detached and stops after it; it never
// calls the wake-up after the notifier is gone).
#pragma once

#include <memory>

#include "agent/remote_notifier.h"
#include "store/hub/hub_store.h"

namespace hx {

std::unique_ptr<RemoteNotifier> MakeHubRemoteNotifier(Store& store, std::unique_ptr<HubFeed> feed,
                                                      RemoteNotifierOptions options);

}  // namespace hx
