#include "crypto/secret.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace hx {

void EnsureSodium() {
  // A function-local static is initialised exactly once even when several
  // threads arrive together; sodium_init() is itself idempotent (returns 1
  // when already initialised) but must not fail.
  static const bool kInitialised = [] {
    if (sodium_init() < 0) {
      std::fputs("hx: libsodium failed to initialise (no randomness source)\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)kInitialised;
}

void RandomBytes(std::span<std::uint8_t> out) {
  EnsureSodium();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

// --- SecretKey ---------------------------------------------------------------

SecretKey::SecretKey(std::span<const std::uint8_t, kSecretKeySize> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

SecretKey SecretKey::Random() {
  SecretKey key;
  RandomBytes(key.mutable_bytes());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

// --- SecretBytes -------------------------------------------------------------

SecretBytes::SecretBytes(std::size_t size)
    : data_(size == 0 ? nullptr : std::make_unique<std::uint8_t[]>(size)), size_(size) {}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
  std::copy(bytes.begin(), bytes.end(), data_.get());
}

// Moving hands over the buffer itself, so no secret byte is copied; the
// source is left empty.
SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) sodium_memzero(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

// --- Comparison and printing -------------------------------------------------

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ConstantTimeEquals(const SecretKey& a, const SecretKey& b) {
  return ConstantTimeEquals(std::span<const std::uint8_t>(a.bytes()),
                            std::span<const std::uint8_t>(b.bytes()));
}

void PrintTo(const SecretKey&, std::ostream* os) { *os << "SecretKey(<redacted>)"; }

void PrintTo(const SecretBytes& bytes, std::ostream* os) {
  *os << "SecretBytes(" << bytes.size() << " bytes, <redacted>)";
}

}  // namespace hx
