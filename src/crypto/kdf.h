// Passphrase-based key derivation: Argon2id (libsodium crypto_pwhash with
// crypto_pwhash_ALG_ARGON2ID13, i.e. Argon2id v1.3, one lane).
//
// The passphrase never protects data directly: it derives the key-encryption
// key (KEK) that wraps the vault's random master key (keys.h). The KdfParams
// are stored next to the wrapped key in vault.json, so they can be raised
// later by rewrapping the same master key, without re-encrypting anything.
//
// Defaults (kDefaultOpslimit / kDefaultMemlimit): 3 passes over 64 MiB,
// i.e. libsodium's INTERACTIVE memory with one more pass, which is also
// RFC 9106's second recommended setting (t=3, m=64 MiB) with one lane.
// Measured on the reference machine (crypto_bench.cc BM_Argon2id, Release,
// CPU time of one derivation): INTERACTIVE (2 passes, 64 MiB) ~75 ms, the
// default ~100 ms, MODERATE (3 passes, 256 MiB) ~470 ms. MODERATE's 256 MiB
// alone would exceed hx's memory target (peak <= ~150 MB for a whole sync);
// the passphrase is asked for once per device, and the stored parameters
// can be raised later without re-encrypting anything.
//
// Parameters read from a store are untrusted: ValidateKdfParams refuses
// anything outside the limits below, so a hostile vault.json cannot ask for
// 4 TiB of memory or hours of CPU.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "crypto/secret.h"

namespace hx {

// The only algorithm name hx writes and accepts.
inline constexpr std::string_view kKdfArgon2id13 = "argon2id13";

inline constexpr std::size_t kKdfSaltSize = 16;
inline constexpr std::uint64_t kDefaultOpslimit = 3;
inline constexpr std::uint64_t kDefaultMemlimit = std::uint64_t{64} << 20;

// Limits on untrusted parameters. The floor is libsodium's minimum (tests and
// vectors use it; a weak setting can only hurt the vault that chose it). The
// ceilings: memory up to 4 GiB, at most 16 passes, and passes x memory at
// most 16 GiB (~10 s here), so the worst a hostile vault.json can cost is a
// few seconds of CPU and 4 GiB of memory, once.
inline constexpr std::uint64_t kMinOpslimit = 1;
inline constexpr std::uint64_t kMaxOpslimit = 16;
inline constexpr std::uint64_t kMinMemlimit = 8192;
inline constexpr std::uint64_t kMaxMemlimit = std::uint64_t{4} << 30;
inline constexpr std::uint64_t kMaxKdfWork = std::uint64_t{16} << 30;  // opslimit * memlimit

struct KdfParams {
  std::string algorithm{kKdfArgon2id13};
  std::uint64_t opslimit = kDefaultOpslimit;  // Argon2 passes (t_cost)
  std::uint64_t memlimit = kDefaultMemlimit;  // bytes; Argon2 m_cost = memlimit / 1024 KiB
  std::array<std::uint8_t, kKdfSaltSize> salt{};

  friend bool operator==(const KdfParams&, const KdfParams&) = default;
};

// Default parameters with a fresh random salt: what a new vault gets.
KdfParams NewKdfParams();

// Succeeds if `params` may be used: the algorithm is kKdfArgon2id13, opslimit
// and memlimit are within the limits above, memlimit is a multiple of 1024
// (Argon2 counts KiB; requiring whole KiB keeps one key per written value),
// and opslimit * memlimit <= kMaxKdfWork. Failure: SyncCode::kStateFailed,
// Category::kCorrupt, naming the offending field in details["field"].
Status ValidateKdfParams(const KdfParams& params);

// Builds and validates KdfParams from the fields of a stored record (the
// salt as 32 lowercase hex digits). Same failures as ValidateKdfParams.
Result<KdfParams> ParseKdfParams(std::string_view algorithm, std::uint64_t opslimit,
                                 std::uint64_t memlimit, std::string_view salt_hex);

// Derives the 32-byte key for `passphrase` (any bytes, may be empty; hx passes
// UTF-8 as typed). Validates `params` first. Fails with Category::kInternal if
// the memory cannot be allocated.
Result<SecretKey> DeriveKeyFromPassphrase(std::string_view passphrase, const KdfParams& params);

}  // namespace hx
