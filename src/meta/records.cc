#include "meta/records.h"

#include <optional>

#include "base/hex.h"
#include "crypto/keys.h"
#include "json/canonical_json.h"

namespace hx::meta_internal {

using json = nlohmann::json;

Error CorruptRecord(std::string_view what, std::string_view problem) {
  std::string message(what);
  message += ": ";
  message += problem;
  return Error(SyncCode::kStateFailed, Category::kCorrupt, std::move(message))
      .With("record", std::string(what));
}

Error NewerFormatError(std::string_view what, std::int64_t version) {
  std::string message(what);
  message += " was made by a newer hx (format_version " + std::to_string(version) +
             "; this hx reads " + std::to_string(kFormatVersion) + "): upgrade hx";
  return Error(SyncCode::kStateFailed, Category::kUnsupported, std::move(message))
      .With("record", std::string(what))
      .With("format_version", std::to_string(version));
}

Error EncoderBug(std::string_view what, std::string_view problem) {
  std::string message(what);
  message += ": ";
  message += problem;
  return InternalError(std::move(message));
}

Error AsStoreRecordError(Error error) {
  if (error.code != SyncCode::kInputInvalid) return error;
  Error out(SyncCode::kStateFailed, Category::kCorrupt, std::move(error.message));
  out.details = std::move(error.details);
  return out;
}

Result<json> ParseRecordJson(std::string_view what, std::string_view bytes,
                             std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return CorruptRecord(what, "too long: " + std::to_string(bytes.size()) +
                                   " bytes, more than the limit of " +
                                   std::to_string(max_bytes));
  }
  JsonReadOptions options;
  options.max_input_bytes = max_bytes;
  // Records nest a few levels at most; a low bound keeps hostile input cheap.
  options.max_depth = 8;
  Result<json> parsed = ParseJson(bytes, options);
  if (!parsed.ok()) {
    Error error = CorruptRecord(what, "not valid JSON: " + parsed.error().message);
    for (const auto& [key, value] : parsed.error().details) error.With(key, value);
    return error;
  }
  return parsed;
}

Status CheckFormatVersion(JsonFields& fields) {
  HX_ASSIGN_OR_RETURN(const std::int64_t version, fields.Int("format_version"));
  if (version > kFormatVersion) return NewerFormatError(fields.what(), version);
  if (version != kFormatVersion) {
    return CorruptRecord(fields.what(),
                         "format_version " + std::to_string(version) + " is not valid");
  }
  return OkStatus();
}

Status RequireCanonical(std::string_view what, const json& value, std::string_view bytes) {
  Result<std::string> canonical = WriteCanonicalJson(value);
  if (!canonical.ok()) return CorruptRecord(what, "cannot be written back canonically");
  if (*canonical == bytes) return OkStatus();
  std::size_t offset = 0;
  while (offset < bytes.size() && offset < canonical->size() &&
         bytes[offset] == (*canonical)[offset]) {
    ++offset;
  }
  return CorruptRecord(what, "not canonical JSON (first difference at offset " +
                                 std::to_string(offset) + ")")
      .With("offset", std::to_string(offset));
}

Result<std::string> WriteRecordJson(std::string_view what, const json& value) {
  Result<std::string> bytes = WriteCanonicalJson(value);
  if (!bytes.ok() && bytes.error().code == SyncCode::kInternal) {
    return EncoderBug(what, bytes.error().message);
  }
  return bytes;
}

namespace {

Error FieldProblem(const JsonFields& fields, std::string_view key, std::string_view problem) {
  std::string message = fields.what() + ": field \"" + std::string(key) + "\" " +
                        std::string(problem);
  return Error(SyncCode::kStateFailed, Category::kCorrupt, std::move(message))
      .With("field", fields.what() + "." + std::string(key));
}

}  // namespace

Result<std::string> WriteSignedRecordJson(std::string_view what, const SecretKey& mac_key,
                                          json unsigned_value) {
  HX_ASSIGN_OR_RETURN(const std::string unsigned_bytes, WriteRecordJson(what, unsigned_value));
  unsigned_value["mac"] = ToHex(ComputeMac(mac_key, AsBytes(unsigned_bytes)));
  return WriteRecordJson(what, unsigned_value);
}

Result<bool> RecordMacVerifies(std::string_view what, const SecretKey& mac_key,
                               const json& unsigned_value, std::string_view mac_hex) {
  HX_ASSIGN_OR_RETURN(const std::string unsigned_bytes, WriteRecordJson(what, unsigned_value));
  const std::optional<std::vector<std::uint8_t>> mac = FromHex(mac_hex);
  return mac && VerifyMac(mac_key, AsBytes(unsigned_bytes), *mac);
}

Result<std::string> HexField(JsonFields& fields, std::string_view key, std::size_t length) {
  HX_ASSIGN_OR_RETURN(std::string value, fields.String(key));
  if (!IsLowerHex(value, length)) {
    return FieldProblem(fields, key,
                        "must be " + std::to_string(length) + " lowercase hex digits");
  }
  return value;
}

Result<std::uint64_t> CountField(JsonFields& fields, std::string_view key, std::uint64_t min) {
  HX_ASSIGN_OR_RETURN(const std::int64_t value, fields.Int(key));
  if (value < 0 || static_cast<std::uint64_t>(value) < min) {
    return FieldProblem(fields, key, "must be at least " + std::to_string(min));
  }
  return static_cast<std::uint64_t>(value);
}

Result<std::int64_t> TimeField(JsonFields& fields, std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::int64_t value, fields.Int(key));
  if (value < 0) return FieldProblem(fields, key, "must not be negative");
  return value;
}

Result<std::vector<std::string>> HexArrayField(JsonFields& fields, std::string_view key,
                                               std::size_t length, std::size_t max_items) {
  HX_ASSIGN_OR_RETURN(const json::array_t* array, fields.Array(key));
  if (array->size() > max_items) {
    return FieldProblem(fields, key, "has more than " + std::to_string(max_items) + " items");
  }
  std::vector<std::string> out;
  out.reserve(array->size());
  for (const json& item : *array) {
    const std::string* text = item.get_ptr<const std::string*>();
    if (text == nullptr || !IsLowerHex(*text, length)) {
      return FieldProblem(fields, key,
                          "must hold strings of " + std::to_string(length) +
                              " lowercase hex digits");
    }
    out.push_back(*text);
  }
  return out;
}

}  // namespace hx::meta_internal
