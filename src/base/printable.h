// Text that is safe to print on a terminal, whatever bytes it came from.
//
// File names, lock paths, targets, member ids and error messages reach the
// CLI's human output from the store and from other devices: anyone who can
// write to the store (or name a file on another device) chooses them. Printed
// as they are, an escape sequence could recolour, retitle or clear the
// terminal, move the cursor over earlier lines, or (a newline or carriage
// return) forge a line of the report ("  applied: notes.txt"); bidi overrides
// could make a name read as another. So every such string is shown escaped:
//
//   \\            a backslash (so that the escaping is unambiguous)
//   \n \t \r \e   newline, tab, carriage return, escape (ESC, 0x1b)
//   \xNN          the other C0 controls (0x00..0x1f), DEL (0x7f), and each
//                 byte of a sequence that is not valid UTF-8 (RFC 3629:
//                 overlong forms, surrogates and code points above U+10FFFF
//                 are invalid)
//   \u{NN..}      C1 controls (U+0080..U+009F), bidi marks, embeddings,
//                 overrides and isolates (U+061C, U+200E, U+200F,
//                 U+202A..U+202E, U+2066..U+2069), and the line and paragraph
//                 separators (U+2028, U+2029); lowercase hex, no leading zeros
//
// Everything else (printable ASCII and valid UTF-8 of any script) is kept as
// it is. Distinct inputs give distinct outputs, and the output is printable.
// `--json` needs none of this: JSON strings escape C0 controls and the quote
// (base/json_string.h), and a JSON reader gets the name back byte for byte.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace hx {

// `text` escaped as described above: for one value (a path, a message, a
// detail) embedded in human output.
std::string Printable(std::string_view text);
void AppendPrintable(std::string& out, std::string_view text);

// A whole rendered text (a report, an error) made safe as the last step
// before it is printed: the same escapes, except that newlines and tabs
// (the text's own layout) and backslashes are kept. Values embedded with
// Printable pass through unchanged, so a renderer that forgot to escape a
// value still cannot reach the terminal with a control sequence (it can
// only forge a line). Idempotent.
std::string TerminalSafe(std::string_view text);

}  // namespace hx
