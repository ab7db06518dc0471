#include "meta/manifest.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "crypto/aead.h"
#include "json/json_fields.h"
#include "meta/records.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kAdLabel = "hx manifest v1";
constexpr std::string_view kPrefix = "manifests/";
constexpr std::string_view kSuffix = ".hxman";
// Every snapshot id costs at least 67 bytes of JSON, which bounds the list
// by the size limit already; this only keeps the set cheap.
constexpr std::size_t kMaxSnapshots = kMaxManifestBytes / 67;

std::vector<std::uint8_t> ManifestAd(std::string_view vault_id, std::string_view node_id) {
  return EncodeAssociatedData({kAdLabel, vault_id, node_id});
}

bool IsDeviceText(std::string_view text) {
  if (text.size() > kMaxDeviceFieldLength) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::optional<std::string> ManifestProblem(const DeviceManifest& manifest) {
  if (!IsLowerHex(manifest.vault_id, kShortIdHexLength)) return "vault_id is not 32 lowercase hex";
  if (!IsLowerHex(manifest.node_id, kShortIdHexLength)) return "node_id is not 32 lowercase hex";
  if (manifest.manifest_seq == 0 || manifest.manifest_seq > kMaxJsonInt) {
    return "manifest_seq is not in [1, 2^63-1]";
  }
  if (manifest.last_seen_head_seq > kMaxJsonInt) return "last_seen_head_seq is above 2^63-1";
  std::set<std::string_view> seen;
  for (const std::string& id : manifest.snapshots) {
    if (!IsLowerHex(id, kLongIdHexLength)) return "a snapshot id is not 64 lowercase hex";
    if (!seen.insert(id).second) return "snapshot " + id + " is listed twice";
  }
  const DeviceInfo& device = manifest.device;
  if (device.last_seen_ms < 0) return "device.last_seen_ms is negative";
  if (!IsDeviceText(device.hx_version) || !IsDeviceText(device.platform)) {
    return "device.hx_version or device.platform is not printable ASCII of at most 128 bytes";
  }
  if (device.capabilities.size() > kMaxDeviceCapabilities) return "too many device.capabilities";
  for (std::size_t i = 0; i < device.capabilities.size(); ++i) {
    if (!IsDeviceText(device.capabilities[i])) {
      return "a device capability is not printable ASCII of at most 128 bytes";
    }
    if (i > 0 && !(device.capabilities[i - 1] < device.capabilities[i])) {
      return "device.capabilities are not sorted and unique";
    }
  }
  return std::nullopt;
}

json ManifestJson(const DeviceManifest& manifest) {
  const DeviceInfo& device = manifest.device;
  return json{{"device", json{{"capabilities", device.capabilities},
                              {"hx_version", device.hx_version},
                              {"last_seen_ms", device.last_seen_ms},
                              {"platform", device.platform}}},
              {"format_version", kFormatVersion},
              {"last_seen_head_seq", static_cast<std::int64_t>(manifest.last_seen_head_seq)},
              {"manifest_seq", static_cast<std::int64_t>(manifest.manifest_seq)},
              {"node_id", manifest.node_id},
              {"snapshots", manifest.snapshots},
              {"vault_id", manifest.vault_id}};
}

Result<std::vector<std::string>> DeviceTextArray(JsonFields& fields, std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json::array_t* array, fields.Array(key));
  if (array->size() > kMaxDeviceCapabilities) {
    return CorruptRecord(fields.what(), "field \"" + std::string(key) + "\" has too many items");
  }
  std::vector<std::string> out;
  for (const json& item : *array) {
    const auto* text = item.get_ptr<const std::string*>();
    if (text == nullptr) {
      return CorruptRecord(fields.what(), "field \"" + std::string(key) + "\" must hold strings");
    }
    out.push_back(*text);
  }
  return out;
}

