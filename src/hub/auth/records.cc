#include "hub/auth/records.h"

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "json/utf8.h"

namespace hx::hub {
namespace {

constexpr std::int64_t kFormat = 1;

std::string Write(const nlohmann::json& value) {
  Result<std::string> text = WriteCanonicalJson(value);
  // Every value here is built by hx from checked strings and integers.
  return text.ok() ? *std::move(text) : std::string("{}");
}

Error Corrupt(std::string_view key_name, const Error& why) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "the hub record " + std::string(key_name) + " is damaged: " + why.message +
                   "; remove it (a device re-enrolls, a code is made again)")
      .With("key", std::string(key_name));
}

// Parses `bytes` as a canonical JSON object of format 1 and hands its
// fields to `read`; any error is rewrapped as corrupt.
template <typename T, typename Read>
Result<T> Parse(std::string_view bytes, std::string_view key_name, Read read) {
  JsonReadOptions options;
  options.max_input_bytes = kMaxHubRecordBytes;
  options.max_depth = 4;
  Result<nlohmann::json> value = ParseCanonicalJson(bytes, options);
  if (!value.ok()) return Corrupt(key_name, value.error());
  Result<T> out = [&]() -> Result<T> {
    HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(*value, std::string(key_name)));
    HX_ASSIGN_OR_RETURN(const std::int64_t format, fields.Int("format"));
    if (format != kFormat) {
      return Error(SyncCode::kStateFailed, Category::kUnsupported,
                   "format " + std::to_string(format) + " is not one this hx reads");
    }
    HX_ASSIGN_OR_RETURN(T record, read(fields));
    HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
    return record;
  }();
  if (!out.ok()) return Corrupt(key_name, out.error());
  return out;
}

Result<Role> ReadRole(JsonFields& fields) {
  HX_ASSIGN_OR_RETURN(const std::string name, fields.String("role"));
  const std::optional<Role> role = ParseRole(name);
  if (!role) return InvalidInput(SyncCode::kStateFailed, "unknown role \"" + name + "\"");
  return *role;
}

Result<std::int64_t> ReadTime(JsonFields& fields, std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::int64_t ms, fields.Int(key));
  if (ms < 0) return InvalidInput(SyncCode::kStateFailed, std::string(key) + " is negative");
  return ms;
}

}  // namespace

Status CheckLabel(std::string_view text, std::size_t max_bytes, std::string_view what) {
  if (text.empty() || text.size() > max_bytes) {
    return InvalidInput(SyncCode::kInputInvalid, std::string(what) + " must be 1 to " +
                                                     std::to_string(max_bytes) + " bytes long");
  }
  if (FindInvalidUtf8(text)) {
    return InvalidInput(SyncCode::kInputInvalid, std::string(what) + " is not valid UTF-8");
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidInput(SyncCode::kInputInvalid,
                          std::string(what) + " contains a control character");
    }
  }
  return {};
}

std::string EncodeTokenKey(const SecretKey& key) {
  return Write({{"format", kFormat}, {"key", ToHex(key.bytes())}});
}

Result<SecretKey> DecodeTokenKey(std::string_view bytes, std::string_view key_name) {
  return Parse<SecretKey>(bytes, key_name, [](JsonFields& fields) -> Result<SecretKey> {
    HX_ASSIGN_OR_RETURN(const std::string hex, fields.String("key"));
    if (!IsLowerHex(hex, 2 * kSecretKeySize)) {
      return InvalidInput(SyncCode::kStateFailed, "key is not 64 lowercase hex digits");
    }
    std::optional<std::vector<std::uint8_t>> raw = FromHex(hex);
    SecretKey key(std::span<const std::uint8_t, kSecretKeySize>(raw->data(), kSecretKeySize));
    std::fill(raw->begin(), raw->end(), 0);
    return key;
  });
}

std::string EncodeEnrollment(const EnrollmentRecord& record) {
  return Write({{"format", kFormat},
                {"role", std::string(RoleName(record.role))},
                {"created_ms", record.created_ms},
                {"expires_ms", record.expires_ms},
                {"used_by", record.used_by},
                {"used_ms", record.used_ms}});
}

