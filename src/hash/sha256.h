// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), computed by OpenSSL.
//
// hx needs SHA-256 where other systems define the format: AWS Signature
// Version 4 (payload hashes, the signing-key chain of HMACs) and the sync
// envelope. Content addressing uses BLAKE3 (blake3.h) instead.
//
// OpenSSL can only fail here if it cannot allocate memory or its
// configuration has no SHA-256 at all; both are treated like running out of
// memory: the process stops with a message. No input can cause a failure.
//
// Thread-safety: the free functions are thread-safe. A Sha256Hasher is a
// movable object with no shared state; distinct hashers may be used from
// distinct threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header.

namespace hx {

inline constexpr std::size_t kSha256Len = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Len>;

// SHA-256 of `input`.
Sha256Digest Sha256(std::span<const std::uint8_t> input);
Sha256Digest Sha256(std::string_view input);

// HMAC-SHA256 of `message` under `key` (any length, including empty).
Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);
Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::string_view message);
Sha256Digest HmacSha256(std::string_view key, std::string_view message);

// Incremental SHA-256: Update any number of times, Finalize whenever. A
// moved-from hasher may only be Reset (or destroyed or assigned to).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  // Appends input; the digest depends only on the concatenation.
  void Update(std::span<const std::uint8_t> input);
  void Update(std::string_view input);

  // The digest of everything so far. Does not change the hasher: more input
  // may follow.
  Sha256Digest Finalize() const;

  // Back to the state of a new hasher (also revives a moved-from one).
  void Reset();

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> context_;
};

}  // namespace hx
