// Device manifests: one per device, written only by that device, read by
// every other one. A manifest says which snapshots the device published, the
// last head it saw, and what it is (platform, hx version, capabilities), so
// a device learns about its peers without listing the whole store.
//
// manifests/<node_id>.hxman holds the sealed canonical JSON
//   {"device":{"capabilities":["..."],"hx_version":"...","last_seen_ms":T,
//              "platform":"..."},
//    "format_version":1,"last_seen_head_seq":S,"manifest_seq":M,
//    "node_id":"<32 hex>","snapshots":["<snapshot id>",...],
//    "vault_id":"<32 hex>"}
// sealed (crypto/aead.h) under keys.manifest with a synthetic nonce under
// keys.nonce and associated data
// EncodeAssociatedData({"hx manifest v1", vault_id, node_id}), so a manifest
// copied under another device's name, or from another vault, does not open.
// manifest_seq starts at 1 and strictly increases with every write, so a
// reader can tell a newer manifest from an older one. "snapshots" lists the
// device's published snapshot ids in publication order. capabilities,
// hx_version and platform are short printable ASCII (see DeviceInfo).
//
// Thread-safety: pure functions and values; the store calls are as
// thread-safe as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

// A manifest grows by one snapshot id (~67 bytes) per push: 16 MiB holds
// about 250,000 pushes.
inline constexpr std::uint64_t kMaxManifestBytes = std::uint64_t{16} << 20;
// Limits of the free-text device fields, which are printable ASCII
// (0x20..0x7e): each string at most 128 bytes, at most 64 capabilities.
inline constexpr std::size_t kMaxDeviceFieldLength = 128;
inline constexpr std::size_t kMaxDeviceCapabilities = 64;

struct DeviceInfo {
  std::vector<std::string> capabilities;  // e.g. "s3", "keep_both"; sorted, unique
  std::string hx_version;                 // e.g. "0.1.0"
  std::int64_t last_seen_ms = 0;          // >= 0
  std::string platform;                   // e.g. "linux-x86_64"
  friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

struct DeviceManifest {
  std::string vault_id;   // 32 lowercase hex
  std::string node_id;    // 32 lowercase hex
  std::uint64_t manifest_seq = 0;        // >= 1
  std::uint64_t last_seen_head_seq = 0;  // 0: never saw a head
  std::vector<std::string> snapshots;    // 64 hex each, in publication order, unique
  DeviceInfo device;
  friend bool operator==(const DeviceManifest&, const DeviceManifest&) = default;
};

// "manifests/<node_id>.hxman".
std::string ManifestKey(std::string_view node_id);

// The sealed bytes of `manifest`. Deterministic. KC_SYNC_INTERNAL for a
// manifest hx would refuse to read (see DecodeManifest) or of another vault
// than ctx.
Result<Bytes> EncodeManifest(const VaultContext& ctx, const DeviceManifest& manifest);

// Strictly decodes the untrusted bytes of ManifestKey(node_id). Failures,
// all KC_SYNC_STATE_FAILED:
//   - Category::kCorrupt: larger than kMaxManifestBytes; does not
//     authenticate as `node_id`'s manifest of this vault (tampered, copied
//     from another device's name or another vault); not canonical JSON;
//     missing, extra or malformed fields; ids that disagree with the name;
//   - Category::kUnsupported: format_version above 1 ("made by a newer hx").
// Precondition: node_id is 32 lowercase hex (else KC_SYNC_INTERNAL).
Result<DeviceManifest> DecodeManifest(const VaultContext& ctx, std::string_view node_id,
                                      std::span<const std::uint8_t> bytes);

// Reads `node_id`'s manifest: nullopt if the device never wrote one; store
// errors pass through; decoding errors carry detail "key".
Result<std::optional<DeviceManifest>> ReadManifest(Store& store, const VaultContext& ctx,
                                                   std::string_view node_id);

// A device's manifest as read before this device replaces it: what it says
// (none if absent or damaged) and which object a write must replace.
struct StoredManifest {
  std::optional<DeviceManifest> manifest;
  std::optional<StoreVersion> version;  // none: absent, or too large to read
  bool damaged = false;                 // present but does not decode (kCorrupt)
};

// Reads `node_id`'s manifest with its store version, in one request. A
// manifest that does not decode as corrupt is reported `damaged` (not an
// error: this device's own manifest is repaired by its next write); store
// errors and other decoding errors (one made by a newer hx) are returned,
// the latter with detail "key".
Result<StoredManifest> ReadManifestForUpdate(Store& store, const VaultContext& ctx,
                                             std::string_view node_id);

// Writes this device's manifest over `previous` (what ReadManifestForUpdate
// returned, or what an earlier WriteManifest returned): `manifest.manifest_seq`
// must be greater than its manifest_seq (KC_SYNC_INTERNAL otherwise: a device
// never goes back). Replaces it with PutIfMatch (creates with PutIfAbsent),
// so a stored manifest other than `previous` (a concurrent writer, which only
// a bug could cause, or a `previous` remembered from an earlier write that is
// no longer what the store holds) is Category::kAborted (or kNotFound, if it
// is gone). A damaged manifest is replaced: only this device writes it, so
// this is the repair. Returns what is now stored: `manifest` with its new
// version (none after the plain replace of a damaged one).
Result<StoredManifest> WriteManifest(Store& store, const VaultContext& ctx,
                                     const DeviceManifest& manifest,
                                     const StoredManifest& previous);

// The same, reading `previous` first.
Result<StoredManifest> WriteManifest(Store& store, const VaultContext& ctx,
                                     const DeviceManifest& manifest);

// The node ids that have a manifest (keys "manifests/<32 hex>.hxman"),
// sorted. Other keys under manifests/ (none that hx writes) are ignored.
Result<std::vector<std::string>> ListManifests(Store& store);

}  // namespace hx
