// Properties over random inputs: every backend, fed in any split, gives the
// output of the specification's tree computed by the portable code.
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "hash/blake3.h"
#include "hash/blake3_test_reference.h"

namespace hx {
namespace {

using blake3_reference::Mode;

std::vector<std::uint8_t> RandomBytes(std::size_t length, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(length);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  return bytes;
}

RC_GTEST_PROP(Blake3Property, EveryBackendAgreesWithPortableForAnySplit, ()) {
  // Lengths cluster at small sizes but reach past the largest batched
  // subtree (256 chunks).
  const auto length = *rc::gen::oneOf(rc::gen::inRange<std::size_t>(0, 4 * 1024 + 1),
                                      rc::gen::inRange<std::size_t>(0, 300 * 1024 + 1));
  const auto seed = *rc::gen::arbitrary<std::uint32_t>();
  const auto pieces = *rc::gen::container<std::vector<std::size_t>>(rc::gen::oneOf(
      rc::gen::inRange<std::size_t>(0, 130), rc::gen::inRange<std::size_t>(0, 70000)));
  const auto mode = *rc::gen::element(Mode::kHash, Mode::kKeyedHash, Mode::kDeriveKey);
  const auto key =
      *rc::gen::container<std::vector<std::uint8_t>>(32, rc::gen::arbitrary<std::uint8_t>());
  const auto out_len = *rc::gen::inRange<std::size_t>(1, 300);
  const std::vector<std::uint8_t> input = RandomBytes(length, seed);
  const std::string context = "hx 2024 property test context";

  Blake3Hasher proto;
  if (mode == Mode::kKeyedHash) {
    Blake3Key key_array{};
    std::copy(key.begin(), key.end(), key_array.begin());
    proto = Blake3Hasher::Keyed(key_array);
  } else if (mode == Mode::kDeriveKey) {
    proto = Blake3Hasher::DeriveKey(context);
  }
  const std::vector<std::uint8_t> expected = blake3_reference::Blake3(
      mode, input, key,
      std::span(reinterpret_cast<const std::uint8_t*>(context.data()), context.size()), out_len);

  for (Blake3Backend backend : AvailableBlake3Backends()) {
    Blake3Hasher hasher = proto;
    hasher.SetBackendForTesting(backend);
    std::span<const std::uint8_t> rest(input);
    for (std::size_t piece : pieces) {
      const std::size_t n = std::min(piece, rest.size());
      hasher.Update(rest.first(n));
      rest = rest.subspan(n);
    }
    hasher.Update(rest);
    std::vector<std::uint8_t> out(out_len);
    hasher.Finalize(out);
    RC_ASSERT(out == expected);
  }
}

}  // namespace
}  // namespace hx
