#include "meta/meta_test_util.h"

#include <algorithm>

#include "base/hex.h"
#include "crypto/keys.h"
#include "crypto/secret.h"

namespace hx::meta_testing {

VaultContext TestContext(std::uint8_t first, std::string_view vault_id) {
  SecretKey master;
  for (std::size_t i = 0; i < kSecretKeySize; ++i) {
    master.mutable_bytes()[i] = static_cast<std::uint8_t>(first + i);
  }
  VaultContext ctx;
  ctx.vault_id = std::string(vault_id);
  ctx.keys = VaultKeys::Derive(master);
  ctx.key_fingerprint = KeyFingerprint(master);
  const auto id_bytes = FromHex(vault_id);
  if (id_bytes && id_bytes->size() == ctx.vault_id_bytes.size()) {
    std::copy(id_bytes->begin(), id_bytes->end(), ctx.vault_id_bytes.begin());
  }
  return ctx;
}

}  // namespace hx::meta_testing
