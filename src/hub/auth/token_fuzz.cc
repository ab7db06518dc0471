// Fuzzes the hub's token and challenge decoders with arbitrary bearer texts.
// Contract checked: a refusal is always KC_SYNC_AUTH_FAILED (never a crash,
// never another code); a decoded token re-encodes to exactly its input's
// signed part (one canonical text per token); nothing verifies under a key
// the input could not know unless it was encoded with that key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hub/auth/token.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  hx::SecretKey key;
  const hx::Result<hx::hub::DecodedToken> decoded = hx::hub::DecodeToken(text);
  if (!decoded.ok()) {
    Check(decoded.error().code == hx::SyncCode::kAuthFailed);
    Check(!decoded.error().ToJson().empty());
  } else {
    // Re-encoding the claims gives the same text up to the tag.
    const std::string again = hx::hub::EncodeToken(decoded->claims, key);
    Check(again.size() == text.size());
    Check(again.substr(0, again.size() - 64) == text.substr(0, text.size() - 64));
  }
  const hx::Result<hx::hub::TokenClaims> verified = hx::hub::VerifyToken(text, key, 0);
  if (verified.ok()) Check(hx::hub::EncodeToken(*verified, key) == text);
  const hx::Result<hx::hub::ChallengeClaims> challenge =
      hx::hub::VerifyChallenge(text, key, 0);
  if (!challenge.ok()) Check(challenge.error().code == hx::SyncCode::kAuthFailed);
  return 0;
}
