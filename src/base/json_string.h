// JSON string quoting shared by every JSON writer in hx (errors, canonical
// JSON). Escaping follows RFC 8785 (JCS): '"' and '\\' are escaped, U+0008,
// U+0009, U+000A, U+000C, U+000D use their short forms, other control
// characters below U+0020 become \u00xx (lowercase hex), and everything else
// (including non-ASCII) is copied as UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace hx {

// Appends `text` as a quoted JSON string. Precondition: `text` is valid UTF-8
// (callers validate untrusted input first; see json/canonical_json.h).
void AppendJsonQuoted(std::string& out, std::string_view text);

}  // namespace hx
