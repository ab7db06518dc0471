// Internal to the meta module: what every meta record codec shares.
//
// The store's small records (head.json, snapshot headers and bodies, device
// manifests, the write lock, conflict artifacts) are canonical JSON read from
// untrusted bytes. Their decoders follow one recipe, kept here so that every
// record fails the same way:
//
//   1. ParseRecordJson: bounded size, strict JSON (json/canonical_json.h);
//   2. CheckFormatVersion: "format_version" first, so that a record of a newer
//      format is reported as such (Category::kUnsupported, "made by a newer
//      hx") instead of as damage, whatever else changed in it;
//   3. RequireCanonical: the bytes are exactly what hx would write;
//   4. typed fields (json/json_fields.h), then RejectUnknownFields.
//
// The one exception is the snapshot body, up to ~110 bytes for each of
// hundreds of thousands of objects: meta/snapshot_body.h reads its canonical
// layout in one pass instead of building a document, and fails with the
// same CorruptRecord errors.
//
// Decoders produce errors of two kinds inside (JsonFields' KC_SYNC_INPUT_INVALID
// and the CorruptRecord errors below) and pass their result through
// AsStoreRecord, which turns "malformed input" into what it means for a store
// record: KC_SYNC_STATE_FAILED, Category::kCorrupt, same message and details.
//
// Messages never quote untrusted text; they name the record and the field, and
// show a value only after it has been validated (hex ids, integers).
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "crypto/secret.h"
#include "json/json_fields.h"

namespace hx::meta_internal {

// The format version of every record this hx writes.
inline constexpr std::int64_t kFormatVersion = 1;
// The largest integer a record may hold (JSON integers are int64).
inline constexpr std::uint64_t kMaxJsonInt =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// KC_SYNC_STATE_FAILED, Category::kCorrupt, "<what>: <problem>", details
// {"record": what}.
Error CorruptRecord(std::string_view what, std::string_view problem);

// KC_SYNC_STATE_FAILED, Category::kUnsupported: "<what> was made by a newer hx
// (format_version N; this hx reads 1): upgrade hx", details {"record",
// "format_version"}.
Error NewerFormatError(std::string_view what, std::int64_t version);

// An encoder's refusal of a value hx should never build (a bug in the
// caller): KC_SYNC_INTERNAL, "<what>: <problem>".
Error EncoderBug(std::string_view what, std::string_view problem);

// Maps the KC_SYNC_INPUT_INVALID errors of the JSON layer to corrupt store
// records (see above); other errors pass unchanged.
Error AsStoreRecordError(Error error);
template <typename T>
Result<T> AsStoreRecord(Result<T> result) {
  if (result.ok()) return result;
  return AsStoreRecordError(std::move(result).error());
}

// Strictly parses at most `max_bytes` of untrusted JSON. Failures are corrupt
// records naming `what` (too long, not JSON, duplicate keys, ...).
Result<nlohmann::json> ParseRecordJson(std::string_view what, std::string_view bytes,
                                       std::size_t max_bytes);

// Reads "format_version": 1 passes, a larger integer is NewerFormatError, and
// anything else is corrupt.
Status CheckFormatVersion(JsonFields& fields);

// Fails (corrupt) unless `bytes` is exactly the canonical JSON of `value`.
Status RequireCanonical(std::string_view what, const nlohmann::json& value,
                        std::string_view bytes);

// Canonical JSON bytes of a value an encoder built; failures are bugs
// (EncoderBug), except invalid UTF-8 in caller-supplied strings, which keeps
// the writer's KC_SYNC_INPUT_INVALID.
Result<std::string> WriteRecordJson(std::string_view what, const nlohmann::json& value);

// The records signed with the vault's MAC key (head.json, forget and prune
// records) carry "mac": the MAC of the canonical bytes of the record without
// it. The canonical bytes of `unsigned_value` with its "mac" added (errors:
// WriteRecordJson's).
Result<std::string> WriteSignedRecordJson(std::string_view what, const SecretKey& mac_key,
                                          nlohmann::json unsigned_value);
// Whether `mac_hex` is that MAC of `unsigned_value` (errors:
// WriteRecordJson's). The caller says what a wrong MAC means for its record.
Result<bool> RecordMacVerifies(std::string_view what, const SecretKey& mac_key,
                               const nlohmann::json& unsigned_value, std::string_view mac_hex);

// Typed fields with the rules every record shares. Errors name the field.
// A string of exactly `length` lowercase hex digits (ids, tokens, MACs).
Result<std::string> HexField(JsonFields& fields, std::string_view key, std::size_t length);
// An integer >= `min` (0 or 1), returned unsigned.
Result<std::uint64_t> CountField(JsonFields& fields, std::string_view key, std::uint64_t min = 0);
// A time in milliseconds since the epoch (>= 0).
Result<std::int64_t> TimeField(JsonFields& fields, std::string_view key);
// An array of strings, each exactly `length` lowercase hex digits, at most
// `max_items` of them.
Result<std::vector<std::string>> HexArrayField(JsonFields& fields, std::string_view key,
                                               std::size_t length, std::size_t max_items);

// Byte views between the store's Bytes and text.
inline std::string_view AsText(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::vector<std::uint8_t> ToByteVector(std::string_view text) {
  return {text.begin(), text.end()};
}

// Ids hx makes: 32 lowercase hex digits (vault and node ids, lock tokens) and
// 64 (object, blob and snapshot ids, MACs, fingerprints).
inline constexpr std::size_t kShortIdHexLength = 32;
inline constexpr std::size_t kLongIdHexLength = 64;

}  // namespace hx::meta_internal