Result<DeviceManifest> DecodeFields(const VaultContext& ctx, std::string_view node_id,
                                    std::span<const std::uint8_t> bytes) {
  const std::string what = ManifestKey(node_id);
  if (bytes.size() > kMaxManifestBytes + kAeadOverhead) {
    return CorruptRecord(what, "larger than the limit of " +
                                   std::to_string(kMaxManifestBytes + kAeadOverhead) + " bytes");
  }
  Result<std::vector<std::uint8_t>> plaintext =
      AeadOpen(ctx.keys.manifest, ManifestAd(ctx.vault_id, node_id), bytes);
  if (!plaintext.ok()) {
    return CorruptRecord(what, "does not authenticate as this device's manifest of this vault: "
                               "tampered, or copied from another device or vault");
  }
  const std::string_view text = AsText(*plaintext);
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(what, text, kMaxManifestBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, text));
  DeviceManifest manifest;
  HX_ASSIGN_OR_RETURN(JsonFields device, fields.Object("device"));
  HX_ASSIGN_OR_RETURN(manifest.device.capabilities, DeviceTextArray(device, "capabilities"));
  HX_ASSIGN_OR_RETURN(manifest.device.hx_version, device.String("hx_version"));
  HX_ASSIGN_OR_RETURN(manifest.device.last_seen_ms, TimeField(device, "last_seen_ms"));
  HX_ASSIGN_OR_RETURN(manifest.device.platform, device.String("platform"));
  HX_RETURN_IF_ERROR(device.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(manifest.last_seen_head_seq, CountField(fields, "last_seen_head_seq"));
  HX_ASSIGN_OR_RETURN(manifest.manifest_seq, CountField(fields, "manifest_seq", 1));
  HX_ASSIGN_OR_RETURN(manifest.node_id, HexField(fields, "node_id", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(manifest.snapshots,
                      HexArrayField(fields, "snapshots", kLongIdHexLength, kMaxSnapshots));
  HX_ASSIGN_OR_RETURN(manifest.vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  // The AD already binds both ids; the fields must agree with it, or a
  // writer with the key made a manifest hx would never write.
  if (manifest.node_id != node_id || manifest.vault_id != ctx.vault_id) {
    return CorruptRecord(what, "names another device or vault than the one it is sealed for");
  }
  if (const auto problem = ManifestProblem(manifest)) return CorruptRecord(what, *problem);
  return manifest;
}

}  // namespace

std::string ManifestKey(std::string_view node_id) {
  return std::string(kPrefix) + std::string(node_id) + std::string(kSuffix);
}

Result<Bytes> EncodeManifest(const VaultContext& ctx, const DeviceManifest& manifest) {
  if (const auto problem = ManifestProblem(manifest)) return EncoderBug("EncodeManifest", *problem);
  if (manifest.vault_id != ctx.vault_id) {
    return EncoderBug("EncodeManifest", "the manifest's vault_id is not the context's");
  }
  HX_ASSIGN_OR_RETURN(const std::string text, WriteRecordJson("manifest", ManifestJson(manifest)));
  if (text.size() > kMaxManifestBytes) {
    return EncoderBug("EncodeManifest", "the manifest is larger than kMaxManifestBytes");
  }
  return AeadSealSynthetic(ctx.keys.manifest, ctx.keys.nonce,
                           ManifestAd(manifest.vault_id, manifest.node_id), AsBytes(text));
}

Result<DeviceManifest> DecodeManifest(const VaultContext& ctx, std::string_view node_id,
                                      std::span<const std::uint8_t> bytes) {
  if (!IsLowerHex(node_id, kShortIdHexLength)) {
    return EncoderBug("DecodeManifest", "the node id is not 32 lowercase hex");
  }
  return AsStoreRecord(DecodeFields(ctx, node_id, bytes));
}

Result<std::optional<DeviceManifest>> ReadManifest(Store& store, const VaultContext& ctx,
                                                   std::string_view node_id) {
  if (!IsLowerHex(node_id, kShortIdHexLength)) {
    return EncoderBug("ReadManifest", "the node id is not 32 lowercase hex");
  }
  const std::string key = ManifestKey(node_id);
  Result<Bytes> bytes = store.Get(key, kMaxManifestBytes + kAeadOverhead);
  if (!bytes.ok()) {
    if (bytes.error().category == Category::kNotFound) return std::optional<DeviceManifest>();
    return std::move(bytes).error();
  }
  Result<DeviceManifest> manifest = DecodeManifest(ctx, node_id, *bytes);
  if (!manifest.ok()) return std::move(manifest).error().With("key", key);
  return std::optional<DeviceManifest>(std::move(*manifest));
}

Result<StoredManifest> ReadManifestForUpdate(Store& store, const VaultContext& ctx,
                                             std::string_view node_id) {
  if (!IsLowerHex(node_id, kShortIdHexLength)) {
    return EncoderBug("ReadManifestForUpdate", "the node id is not 32 lowercase hex");
  }
  const std::string key = ManifestKey(node_id);
  StoredManifest stored;
  auto current = store.GetVersioned(key, kMaxManifestBytes + kAeadOverhead);
  if (!current.ok()) {
    switch (current.error().category) {
      case Category::kNotFound:
        return stored;
      case Category::kCorrupt:
        // Larger than any manifest: damaged, and unreadable even for its
        // version, so the repair is a plain replace.
        stored.damaged = true;
        return stored;
      default:
        return std::move(current).error();
    }
  }
  auto& [bytes, version] = *current;
  stored.version = std::move(version);
  Result<DeviceManifest> decoded = DecodeManifest(ctx, node_id, bytes);
  if (decoded.ok()) {
    stored.manifest = std::move(*decoded);
  } else if (decoded.error().category == Category::kCorrupt) {
    stored.damaged = true;
  } else {
    return std::move(decoded).error().With("key", key);
  }
  return stored;
}

Result<StoredManifest> WriteManifest(Store& store, const VaultContext& ctx,
                                     const DeviceManifest& manifest,
                                     const StoredManifest& previous) {
  if (previous.manifest && manifest.manifest_seq <= previous.manifest->manifest_seq) {
    return EncoderBug("WriteManifest", "manifest_seq " + std::to_string(manifest.manifest_seq) +
                                           " does not exceed the stored manifest_seq " +
                                           std::to_string(previous.manifest->manifest_seq));
  }
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeManifest(ctx, manifest));
  const std::string key = ManifestKey(manifest.node_id);
  StoredManifest written;
  written.manifest = manifest;
  if (previous.version) {
    HX_ASSIGN_OR_RETURN(written.version, store.PutIfMatch(key, bytes, *previous.version));
  } else if (previous.damaged) {
    HX_RETURN_IF_ERROR(store.Put(key, bytes));
  } else {
    HX_ASSIGN_OR_RETURN(written.version, store.PutIfAbsent(key, bytes));
  }
  return written;
}

Result<StoredManifest> WriteManifest(Store& store, const VaultContext& ctx,
                                     const DeviceManifest& manifest) {
  HX_ASSIGN_OR_RETURN(const StoredManifest previous,
                      ReadManifestForUpdate(store, ctx, manifest.node_id));
  return WriteManifest(store, ctx, manifest, previous);
}

Result<std::vector<std::string>> ListManifests(Store& store) {
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listing, store.List(kPrefix));
  std::vector<std::string> nodes;
  for (const StoreObjectInfo& info : listing) {
    std::string_view key = info.key;
    if (!key.starts_with(kPrefix) || !key.ends_with(kSuffix)) continue;
    key.remove_prefix(kPrefix.size());
    key.remove_suffix(kSuffix.size());
    if (IsLowerHex(key, kShortIdHexLength)) nodes.emplace_back(key);
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

}  // namespace hx
