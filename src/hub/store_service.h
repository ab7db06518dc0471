// The store protocol's server side (the routes: hub/protocol.h): every
// request under /v1/ is parsed and validated (ParseStoreRequest), its bearer
// token checked by the Authorizer for the vault it names (a reader may read
// and wait on the feed; writes need a writer), and only then turned into a
// call of that vault's own store (hub/vault_stores.h: the backing target
// narrowed to "<vault>"). A PUT is checked on its headers before its body
// (up to max_object_bytes) is read (router.h Admission), and again with it.
//
// Conditional writes are atomic in the hub itself: every write of a key
// (Put, PutIfAbsent, PutIfMatch, Delete) holds that key's lock (a fixed set
// of striped mutexes), around the backing store's own conditional write
// where it has one. So a backing store without compare-and-swap (a folder)
// is safe behind one hub; several hubs over one bucket rely on S3's
// conditional writes.
//
// Replies: 200 with the bytes (X-Hx-Version: the hex version where there is
// one), 304 for an unchanged GetIfNoneMatch, 404 for a missing object on
// HEAD, JSON {"version"} for conditional writes, and for every failure the
// Error as JSON (HubResponse::FromError) with its category's status.
//
// Thread-safety: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <mutex>

#include "hub/auth/authorizer.h"
#include "hub/feed.h"
#include "hub/protocol.h"
#include "hub/router.h"
#include "hub/vault_stores.h"
#include "store/store.h"

namespace hx::hub {

struct StoreServiceOptions {
  // The largest object the hub reads or writes (the server's body bound
  // should not be smaller).
  std::uint64_t max_object_bytes = std::uint64_t{128} << 20;
  FeedOptions feed;
  // Dates the tokens' checks (null: the real clock); must outlive the
  // service.
  Clock* clock = nullptr;
  // Observers (may be empty), called on the worker that served the request:
  // a write of a vault's head.json succeeded (vault, the writer's device id
  // or "", the new version hex-encoded); a device asked the feed with
  // after=<version> (vault, device id, the version hex-encoded): its
  // checkpoint (hub/activity.h, Checkpoints).
  std::function<void(const std::string& vault, const std::string& device_id,
                     const std::string& head)>
      on_head_written;
  std::function<void(const std::string& vault, const std::string& device_id,
                     const std::string& head)>
      on_feed_poll;
};

class StoreService {
 public:
  StoreService(std::shared_ptr<VaultStores> stores, std::shared_ptr<Authorizer> authorizer,
               StoreServiceOptions options);

  // Registers GET, HEAD, PUT and DELETE on "/v1/".
  void Register(Router& router);
  // Ends the feed's waiting requests (before the server stops).
  void Stop() { feed_.Stop(); }

  // One request (what the routes call), for tests.
  void Serve(HubRequest request, Responder respond);

 private:
  // Who `request` acts as, or the response that refuses it: a token for
  // the vault `parsed` names, of a writer for a write.
  std::optional<HubResponse> Admit(const HubRequest& request, const StoreRequest& parsed,
                                   Principal& principal);
  HubResponse Execute(Store& store, const StoreRequest& request, const HubRequest& http,
                      const Principal& principal);
  std::mutex& LockFor(const std::string& key);

  std::shared_ptr<VaultStores> stores_;
  std::shared_ptr<Authorizer> authorizer_;
  const StoreServiceOptions options_;
  FeedService feed_;
  std::array<std::mutex, 256> key_locks_;
};

}  // namespace hx::hub
