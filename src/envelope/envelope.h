// The sync envelope of seed 003: a versioned JSON document that carries a
// vault folder's items (files, symlinks, directories) between hx and other
// tools, for `hx envelope export|diff|apply`. docs/ENVELOPE.md is the full
// specification; in short:
//
//   {"exported_utc":"2026-02-12T08:00:00Z",
//    "items":[{"content":{...},"content_hash":"sha256:<64 hex>",
//              "item_id":"notes/a.txt","item_type":"file",
//              "updated_utc":"2026-02-12T07:55:00Z"}, ...],
//    "schema_version":"1.0.0",
//    "source":{"app_version":"0.1.0","device_id":"<node id>","kind":"hx"}}
//
//   item_type  "file" | "symlink" | "directory"
//   item_id    the item's normalized vault-relative path ('/'-separated,
//              no empty, "." or ".." segments, not under .hx, valid UTF-8)
//   content    file: {"data":"<base64>","executable":<bool>}
//              symlink: {"target":"<link target>"}; directory: {}
//   content_hash "sha256:" + lowercase hex SHA-256 of the canonical JSON
//              of `content` (so the executable bit is part of the content)
//
// hx writes envelopes canonically (sorted keys, no spaces; items sorted by
// item_id), so the same folder gives the same bytes. The reader is strict:
// bounded size and item count, valid UTF-8, no duplicate keys or items, no
// unknown fields, exact shapes; an unknown schema_version is refused with a
// migration hint. It never throws and never allocates more than a constant
// times the input size.
//
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {

inline constexpr std::string_view kEnvelopeSchemaVersion = "1.0.0";
// The largest envelope hx reads or writes (bytes of JSON), and the most
// items it holds. An export above either is refused with a clear error.
inline constexpr std::size_t kMaxEnvelopeBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxEnvelopeItems = 100'000;
// The longest item_id (bytes), as a path.
inline constexpr std::size_t kMaxItemIdBytes = 4096;

struct EnvelopeSource {
  std::string kind;         // "hx" for envelopes hx writes
  std::string app_version;  // hx's version
  std::string device_id;    // the vault's node id, or "unlinked"
  friend bool operator==(const EnvelopeSource&, const EnvelopeSource&) = default;
};

struct EnvelopeItem {
  std::string item_type;     // "file", "symlink", "directory"
  std::string item_id;       // normalized vault-relative path
  std::string updated_utc;   // RFC 3339 UTC
  std::string content_hash;  // "sha256:<64 lowercase hex>"
  nlohmann::json content;
  friend bool operator==(const EnvelopeItem&, const EnvelopeItem&) = default;
};

struct Envelope {
  std::string schema_version = std::string(kEnvelopeSchemaVersion);
  EnvelopeSource source;
  std::string exported_utc;
  std::vector<EnvelopeItem> items;  // sorted by item_id
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// The canonical bytes of an envelope (items in the order given; hx sorts
// them by item_id). Fails (KC_SYNC_INPUT_INVALID) above kMaxEnvelopeBytes.
Result<std::string> EncodeEnvelope(const Envelope& envelope);

// Strictly parses untrusted envelope bytes (see above). Errors are
// KC_SYNC_INPUT_INVALID naming the field; an unknown schema_version is
// KC_SYNC_INPUT_INVALID with category unsupported and a migration hint.
// content_hash is checked for shape only: VerifyContentHash says whether it
// matches (a mismatch fails that item, not the envelope).
Result<Envelope> ParseEnvelope(std::string_view bytes);

// "sha256:<hex>" of the canonical JSON of `content`.
Result<std::string> ContentHash(const nlohmann::json& content);
bool VerifyContentHash(const EnvelopeItem& item);

// Whether `id` is a normalized vault-relative path usable as an item_id.
bool IsValidItemId(std::string_view id);

// RFC 4648 base64 with padding; DecodeBase64 refuses anything else
// (whitespace, missing padding, non-zero trailing bits).
std::string EncodeBase64(std::string_view bytes);
Result<std::string> DecodeBase64(std::string_view text);

// ns since the epoch -> "YYYY-MM-DDTHH:MM:SSZ" (truncated to seconds; years
// 0000-9999, clamped outside). And the check the parser applies:
// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" with valid field ranges.
std::string FormatUtc(std::int64_t ns_since_epoch);
bool IsValidUtc(std::string_view text);
// The inverse of FormatUtc for valid text (fractions kept to ns).
std::int64_t ParseUtcNs(std::string_view text);

}  // namespace hx
