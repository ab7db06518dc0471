// libFuzzer target: pack indexes and sealed objects on arbitrary bytes, for
// a fixed vault. The first byte picks what the rest is:
//   0: a whole blob for ReadPackIndex;
//   1: the *plaintext* of a pack index (sealed here with the vault's keys,
//      so the fuzzer reaches the checks after authentication), after a
//      region of objects whose length is the next two bytes;
//   2: a sealed object for OpenObject (kind, id and raw length fixed);
//   3: the plaintext body of an object (encoding byte + payload), sealed
//      here; the next three bytes give the raw length.
// Nothing may crash; every refusal has the documented code and category; an
// index that is accepted lists only ranges inside the blob, which are then
// opened (and refused or not) without crashing.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "crypto/aead.h"
#include "crypto/keys.h"
#include "repo/object_codec.h"
#include "repo/pack.h"

namespace {

hx::VaultContext MakeContext() {
  hx::SecretKey master;
  for (std::size_t i = 0; i < hx::kSecretKeySize; ++i) {
    master.mutable_bytes()[i] = static_cast<std::uint8_t>(i);
  }
  hx::VaultContext context;
  context.vault_id = "000102030405060708090a0b0c0d0e0f";
  context.keys = hx::VaultKeys::Derive(master);
  return context;
}

const hx::VaultContext& Context() {
  static const hx::VaultContext context = MakeContext();
  return context;
}

void CheckIndex(std::span<const std::uint8_t> blob) {
  auto index = hx::ReadPackIndex(Context(), "blob", blob);
  if (!index.ok()) {
    if (index.error().code != hx::SyncCode::kStateFailed ||
        index.error().category != hx::Category::kCorrupt) {
      __builtin_trap();
    }
    return;
  }
  for (const hx::ObjectLocation& location : *index) {
    if (location.offset > blob.size() || location.length > blob.size() - location.offset) {
      __builtin_trap();
    }
    auto opened = hx::OpenObject(Context(), location, blob.subspan(location.offset, location.length));
    if (!opened.ok() && opened.error().code != hx::SyncCode::kApplyFailed) __builtin_trap();
  }
}

void CheckOpen(std::uint64_t raw_length, std::span<const std::uint8_t> sealed) {
  hx::ObjectId id{};
  auto opened = hx::OpenObject(Context(), hx::ObjectKind::kChunk, id, raw_length, sealed);
  if (opened.ok()) {
    if (opened->size() != raw_length) __builtin_trap();
    return;
  }
  const hx::Category category = opened.error().category;
  if (opened.error().code != hx::SyncCode::kApplyFailed ||
      (category != hx::Category::kCorrupt && category != hx::Category::kHashMismatch)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  const hx::VaultContext& context = Context();
  switch (data[0] % 4) {
    case 0:
      CheckIndex(rest);
      break;
    case 1: {
      if (rest.size() < 2) return 0;
      const std::size_t objects = rest[0] | (std::size_t{rest[1]} << 8);
      std::vector<std::uint8_t> blob(objects, 0);
      const std::vector<std::uint8_t> sealed = hx::AeadSealSynthetic(
          context.keys.content, context.keys.nonce,
          hx::EncodeAssociatedData({"hx pack index v1", context.vault_id}), rest.subspan(2));
      blob.insert(blob.end(), sealed.begin(), sealed.end());
      for (int i = 0; i < 4; ++i) blob.push_back(static_cast<std::uint8_t>(sealed.size() >> (8 * i)));
      blob.insert(blob.end(), hx::kPackMagic.begin(), hx::kPackMagic.end());
      CheckIndex(blob);
      break;
    }
    case 2:
      CheckOpen(rest.size() > 41 ? rest.size() - 41 : 0, rest);
      break;
    case 3: {
      if (rest.size() < 3) return 0;
      // Up to 16 MiB: enough for bombs, small enough to stay fast.
      const std::uint64_t raw_length = rest[0] | (std::uint64_t{rest[1]} << 8) |
                                       (std::uint64_t{rest[2]} << 16);
      const hx::ObjectId id{};
      const std::vector<std::uint8_t> sealed = hx::AeadSealSynthetic(
          context.keys.content, context.keys.nonce,
          hx::ObjectAssociatedData(context, hx::ObjectKind::kChunk, id), rest.subspan(3));
      CheckOpen(raw_length, sealed);
      break;
    }
  }
  return 0;
}
