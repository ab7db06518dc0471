// Fuzzes the decoders of the governance records (meta/path_lock.h,
// meta/membership.h) on untrusted bytes. The first byte selects the target;
// the rest is the input:
//   0 sealed path lock          DecodePathLock (name of "docs")
//   1 sealed membership record  DecodeMembership
//   2 path lock plaintext       sealed here as the lock of "docs", then decoded
//   3 membership plaintext      sealed here, then DecodeMembership
//   4 a lock path               NormalizeLockPath
// Modes 2-3 seal the fuzzer's bytes with the test vault's keys, so that the
// JSON behind the AEAD is fuzzed too (random bytes never authenticate).
//
// Every input must give a value or an error, never a crash; decoding errors
// must be KC_SYNC_STATE_FAILED with category corrupt or unsupported (never
// internal); whatever decodes must encode back to exactly the input bytes
// (one value, one encoding); a normalized path must normalize to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "meta/membership.h"
#include "meta/meta_test_util.h"
#include "meta/path_lock.h"

namespace {

using hx::Bytes;

void Check(bool condition) {
  if (!condition) std::abort();
}

template <typename T>
void CheckError(const hx::Result<T>& result) {
  if (result.ok()) return;
  Check(result.error().code == hx::SyncCode::kStateFailed);
  Check(result.error().category == hx::Category::kCorrupt ||
        result.error().category == hx::Category::kUnsupported);
}

bool Same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void FuzzLock(const hx::VaultContext& ctx, const std::string& name,
              std::span<const std::uint8_t> bytes) {
  hx::Result<hx::PathLock> lock = hx::DecodePathLock(ctx, name, bytes);
  CheckError(lock);
  if (!lock.ok()) return;
  Check(lock->path == "docs");
  hx::Result<Bytes> again = hx::EncodePathLock(ctx, *lock);
  Check(again.ok() && Same(*again, bytes));
}

void FuzzMembership(const hx::VaultContext& ctx, std::span<const std::uint8_t> bytes) {
  hx::Result<hx::Membership> membership = hx::DecodeMembership(ctx, bytes);
  CheckError(membership);
  if (!membership.ok()) return;
  hx::Result<Bytes> again = hx::EncodeMembership(ctx, *membership);
  Check(again.ok() && Same(*again, bytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const hx::VaultContext ctx = hx::meta_testing::TestContext();
  static const std::string lock_name = hx::PathLockName(ctx, "docs");
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      FuzzLock(ctx, lock_name, input);
      break;
    case 1:
      FuzzMembership(ctx, input);
      break;
    case 2:
      FuzzLock(ctx, lock_name,
               hx::AeadSealSynthetic(
                   ctx.keys.content, ctx.keys.nonce,
                   hx::EncodeAssociatedData({"hx path lock v1", ctx.vault_id, lock_name}),
                   input));
      break;
    case 3:
      FuzzMembership(ctx, hx::AeadSealSynthetic(
                              ctx.keys.content, ctx.keys.nonce,
                              hx::EncodeAssociatedData({"hx membership v1", ctx.vault_id}),
                              input));
      break;
    default: {
      const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
      hx::Result<std::string> path = hx::NormalizeLockPath(text);
      if (path.ok()) {
        hx::Result<std::string> again = hx::NormalizeLockPath(*path);
        Check(again.ok() && *again == *path);
      } else {
        Check(path.error().code == hx::SyncCode::kInputInvalid);
      }
      break;
    }
  }
  return 0;
}
