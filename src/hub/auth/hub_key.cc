#include "hub/auth/hub_key.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "base/hex.h"
#include "hash/blake3.h"

namespace hx::hub {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 256;

Error BadKey(std::string_view where, std::string why) {
  return InvalidInput(SyncCode::kInputInvalid,
                      "the hub key " + std::string(where) + " " + why +
                          "; make one with 'openssl rand -hex 32 > hub.key; chmod 600 hub.key'")
      .With("source", std::string(where));
}

}  // namespace

Result<SecretKey> ParseHubMasterKey(std::string_view text, std::string_view where) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!IsLowerHex(text, 2 * kSecretKeySize)) {
    return BadKey(where, "is not 64 lowercase hex digits (32 bytes)");
  }
  std::optional<std::vector<std::uint8_t>> raw = FromHex(text);
  SecretKey key(std::span<const std::uint8_t, kSecretKeySize>(raw->data(), kSecretKeySize));
  std::fill(raw->begin(), raw->end(), 0);
  return key;
}

Result<std::shared_ptr<const SecretKey>> LoadHubMasterKey(const std::string& key_file,
                                                          const char* env_value) {
  if (key_file.empty()) {
    if (env_value == nullptr || *env_value == '\0') return std::shared_ptr<const SecretKey>();
    HX_ASSIGN_OR_RETURN(SecretKey key, ParseHubMasterKey(env_value, kHubKeyEnv));
    return std::make_shared<const SecretKey>(std::move(key));
  }
  const std::string where = "file " + key_file;
  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return BadKey(where, "cannot be read (no such regular file)");
  }
  if ((st.st_mode & 077) != 0) {
    return BadKey(where, "may be read by other users; run 'chmod 600 " + key_file + "'");
  }
  std::ifstream in(key_file, std::ios::binary);
  if (!in) return BadKey(where, "cannot be opened");
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return BadKey(where, "cannot be read");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) return BadKey(where, "is too large");
  HX_ASSIGN_OR_RETURN(SecretKey key, ParseHubMasterKey(text, where));
  std::fill(text.begin(), text.end(), '\0');
  return std::make_shared<const SecretKey>(std::move(key));
}

SecretKey DeriveVaultTokenKey(const SecretKey& master, std::string_view vault) {
  std::vector<std::uint8_t> material(master.bytes().begin(), master.bytes().end());
  material.insert(material.end(), vault.begin(), vault.end());
  SecretKey out;
  Blake3DeriveKey("hx hub token key v1", material, out.mutable_bytes());
  std::fill(material.begin(), material.end(), 0);
  return out;
}

}  // namespace hx::hub
