#include "hash/blake3.h"

#include <algorithm>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "hash/blake3_test_reference.h"

namespace hx {
namespace {

using blake3_reference::Mode;

// ---------------------------------------------------------------------------
// The official vectors (see /work/shared/vectors/README.md): input byte i is
// i mod 251, every output is 131 bytes of extended output.

struct VectorCase {
  std::size_t input_len = 0;
  std::string hash;
  std::string keyed_hash;
  std::string derive_key;
};

struct VectorFile {
  std::string key;
  std::string context;
  std::vector<VectorCase> cases;
};

const VectorFile& Vectors() {
  static const VectorFile file = [] {
    VectorFile result;
    std::ifstream in(std::string(HX_SHARED_DIR) + "/vectors/blake3_test_vectors.json");
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return result;
    result.key = json.at("key").get<std::string>();
    result.context = json.at("context_string").get<std::string>();
    for (const auto& c : json.at("cases")) {
      result.cases.push_back({c.at("input_len").get<std::size_t>(), c.at("hash").get<std::string>(),
                              c.at("keyed_hash").get<std::string>(),
                              c.at("derive_key").get<std::string>()});
    }
    return result;
  }();
  return file;
}

std::vector<std::uint8_t> PatternInput(std::size_t length) {
  std::vector<std::uint8_t> input(length);
  for (std::size_t i = 0; i < length; ++i) input[i] = static_cast<std::uint8_t>(i % 251);
  return input;
}

Blake3Key VectorKey() {
  Blake3Key key{};
  const std::string& text = Vectors().key;
  std::copy_n(text.begin(), std::min(text.size(), key.size()), key.begin());
  return key;
}

std::span<const std::uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Blake3Hasher MakeHasher(Mode mode, Blake3Backend backend) {
  Blake3Hasher hasher;
  if (mode == Mode::kKeyedHash) hasher = Blake3Hasher::Keyed(VectorKey());
  if (mode == Mode::kDeriveKey) hasher = Blake3Hasher::DeriveKey(Vectors().context);
  hasher.SetBackendForTesting(backend);
  return hasher;
}

const std::string& Expected(const VectorCase& c, Mode mode) {
  switch (mode) {
    case Mode::kKeyedHash:
      return c.keyed_hash;
    case Mode::kDeriveKey:
      return c.derive_key;
    case Mode::kHash:
      break;
  }
  return c.hash;
}

std::string ModeName(Mode mode) {
  switch (mode) {
    case Mode::kKeyedHash:
      return "keyed_hash";
    case Mode::kDeriveKey:
      return "derive_key";
    case Mode::kHash:
      break;
  }
  return "hash";
}

// Ways of cutting the input into Update() calls: piece sizes used in turn,
// cycling; no pieces means one Update with everything.
struct Split {
  std::string name;
  std::vector<std::size_t> pieces;
};

const std::vector<Split>& Splits() {
  static const std::vector<Split> splits = {
      {"one_update", {}},
      {"byte_by_byte", {1}},
      {"around_a_block", {1, 63, 64, 65}},
      {"around_a_chunk", {1023, 1024, 1025}},
      {"four_chunks_and_a_byte", {4097}},
      {"irregular_with_empty_updates", {1, 0, 63, 64, 0, 65, 1023, 1024, 1025, 4097, 7, 16385}},
      {"chunk_then_large", {1024, 65536}},
      {"odd_chunks", {3072, 5123}},
  };
  return splits;
}

void Feed(Blake3Hasher& hasher, std::span<const std::uint8_t> input,
          const std::vector<std::size_t>& pieces) {
  if (pieces.empty()) {
    hasher.Update(input);
    return;
  }
  for (std::size_t i = 0; !input.empty(); ++i) {
    const std::size_t n = std::min(pieces[i % pieces.size()], input.size());
    hasher.Update(input.first(n));
    input = input.subspan(n);
  }
}

std::vector<std::uint8_t> Output(const Blake3Hasher& hasher, std::size_t length) {
  std::vector<std::uint8_t> out(length);
  hasher.Finalize(out);
  return out;
}

// ---------------------------------------------------------------------------
// Every vector, every mode, every backend, every split.

class Blake3VectorTest : public testing::TestWithParam<std::tuple<Blake3Backend, Mode>> {};

TEST_P(Blake3VectorTest, MatchesOfficialVectorsForEveryWayOfFeedingTheInput) {
  const auto [backend, mode] = GetParam();
  ASSERT_EQ(Vectors().cases.size(), 35u) << "cannot read the vectors under " << HX_SHARED_DIR;
  for (const VectorCase& c : Vectors().cases) {
    const std::vector<std::uint8_t> input = PatternInput(c.input_len);
    const std::string& expected = Expected(c, mode);
    ASSERT_EQ(expected.size(), 2 * 131u);
    for (const Split& split : Splits()) {
      SCOPED_TRACE("input_len " + std::to_string(c.input_len) + ", split " + split.name);
      Blake3Hasher hasher = MakeHasher(mode, backend);
      Feed(hasher, input, split.pieces);
      EXPECT_EQ(ToHex(Output(hasher, 131)), expected);
      EXPECT_EQ(ToHex(hasher.Finalize()), expected.substr(0, 2 * kBlake3OutLen));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackendsAndModes, Blake3VectorTest,
                         testing::Combine(testing::ValuesIn(AvailableBlake3Backends()),
                                          testing::Values(Mode::kHash, Mode::kKeyedHash,
                                                          Mode::kDeriveKey)),
                         [](const testing::TestParamInfo<Blake3VectorTest::ParamType>& param_info) {
                           return std::string(ToString(std::get<0>(param_info.param))) + "_" +
                                  ModeName(std::get<1>(param_info.param));
                         });

// ---------------------------------------------------------------------------
// Per-backend behaviour of the hasher.

class Blake3BackendTest : public testing::TestWithParam<Blake3Backend> {};

TEST_P(Blake3BackendTest, FinalizeSeekAgreesWithSlicesOfALongerOutput) {
  for (std::size_t input_len : {0u, 1u, 64u, 1024u, 1025u, 2048u, 5000u, 70000u}) {
    Blake3Hasher hasher = MakeHasher(Mode::kKeyedHash, GetParam());
    hasher.Update(PatternInput(input_len));
    const std::vector<std::uint8_t> full = Output(hasher, 1000);
    for (std::size_t seek : {0u, 1u, 31u, 32u, 63u, 64u, 65u, 127u, 128u, 500u, 999u}) {
      for (std::size_t length : {0u, 1u, 31u, 64u, 65u, 200u}) {
        if (seek + length > full.size()) continue;
        SCOPED_TRACE("input_len " + std::to_string(input_len) + ", seek " + std::to_string(seek) +
                     ", length " + std::to_string(length));
        std::vector<std::uint8_t> slice(length);
        hasher.FinalizeSeek(seek, slice);
        EXPECT_TRUE(std::equal(slice.begin(), slice.end(),
                               full.begin() + static_cast<std::ptrdiff_t>(seek)));
      }
    }
  }
}

TEST_P(Blake3BackendTest, FinalizeLeavesTheHasherReadyForMoreInput) {
  // Split points that leave a partial chunk, a full chunk, and a subtree
  // pair pending at the first Finalize.
  const std::vector<std::uint8_t> input = PatternInput(102400);
  for (std::size_t first : {0u, 1u, 1000u, 1024u, 2048u, 3000u, 65536u}) {
    SCOPED_TRACE("first " + std::to_string(first));
    Blake3Hasher hasher;
    hasher.SetBackendForTesting(GetParam());
    hasher.Update(std::span(input).first(first));
    EXPECT_EQ(hasher.Finalize(), Blake3Hash(std::span(input).first(first)));
    hasher.Update(std::span(input).subspan(first));
    EXPECT_EQ(ToHex(hasher.Finalize()), Vectors().cases.back().hash.substr(0, 64));
  }
}

TEST_P(Blake3BackendTest, ResetStartsOverInTheSameModeKeyAndBackend) {
  const VectorCase& c = Vectors().cases.at(17);  // 1025 bytes
  for (Mode mode : {Mode::kHash, Mode::kKeyedHash, Mode::kDeriveKey}) {
    SCOPED_TRACE(ModeName(mode));
    Blake3Hasher hasher = MakeHasher(mode, GetParam());
    hasher.Update(PatternInput(40000));
    hasher.Reset();
    hasher.Update(PatternInput(c.input_len));
    EXPECT_EQ(ToHex(Output(hasher, 131)), Expected(c, mode));
  }
}

TEST_P(Blake3BackendTest, CopiesOfAHasherContinueIndependently) {
  Blake3Hasher first = MakeHasher(Mode::kHash, GetParam());
  first.Update(PatternInput(3000));
  Blake3Hasher second = first;
  first.Update("one continuation");
  second.Update("another continuation");
  EXPECT_NE(first.Finalize(), second.Finalize());
  Blake3Hasher expected;
  expected.Update(PatternInput(3000));
  expected.Update("another continuation");
  EXPECT_EQ(second.Finalize(), expected.Finalize());
}

// Trees larger than the official vectors (which stop at 100 chunks), in
// particular longer than the hasher's largest batched subtree, against the
// specification's recursive definition.
TEST_P(Blake3BackendTest, LargeInputsMatchTheSpecificationTree) {
  for (std::size_t length : {262144u, 262145u, 524288u + 1024u, 1048576u + 1025u}) {
    const std::vector<std::uint8_t> input = PatternInput(length);
    for (Mode mode : {Mode::kHash, Mode::kKeyedHash, Mode::kDeriveKey}) {
      const std::vector<std::uint8_t> expected =
          blake3_reference::Blake3(mode, input, VectorKey(), Bytes(Vectors().context), 100);
      for (const std::vector<std::size_t>& pieces :
           std::vector<std::vector<std::size_t>>{{}, {1000}, {1, 4097, 300000}}) {
        SCOPED_TRACE("length " + std::to_string(length) + ", mode " + ModeName(mode) + ", pieces " +
                     std::to_string(pieces.size()));
        Blake3Hasher hasher = MakeHasher(mode, GetParam());
        Feed(hasher, input, pieces);
        EXPECT_EQ(Output(hasher, 100), expected);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Blake3BackendTest,
                         testing::ValuesIn(AvailableBlake3Backends()),
                         [](const testing::TestParamInfo<Blake3Backend>& param_info) {
                           return std::string(ToString(param_info.param));
                         });

// ---------------------------------------------------------------------------
// Backend-independent facts.

// Values computed with the independent b3sum 1.2.0 (Rust), on the same
// i mod 251 input pattern: trees of exactly 256 chunks, 256 chunks plus a
// byte, and 1 MiB plus a chunk and a byte.
TEST(Blake3Test, MatchesAnIndependentImplementationOnLargeInputs) {
  struct Golden {
    std::size_t length;
    const char* hash;
    const char* keyed_hash;
  };
  const Golden goldens[] = {
      {262144, "d57dc906e20d3fd326ffaa85535500486f46a0979f5a323f028dcabfd381fd4a",
       "78b2f14279f6b0c44ad68e55dbf038e8e5a7f5d09cd328e8b4a8ce0f6ea900a0"},
      {262145, "531c319935cf78f34869faebd865e5748266b1799039103bfb851a680d9ed30c",
       "d90e1ca9e8c450f1937898a2a38d4fe2e6977cfa280db88213603eb9e61af23d"},
      {1049601, "860f19b5fefff01454de342be87a20059449529116a20fb22a21da665aafa071",
       "cad95b45045adc2bbe591d0f6fd8d71305b4f048020a537734c94b9b599f6121"},
  };
  for (const Golden& golden : goldens) {
    SCOPED_TRACE(golden.length);
    const std::vector<std::uint8_t> input = PatternInput(golden.length);
    EXPECT_EQ(ToHex(Blake3Hash(input)), golden.hash);
    EXPECT_EQ(ToHex(Blake3KeyedHash(VectorKey(), input)), golden.keyed_hash);
    EXPECT_EQ(ToHex(blake3_reference::Blake3(Mode::kHash, input, {}, {}, 32)), golden.hash);
  }
}

TEST(Blake3Test, OneShotHelpersMatchTheVectors) {
  const VectorCase& c = Vectors().cases.at(23);  // 4097 bytes
  ASSERT_EQ(c.input_len, 4097u);
  const std::vector<std::uint8_t> input = PatternInput(c.input_len);
  EXPECT_EQ(ToHex(Blake3Hash(input)), c.hash.substr(0, 64));
  EXPECT_EQ(ToHex(Blake3Hash(
                std::string_view(reinterpret_cast<const char*>(input.data()), input.size()))),
            c.hash.substr(0, 64));
  EXPECT_EQ(ToHex(Blake3KeyedHash(VectorKey(), input)), c.keyed_hash.substr(0, 64));
  std::vector<std::uint8_t> derived(131);
  Blake3DeriveKey(Vectors().context, input, derived);
  EXPECT_EQ(ToHex(derived), c.derive_key);
}

TEST(Blake3Test, HexOfKnownStrings) {
  EXPECT_EQ(Blake3Hex(""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_EQ(Blake3Hex("abc"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
}

TEST(Blake3Test, EmptyUpdatesChangeNothing) {
  Blake3Hasher hasher;
  hasher.Update(std::string_view());
  hasher.Update(std::span<const std::uint8_t>());
  EXPECT_EQ(hasher.Finalize(), Blake3Hash(""));
}

TEST(Blake3Test, ModesAreDomainSeparated) {
  const std::vector<std::uint8_t> input = PatternInput(100);
  Blake3Key zero_key{};
  std::array<std::uint8_t, 32> derived{};
  Blake3DeriveKey("", input, derived);
  EXPECT_NE(Blake3Hash(input), Blake3KeyedHash(zero_key, input));
  EXPECT_NE(Blake3Hash(input), derived);
  EXPECT_NE(Blake3KeyedHash(zero_key, input), derived);
}

TEST(Blake3Test, PortableComesFirstAndTheDefaultIsAvailable) {
  const std::vector<Blake3Backend> backends = AvailableBlake3Backends();
  ASSERT_FALSE(backends.empty());
  EXPECT_EQ(backends.front(), Blake3Backend::kPortable);
  EXPECT_NE(std::find(backends.begin(), backends.end(), DefaultBlake3Backend()), backends.end());
  EXPECT_TRUE(std::is_sorted(backends.begin(), backends.end()));
}

TEST(Blake3Test, BackendNames) {
  EXPECT_EQ(ToString(Blake3Backend::kPortable), "portable");
  EXPECT_EQ(ToString(Blake3Backend::kSse41), "sse41");
  EXPECT_EQ(ToString(Blake3Backend::kAvx2), "avx2");
  EXPECT_EQ(ToString(Blake3Backend::kAvx512), "avx512");
}

TEST(Blake3Test, AnUnavailableBackendIsIgnored) {
  const std::vector<Blake3Backend> available = AvailableBlake3Backends();
  if (available.back() == Blake3Backend::kAvx512) {
    GTEST_SKIP() << "every backend runs on this CPU";
  }
  Blake3Hasher hasher;
  hasher.SetBackendForTesting(Blake3Backend::kAvx512);
  hasher.Update(PatternInput(102400));
  EXPECT_EQ(ToHex(hasher.Finalize()), Vectors().cases.back().hash.substr(0, 64));
}

}  // namespace
}  // namespace hx