Result<EnrollmentRecord> DecodeEnrollment(std::string_view bytes, std::string_view key_name) {
  return Parse<EnrollmentRecord>(
      bytes, key_name, [](JsonFields& fields) -> Result<EnrollmentRecord> {
        EnrollmentRecord record;
        HX_ASSIGN_OR_RETURN(record.role, ReadRole(fields));
        HX_ASSIGN_OR_RETURN(record.created_ms, ReadTime(fields, "created_ms"));
        HX_ASSIGN_OR_RETURN(record.expires_ms, ReadTime(fields, "expires_ms"));
        HX_ASSIGN_OR_RETURN(record.used_by, fields.String("used_by"));
        HX_ASSIGN_OR_RETURN(record.used_ms, ReadTime(fields, "used_ms"));
        if (!record.used_by.empty() && !IsValidDeviceId(record.used_by)) {
          return InvalidInput(SyncCode::kStateFailed, "used_by is not a device id");
        }
        return record;
      });
}

std::string EncodeDevice(const DeviceRecord& record) {
  return Write({{"format", kFormat},
                {"device_id", record.device_id},
                {"name", record.name},
                {"platform", record.platform},
                {"role", std::string(RoleName(record.role))},
                {"public_key", ToHex(record.public_key)},
                {"created_ms", record.created_ms},
                {"last_seen_ms", record.last_seen_ms},
                {"acked_head", record.acked_head}});
}

Result<DeviceRecord> DecodeDevice(std::string_view bytes, std::string_view key_name) {
  return Parse<DeviceRecord>(bytes, key_name, [](JsonFields& fields) -> Result<DeviceRecord> {
    DeviceRecord record;
    HX_ASSIGN_OR_RETURN(record.device_id, fields.String("device_id"));
    if (!IsValidDeviceId(record.device_id)) {
      return InvalidInput(SyncCode::kStateFailed, "device_id is not a device id");
    }
    HX_ASSIGN_OR_RETURN(record.name, fields.String("name"));
    HX_RETURN_IF_ERROR(CheckLabel(record.name, kMaxDeviceNameBytes, "name"));
    HX_ASSIGN_OR_RETURN(record.platform, fields.String("platform"));
    HX_RETURN_IF_ERROR(CheckLabel(record.platform, kMaxPlatformBytes, "platform"));
    HX_ASSIGN_OR_RETURN(record.role, ReadRole(fields));
    HX_ASSIGN_OR_RETURN(const std::string key, fields.String("public_key"));
    if (!IsLowerHex(key, 2 * kEd25519PublicKeySize)) {
      return InvalidInput(SyncCode::kStateFailed, "public_key is not 64 lowercase hex digits");
    }
    const std::optional<std::vector<std::uint8_t>> raw = FromHex(key);
    std::copy(raw->begin(), raw->end(), record.public_key.begin());
    HX_ASSIGN_OR_RETURN(record.created_ms, ReadTime(fields, "created_ms"));
    HX_ASSIGN_OR_RETURN(record.last_seen_ms, ReadTime(fields, "last_seen_ms"));
    HX_ASSIGN_OR_RETURN(record.acked_head, fields.String("acked_head"));
    if (record.acked_head.size() > kMaxHeadBytes) {
      return InvalidInput(SyncCode::kStateFailed, "acked_head is too long");
    }
    return record;
  });
}

std::string EncodeRevocation(std::int64_t revoked_ms) {
  return Write({{"format", kFormat}, {"revoked_ms", revoked_ms}});
}

std::string EncodeUsedChallenge(std::string_view device_id, std::int64_t used_ms) {
  return Write({{"device_id", std::string(device_id)}, {"format", kFormat}, {"used_ms", used_ms}});
}

Result<std::int64_t> DecodeRevocation(std::string_view bytes, std::string_view key_name) {
  return Parse<std::int64_t>(bytes, key_name, [](JsonFields& fields) -> Result<std::int64_t> {
    return ReadTime(fields, "revoked_ms");
  });
}

}  // namespace hx::hub
