// The store protocol of the hub, the one place where a request's path and
// query become a typed StoreRequest (and the hub client builds the same
// paths). Pure and bounded, so it is fuzzed (hub_request_fuzz.cc) and safe
// on hostile input. Every route is under /v1/<vault>/ (the router strips
// "/v1/"; `rest` is what follows):
//
//   GET    <vault>/o/<key>?max=N             Get: 200, body, X-Hx-Version
//   GET    <vault>/o/<key>?offset=O&length=L GetRange: 200, body
//   GET    <vault>/o/<key>?max=N&if-none-match=V
//                                            GetIfNoneMatch: 304 unchanged
//   GET    <vault>/o/<key>?max=N&versioned=1 GetVersioned
//   HEAD   <vault>/o/<key>                   Exists: 200 or 404
//   PUT    <vault>/o/<key>                   Put (body: the bytes): 200
//   PUT    <vault>/o/<key>?if-absent=1       PutIfAbsent: 200 {"version"}
//   PUT    <vault>/o/<key>?if-match=V        PutIfMatch: 200 {"version"}
//   DELETE <vault>/o/<key>                   Delete: 200
//   GET    <vault>/list?prefix=P             List: 200 {"objects":[{key,size}]}
//   GET    <vault>/feed?after=V&wait_ms=W    the change feed (feed.h)
//   GET    <vault>/feed/stream?after=V       the feed as server-sent events
//                                            (after: else Last-Event-ID)
//
// Versions (V, X-Hx-Version, "version") are the backing store's version
// tags hex-encoded (an S3 ETag holds quotes), at most kMaxVersionBytes
// before encoding. A vault name is 1 to 63 of [a-z0-9-], starting with a
// letter or digit, so it can never name the hub's own state "_hub"; a key is
// a valid store key (store.h), kept in the vault's own store
// (hub/vault_stores.h). Anything else is KC_SYNC_INPUT_INVALID
// (Category::kInvalidInput) saying what is wrong.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "hub/router.h"
#include "store/store.h"

namespace hx::hub {

inline constexpr std::size_t kMaxVaultNameBytes = 63;
inline constexpr std::size_t kMaxVersionBytes = 256;
// The longest wait of one feed request.
inline constexpr std::int64_t kMaxFeedWaitMs = 25'000;

enum class StoreOp {
  kGet,
  kGetRange,
  kGetVersioned,
  kGetIfNoneMatch,
  kExists,
  kPut,
  kPutIfAbsent,
  kPutIfMatch,
  kDelete,
  kList,
  kFeed,
  kFeedStream,
};

struct StoreRequest {
  StoreOp op = StoreOp::kGet;
  std::string vault;
  // The key (object routes) or the prefix (kList), relative to the vault.
  std::string key;
  std::uint64_t max_size = 0;
  ByteRange range;
  // The decoded version of if-none-match, if-match or after ("" for a feed
  // that has seen no head yet).
  StoreVersion version;
  std::int64_t wait_ms = kMaxFeedWaitMs;

  // True for the operations that change the store (they need a writer).
  bool writes() const;
  // "<vault>/<key>": the key's name across the hub (its write lock, logs);
  // in the backing store it is the same path under the vault's root.
  std::string BackingKey() const;
};

// Parses a request whose path started with "/v1/"; `request.rest` holds the
// path after it. `max_object_bytes` caps max and length.
Result<StoreRequest> ParseStoreRequest(const HubRequest& request, std::uint64_t max_object_bytes);

Status ValidateVaultName(std::string_view vault);

std::string EncodeVersion(std::string_view version);
Result<StoreVersion> DecodeVersion(std::string_view hex);

}  // namespace hx::hub
