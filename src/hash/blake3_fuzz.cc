// Differential fuzzing of BLAKE3: for random data, mode, key, Update split
// points and output window, every backend's streaming hasher must produce
// the bytes of the specification's recursive tree (portable compression).
//
// The fuzz input is small, so the message is the input's tail repeated up to
// a chosen length: that reaches trees far larger than the fuzz input.
#include <cstdlib>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "hash/blake3.h"
#include "hash/blake3_test_reference.h"

namespace {

using hx::blake3_reference::Mode;

// Mostly small messages (where block and chunk edges are dense), sometimes
// large ones, rarely past the hasher's largest batched subtree (256 chunks).
std::size_t MessageLength(FuzzedDataProvider& provider) {
  const int size_class = provider.ConsumeIntegralInRange(0, 31);
  if (size_class < 20) return provider.ConsumeIntegralInRange<std::size_t>(0, 1100);
  if (size_class < 28) return provider.ConsumeIntegralInRange<std::size_t>(0, 9 * 1024);
  if (size_class < 31) return provider.ConsumeIntegralInRange<std::size_t>(0, 70 * 1024);
  return provider.ConsumeIntegralInRange<std::size_t>(0, 300 * 1024);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const auto mode = static_cast<Mode>(provider.ConsumeIntegralInRange(0, 2));
  hx::Blake3Key key{};
  provider.ConsumeData(key.data(), key.size());
  const std::string context = provider.ConsumeRandomLengthString(80);
  const std::size_t length = MessageLength(provider);
  std::vector<std::size_t> pieces(provider.ConsumeIntegralInRange(0, 12));
  for (auto& piece : pieces) {
    piece = provider.ConsumeBool() ? provider.ConsumeIntegralInRange<std::size_t>(0, 130)
                                   : provider.ConsumeIntegralInRange<std::size_t>(0, 300000);
  }
  const std::uint64_t seek = provider.ConsumeIntegralInRange<std::uint64_t>(0, 1000);
  const std::size_t out_len = provider.ConsumeIntegralInRange<std::size_t>(0, 200);
  const std::vector<std::uint8_t> tail = provider.ConsumeRemainingBytes<std::uint8_t>();
  std::vector<std::uint8_t> message;
  message.reserve(length);
  const std::vector<std::uint8_t> pattern = tail.empty() ? std::vector<std::uint8_t>{0} : tail;
  while (message.size() < length) {
    const std::size_t take = std::min(pattern.size(), length - message.size());
    message.insert(message.end(), pattern.begin(),
                   pattern.begin() + static_cast<std::ptrdiff_t>(take));
  }

  const std::vector<std::uint8_t> reference = hx::blake3_reference::Blake3(
      mode, message, key,
      std::span(reinterpret_cast<const std::uint8_t*>(context.data()), context.size()),
      static_cast<std::size_t>(seek) + out_len);

  for (hx::Blake3Backend backend : hx::AvailableBlake3Backends()) {
    hx::Blake3Hasher hasher;
    if (mode == Mode::kKeyedHash) hasher = hx::Blake3Hasher::Keyed(key);
    if (mode == Mode::kDeriveKey) hasher = hx::Blake3Hasher::DeriveKey(context);
    hasher.SetBackendForTesting(backend);
    std::span<const std::uint8_t> rest(message);
    for (std::size_t piece : pieces) {
      const std::size_t n = std::min(piece, rest.size());
      hasher.Update(rest.first(n));
      rest = rest.subspan(n);
    }
    hasher.Update(rest);
    std::vector<std::uint8_t> out(out_len);
    hasher.FinalizeSeek(seek, out);
    if (!std::equal(out.begin(), out.end(),
                    reference.begin() + static_cast<std::ptrdiff_t>(seek))) {
      std::abort();
    }
  }
  return 0;
}
