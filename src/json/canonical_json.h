// Canonical JSON: the one way hx writes JSON to a store, and the strict way
// it reads JSON from untrusted bytes.
//
// Every JSON document hx writes (head.json, conflict artifacts, reports,
// manifest plaintext) goes through WriteCanonicalJson, so the same state
// always gives the same bytes and golden tests can pin them. Every JSON
// document hx reads from outside goes through ParseJson (or
// ParseCanonicalJson where the bytes must also be canonical, e.g. head.json).
//
// ---- The format (the subset of RFC 8785, JCS, that hx uses) ---------------
//
// Values:
//   - null, true, false;
//   - integers in the int64 range [-2^63, 2^63-1]. There are no floating
//     point numbers at all: no fraction, no exponent, not even 1.0 or 1e3.
//     (So JCS's ES6 number formatting never applies.)
//   - strings of valid UTF-8 (RFC 3629: shortest form, no encoded UTF-16
//     surrogates, nothing above U+10FFFF). Any scalar value may appear,
//     U+0000 included.
//   - arrays, and objects whose keys (strings as above) are unique;
//   - at most 128 nested arrays/objects (kMaxJsonDepth; a top-level scalar
//     is depth 0, "[]" is depth 1).
//
// Canonical bytes (what WriteCanonicalJson produces):
//   - no whitespace anywhere outside strings, no byte order mark, no
//     trailing newline;
//   - object members sorted by key, keys compared as sequences of UTF-16
//     code units (RFC 8785 section 3.2.3). This is the UTF-8 byte order
//     except where one key has a character above U+FFFF and the other, at
//     the same position, one in U+E000..U+FFFF: UTF-16 puts the former
//     first (U+1F600 sorts before U+E000 and U+FFFD). CanonicalKeyLess is
//     that order;
//   - integers in shortest decimal: '-' only for negatives, no '+', no
//     leading zeros; zero is "0";
//   - strings escaped as RFC 8785 section 3.2.2.2: \" and \\, the short
//     forms \b \t \n \f \r, other U+0000..U+001F as \u00xx with lowercase
//     hex, and everything else (including '/', U+007F and all non-ASCII)
//     as raw UTF-8 (base/json_string.h).
//
// Strict reading (ParseJson) accepts RFC 8259 JSON within the value subset
// above and refuses:
//   - duplicate keys, compared after unescaping ("a" and "\u0061" clash);
//   - numbers with a fraction or exponent; integers outside int64; "-0"
//     (it is not a distinct integer and no hx writer produces it); leading
//     zeros;
//   - invalid UTF-8 anywhere (overlong forms, encoded surrogates, code points
//     above U+10FFFF, stray or missing continuation bytes), and \u escapes
//     that leave a surrogate unpaired;
//   - unescaped U+0000..U+001F inside strings; escapes other than
//     \" \\ \/ \b \f \n \r \t \uXXXX;
//   - a byte order mark, comments, single quotes, NaN/Infinity, trailing
//     commas, empty input, anything but whitespace (space, tab, LF, CR)
//     after the value;
//   - nesting deeper than JsonReadOptions::max_depth (default 128) and
//     input longer than JsonReadOptions::max_input_bytes.
// It accepts whitespace between tokens, \/, \u escapes in either case, and
// surrogate pairs (\ud83d\ude00). Integers come back as int64 values.
//
// Errors. A refused input is Error{KC_SYNC_INPUT_INVALID, invalid_input}
// with details {"offset": "<byte offset of the offending byte>"} and a
// message that says what and where ("duplicate key \"a\" at offset 17").
// Callers reading store objects may rewrap it (a store object that does not
// parse is corrupt). WriteCanonicalJson fails with
//   - KC_SYNC_INTERNAL (category internal) for values hx never builds: a
//     floating point number, a binary value, a discarded value. Such a value
//     is a bug in the caller, not bad input.
//   - KC_SYNC_INPUT_INVALID (invalid_input) for data that came from outside
//     and was not vetted: a string or key that is not valid UTF-8, an
//     unsigned integer above 2^63-1, nesting deeper than kMaxJsonDepth.
// Either way details {"path": "<RFC 6901 JSON Pointer of the value>"}.
// Nothing in this module throws; messages and details are always valid UTF-8.
//
// Thread-safety: pure functions on values; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {

// The deepest nesting the writer produces and the reader accepts by default.
inline constexpr int kMaxJsonDepth = 128;
// The most JsonReadOptions::max_depth may be raised to (the reader recurses
// once per level, so this bounds its stack use).
inline constexpr int kMaxJsonDepthLimit = 1024;

struct JsonReadOptions {
  // The deepest nesting of arrays/objects accepted. Leave at kMaxJsonDepth so
  // that everything the reader accepts can be written back. At most
  // kMaxJsonDepthLimit.
  int max_depth = kMaxJsonDepth;
  // Longer inputs are refused before parsing; the parsed value then uses
  // memory proportional to this. Lower it for small records read from
  // untrusted places (a lock file, a head).
  std::size_t max_input_bytes = std::size_t{64} << 20;
};

// Serializes `value` canonically (see above). Fails on floats, binary values,
// invalid UTF-8, unsigned integers above int64, nesting deeper than
// kMaxJsonDepth; on success the result is exactly what ParseCanonicalJson
// accepts for this value.
Result<std::string> WriteCanonicalJson(const nlohmann::json& value);

// Parses untrusted bytes strictly (see above). Never throws; memory use is
// proportional to text.size(). Integers are returned as int64 values
// (nlohmann value_t::number_integer), objects with their keys, arrays in
// order.
Result<nlohmann::json> ParseJson(std::string_view text,
                                 const JsonReadOptions& options = {});

// ParseJson, and also requires `text` to be exactly WriteCanonicalJson of the
// value (for store objects that must be canonical, e.g. head.json). A
// non-canonical text is refused with the offset of the first byte that
// differs from the canonical form. (With options.max_depth above
// kMaxJsonDepth, a value nested deeper than kMaxJsonDepth is refused too:
// it has no canonical form.)
Result<nlohmann::json> ParseCanonicalJson(std::string_view text,
                                          const JsonReadOptions& options = {});

// The canonical order of object keys: true if `a` sorts before `b` when both
// are compared as UTF-16 code unit sequences. Preconditions: both are valid
// UTF-8 (for other input the result is some fixed order but not meaningful).
bool CanonicalKeyLess(std::string_view a, std::string_view b);

}  // namespace hx
