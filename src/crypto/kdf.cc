#include "crypto/kdf.h"

#include <sodium.h>

#include <algorithm>

#include "base/hex.h"

namespace hx {
namespace {

static_assert(crypto_pwhash_argon2id_SALTBYTES == kKdfSaltSize);
static_assert(crypto_pwhash_argon2id_OPSLIMIT_MIN <= kMinOpslimit);
static_assert(crypto_pwhash_argon2id_MEMLIMIT_MIN <= kMinMemlimit);

Error BadParam(std::string_view field, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "invalid key derivation parameters: " + std::move(message))
      .With("field", std::string(field));
}

}  // namespace

KdfParams NewKdfParams() {
  KdfParams params;
  RandomBytes(params.salt);
  return params;
}

Status ValidateKdfParams(const KdfParams& params) {
  if (params.algorithm != kKdfArgon2id13) {
    return BadParam("algorithm", "unsupported algorithm \"" + params.algorithm +
                                     "\" (expected \"" + std::string(kKdfArgon2id13) + "\")");
  }
  if (params.opslimit < kMinOpslimit || params.opslimit > kMaxOpslimit) {
    return BadParam("opslimit", "opslimit " + std::to_string(params.opslimit) + " is outside [" +
                                    std::to_string(kMinOpslimit) + ", " +
                                    std::to_string(kMaxOpslimit) + "]");
  }
  if (params.memlimit < kMinMemlimit || params.memlimit > kMaxMemlimit) {
    return BadParam("memlimit", "memlimit " + std::to_string(params.memlimit) +
                                    " is outside [" + std::to_string(kMinMemlimit) + ", " +
                                    std::to_string(kMaxMemlimit) + "] bytes");
  }
  if (params.memlimit % 1024 != 0) {
    return BadParam("memlimit", "memlimit " + std::to_string(params.memlimit) +
                                    " is not a whole number of KiB");
  }
  // Both factors are bounded above (16 and 2^32), so the product cannot
  // overflow.
  if (params.opslimit * params.memlimit > kMaxKdfWork) {
    return BadParam("opslimit", "opslimit x memlimit exceeds " + std::to_string(kMaxKdfWork));
  }
  return OkStatus();
}

Result<KdfParams> ParseKdfParams(std::string_view algorithm, std::uint64_t opslimit,
                                 std::uint64_t memlimit, std::string_view salt_hex) {
  KdfParams params;
  params.algorithm = std::string(algorithm);
  params.opslimit = opslimit;
  params.memlimit = memlimit;
  if (!IsLowerHex(salt_hex, 2 * kKdfSaltSize)) {
    return BadParam("salt", "the salt must be " + std::to_string(2 * kKdfSaltSize) +
                                " lowercase hex digits");
  }
  const auto salt = FromHex(salt_hex);
  std::copy(salt->begin(), salt->end(), params.salt.begin());
  HX_RETURN_IF_ERROR(ValidateKdfParams(params));
  return params;
}

Result<SecretKey> DeriveKeyFromPassphrase(std::string_view passphrase, const KdfParams& params) {
  HX_RETURN_IF_ERROR(ValidateKdfParams(params));
  EnsureSodium();
  SecretKey key;
  static const char kEmpty = 0;
  const char* password = passphrase.empty() ? &kEmpty : passphrase.data();
  if (crypto_pwhash(key.mutable_bytes().data(), key.bytes().size(), password, passphrase.size(),
                    params.salt.data(), params.opslimit, static_cast<std::size_t>(params.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Parameters were validated, so the only cause left is memory.
    return Error(SyncCode::kInternal, Category::kInternal,
                 "Argon2id could not allocate " + std::to_string(params.memlimit) +
                     " bytes of memory")
        .With("memlimit", std::to_string(params.memlimit));
  }
  return key;
}

}  // namespace hx
