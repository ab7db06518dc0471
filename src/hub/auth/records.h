// The JSON records of hub state (docs/FORMAT.md, "Hub state"): canonical
// JSON written with WriteCanonicalJson, read strictly (unknown fields,
// wrong types and values out of bounds are refused as
// KC_SYNC_STATE_FAILED, Category::kCorrupt, naming the key). Internal to
// hub/auth; hub_auth.h is the interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/secret.h"
#include "hub/auth/hub_auth.h"

namespace hx::hub {

// The longest hub record hx writes is well under this; a longer object is
// refused unread.
inline constexpr std::uint64_t kMaxHubRecordBytes = 8192;

struct EnrollmentRecord {
  Role role = Role::kWriter;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::string used_by;  // the device id that claimed it; empty: unused
  std::int64_t used_ms = 0;
};

std::string EncodeTokenKey(const SecretKey& key);
Result<SecretKey> DecodeTokenKey(std::string_view bytes, std::string_view key_name);

std::string EncodeEnrollment(const EnrollmentRecord& record);
Result<EnrollmentRecord> DecodeEnrollment(std::string_view bytes, std::string_view key_name);

// The device record without the revocation (kept in revoked/<id>.json).
std::string EncodeDevice(const DeviceRecord& record);
Result<DeviceRecord> DecodeDevice(std::string_view bytes, std::string_view key_name);

std::string EncodeRevocation(std::int64_t revoked_ms);

// A used challenge's claim (challenges/<issued>-<id>.json): which device used
// it and when. Written for the administrator's eyes; hx reads only its key.
std::string EncodeUsedChallenge(std::string_view device_id, std::int64_t used_ms);
Result<std::int64_t> DecodeRevocation(std::string_view bytes, std::string_view key_name);

// Device names and platforms: 1..max bytes of valid UTF-8 without control
// characters; else KC_SYNC_INPUT_INVALID naming `what`.
Status CheckLabel(std::string_view text, std::size_t max_bytes, std::string_view what);

}  // namespace hx::hub
