// Properties of canonical JSON over random values: writing then reading gives
// the value back, writing is idempotent, the key order is UTF-16 order, and
// the strict reader agrees with an independent JSON implementation
// (nlohmann's own parser and serializer) on everything in the subset.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/json_string.h"
#include "json/canonical_json.h"

namespace hx {
namespace {

using json = nlohmann::json;

// Test-local UTF-8 encoder and UTF-16 converter, written independently of
// json/utf8.h so that they can serve as oracles.
std::string EncodeUtf8(const std::vector<std::uint32_t>& code_points) {
  std::string out;
  for (std::uint32_t cp : code_points) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

std::u16string ToUtf16(const std::vector<std::uint32_t>& code_points) {
  std::u16string out;
  for (std::uint32_t cp : code_points) {
    if (cp < 0x10000) {
      out += static_cast<char16_t>(cp);
    } else {
      out += static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10));
      out += static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF));
    }
  }
  return out;
}

// rc::gen::inRange scales its range with the test size, which starts at 0;
// these ranges must be uniform from the first test on.
template <typename T>
rc::Gen<T> Uniform(T min, T max) {
  return rc::gen::resize(100, rc::gen::inRange<T>(min, max));
}

// Scalar values from every class that matters: controls, ASCII, the rest of
// the BMP below and above the surrogates, supplementary planes, and the
// characters at the edges.
rc::Gen<std::uint32_t> GenCodePoint() {
  return rc::gen::oneOf(
      Uniform<std::uint32_t>(0, 0x20), Uniform<std::uint32_t>(0x20, 0x80),
      Uniform<std::uint32_t>(0x20, 0x80), Uniform<std::uint32_t>(0x80, 0xD800),
      Uniform<std::uint32_t>(0xE000, 0x10000),
      Uniform<std::uint32_t>(0x10000, 0x110000),
      rc::gen::element<std::uint32_t>('"', '\\', '/', 0x7F, 0xD7FF, 0xE000, 0xFEFF, 0xFFFF, 0x10000,
                                      0x1F600, 0x10FFFF));
}

// Code points from a tiny alphabet straddling the places where UTF-8 and
// UTF-16 orders differ, so that random keys often share prefixes.
rc::Gen<std::uint32_t> GenKeyCodePoint() {
  return rc::gen::element<std::uint32_t>('a', 'b', 0xE9, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000,
                                         0x1F600, 0x10FFFF);
}

rc::Gen<std::vector<std::uint32_t>> GenCodePoints(rc::Gen<std::uint32_t> gen) {
  return rc::gen::mapcat(Uniform(0, 8), [gen](int n) {
    return rc::gen::container<std::vector<std::uint32_t>>(static_cast<std::size_t>(n), gen);
  });
}

rc::Gen<std::string> GenString() { return rc::gen::map(GenCodePoints(GenCodePoint()), EncodeUtf8); }

rc::Gen<std::string> GenKey() {
  return rc::gen::oneOf(GenString(), rc::gen::map(GenCodePoints(GenKeyCodePoint()), EncodeUtf8));
}

rc::Gen<std::int64_t> GenInteger() {
  return rc::gen::oneOf(
      rc::gen::arbitrary<std::int64_t>(), rc::gen::inRange<std::int64_t>(-1000, 1000),
      rc::gen::element<std::int64_t>(0, -1, std::numeric_limits<std::int64_t>::min(),
                                     std::numeric_limits<std::int64_t>::max()));
}

rc::Gen<json> GenJson(int depth) {
  rc::Gen<json> leaf = rc::gen::oneOf(
      rc::gen::just(json(nullptr)),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return json(b); }),
      rc::gen::map(GenInteger(), [](std::int64_t i) { return json(i); }),
      rc::gen::map(GenString(), [](std::string s) { return json(std::move(s)); }));
  if (depth == 0) return leaf;
  rc::Gen<json> array = rc::gen::mapcat(Uniform(0, 5), [depth](int n) {
    return rc::gen::map(
        rc::gen::container<std::vector<json>>(static_cast<std::size_t>(n), GenJson(depth - 1)),
        [](std::vector<json> items) { return json(std::move(items)); });
  });
  rc::Gen<json> object = rc::gen::mapcat(Uniform(0, 6), [depth](int n) {
    return rc::gen::map(
        rc::gen::container<std::vector<std::pair<std::string, json>>>(
            static_cast<std::size_t>(n), rc::gen::pair(GenKey(), GenJson(depth - 1))),
        [](std::vector<std::pair<std::string, json>> members) {
          json value = json::object();
          for (auto& [key, member] : members) value[key] = std::move(member);
          return value;
        });
  });
  // Containers are favoured so that most values nest a few levels deep.
  return rc::gen::weightedOneOf<json>({{1, leaf}, {2, array}, {2, object}});
}

