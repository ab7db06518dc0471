// Owners of secret bytes, and the process's source of randomness.
//
// Every key in hx (the master key, the passphrase-derived key, the subkeys)
// lives in a SecretKey (exactly 32 bytes) or a SecretBytes (any length,
// fixed at construction). Both:
//   - zero their bytes with sodium_memzero when destroyed, and leave a
//     moved-from object empty (SecretBytes) or zeroed (SecretKey);
//   - are movable but not copyable: a second copy is made only by an explicit
//     Clone(), so copies of keys are visible in the code;
//   - cannot be printed: there is no operator<< and no ToHex overload, and
//     PrintTo (GoogleTest's printer) shows only "<redacted>";
//   - do not define ==; compare with ConstantTimeEquals().
// The bytes are in ordinary heap or stack memory (no mlock): hx does not
// promise that a key never reaches swap or a core dump.
//
// Randomness (randombytes_buf, the OS CSPRNG) is used only for keys, salts
// and the nonces of AeadSealRandom(); everything hx writes to a store is
// otherwise deterministic (synthetic nonces, see aead.h).
//
// Thread-safety: SecretKey/SecretBytes are values (distinct objects on
// distinct threads are fine). EnsureSodium() and the random functions are
// thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>

namespace hx {

// Initialises libsodium once per process (thread-safe; cheap after the first
// call). Every function of this module calls it; others need not. Aborts the
// process if libsodium cannot initialise (no usable randomness source), as
// nothing in hx can run safely without one.
void EnsureSodium();

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(std::span<std::uint8_t> out);

inline constexpr std::size_t kSecretKeySize = 32;

// A 32-byte key.
class SecretKey {
 public:
  // All-zero key; fill it through mutable_bytes().
  SecretKey() = default;
  explicit SecretKey(std::span<const std::uint8_t, kSecretKeySize> bytes);
  // A fresh random key.
  static SecretKey Random();

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  SecretKey Clone() const { return SecretKey(bytes()); }

  std::span<const std::uint8_t, kSecretKeySize> bytes() const { return bytes_; }
  std::span<std::uint8_t, kSecretKeySize> mutable_bytes() { return bytes_; }

 private:
  std::array<std::uint8_t, kSecretKeySize> bytes_{};
};

// Secret bytes of any length (a passphrase, a derived output). The length is
// fixed at construction, so the buffer is never reallocated (a reallocation
// would leave an unzeroed copy behind).
class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes; fill them through mutable_bytes().
  explicit SecretBytes(std::size_t size);
  explicit SecretBytes(std::span<const std::uint8_t> bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const { return SecretBytes(bytes()); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::uint8_t> bytes() const { return {data_.get(), size_}; }
  std::span<std::uint8_t> mutable_bytes() { return {data_.get(), size_}; }

 private:
  void Wipe();

  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

// Constant-time comparisons (sodium_memcmp): the time taken does not depend
// on where the inputs first differ. Different lengths compare unequal (the
// lengths themselves are not secret).
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
bool ConstantTimeEquals(const SecretKey& a, const SecretKey& b);

// GoogleTest's printer hook: secrets print as "<redacted>".
void PrintTo(const SecretKey& key, std::ostream* os);
void PrintTo(const SecretBytes& bytes, std::ostream* os);

}  // namespace hx