std::string MustWrite(const json& value) {
  Result<std::string> written = WriteCanonicalJson(value);
  RC_ASSERT(written.ok());
  return std::move(written).value();
}

RC_GTEST_PROP(CanonicalJsonProperty, WriteThenParseGivesTheValueBack, ()) {
  const json value = *GenJson(4);
  const std::string text = MustWrite(value);
  const Result<json> parsed = ParseJson(text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == value);
}

RC_GTEST_PROP(CanonicalJsonProperty, WritingIsIdempotent, ()) {
  const std::string text = MustWrite(*GenJson(4));
  const Result<json> parsed = ParseJson(text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(MustWrite(*parsed) == text);
}

RC_GTEST_PROP(CanonicalJsonProperty, ParseCanonicalJsonAcceptsEveryWriterOutput, ()) {
  const json value = *GenJson(4);
  const Result<json> parsed = ParseCanonicalJson(MustWrite(value));
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == value);
}

RC_GTEST_PROP(CanonicalJsonProperty, AnyOtherSpellingIsReadButIsNotCanonical, ()) {
  // nlohmann's serializer, indented and with every non-ASCII character as a
  // \u escape (surrogate pairs for supplementary ones), is an independent
  // spelling of the same value.
  const json value = *GenJson(3);
  const int indent = *Uniform(0, 3);
  const std::string other = value.dump(indent, ' ', /*ensure_ascii=*/true);
  const Result<json> parsed = ParseJson(other);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == value);
  const std::string canonical = MustWrite(value);
  RC_ASSERT(ParseCanonicalJson(other).ok() == (other == canonical));
}

RC_GTEST_PROP(CanonicalJsonProperty, AnIndependentParserReadsTheSameValue, ()) {
  const json value = *GenJson(4);
  const json reread = json::parse(MustWrite(value), nullptr, /*allow_exceptions=*/false);
  RC_ASSERT(!reread.is_discarded());
  RC_ASSERT(reread == value);
}

RC_GTEST_PROP(CanonicalJsonProperty, CanonicalKeyLessIsUtf16CodeUnitOrder, ()) {
  const auto a = *GenCodePoints(GenKeyCodePoint());
  const auto b = *rc::gen::oneOf(GenCodePoints(GenKeyCodePoint()), GenCodePoints(GenCodePoint()));
  RC_ASSERT(CanonicalKeyLess(EncodeUtf8(a), EncodeUtf8(b)) == (ToUtf16(a) < ToUtf16(b)));
  RC_ASSERT(CanonicalKeyLess(EncodeUtf8(b), EncodeUtf8(a)) == (ToUtf16(b) < ToUtf16(a)));
}

RC_GTEST_PROP(CanonicalJsonProperty, ObjectsAreWrittenInUtf16KeyOrder, ()) {
  // Oracle: sort the keys as UTF-16 strings and quote them with the shared
  // quoting function.
  const auto keys = *rc::gen::container<std::vector<std::vector<std::uint32_t>>>(
      GenCodePoints(rc::gen::oneOf(GenKeyCodePoint(), GenCodePoint())));
  std::vector<std::pair<std::u16string, std::string>> sorted;
  json object = json::object();
  for (const auto& key : keys) {
    const std::string utf8 = EncodeUtf8(key);
    if (object.contains(utf8)) continue;
    object[utf8] = static_cast<std::int64_t>(sorted.size());
    sorted.emplace_back(ToUtf16(key), utf8);
  }
  std::sort(sorted.begin(), sorted.end());
  std::string expected = "{";
  for (const auto& [utf16, utf8] : sorted) {
    if (expected.size() > 1) expected += ',';
    AppendJsonQuoted(expected, utf8);
    expected += ':' + std::to_string(object[utf8].get<std::int64_t>());
  }
  expected += '}';
  RC_ASSERT(MustWrite(object) == expected);
}

RC_GTEST_PROP(CanonicalJsonProperty, TruncatedCanonicalTextIsRefused, ()) {
  // No proper prefix of a canonical container is a complete JSON text.
  const json value = *rc::gen::oneOf(rc::gen::map(GenJson(3), [](json v) { return json::array({v}); }),
                                     rc::gen::map(GenJson(3), [](json v) { return json{{"k", v}}; }));
  const std::string text = MustWrite(value);
  const std::size_t cut = *Uniform<std::size_t>(0, text.size());
  RC_ASSERT(!ParseJson(std::string_view(text).substr(0, cut)).ok());
}

}  // namespace
}  // namespace hx
