#include "base/printable.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

namespace hx {
namespace {

using std::string_literals::operator""s;

// True if `text` holds only printable ASCII and UTF-8 that is not a control.
bool OnlyPrintable(const std::string& text, bool allow_layout) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (allow_layout && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return false;
    // C1 controls as UTF-8 (C2 80..C2 9F) and raw C1 bytes never remain.
    if (c == 0xc2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return false;
    }
  }
  return true;
}

TEST(PrintableTest, PlainNamesOfAnyScriptAreKeptAsTheyAre) {
  EXPECT_EQ(Printable("notes/todo list (2).txt"), "notes/todo list (2).txt");
  EXPECT_EQ(Printable("Übersicht/日本語/emoji 😀.md"), "Übersicht/日本語/emoji 😀.md");
  EXPECT_EQ(Printable(""), "");
}

TEST(PrintableTest, TheBackslashIsEscapedSoThatEscapesAreUnambiguous) {
  EXPECT_EQ(Printable("a\\nb"), "a\\\\nb");
  // A name that spells an escape and the name that holds the control differ.
  EXPECT_NE(Printable("a\\nb"), Printable("a\nb"));
  EXPECT_EQ(Printable("a\nb"), "a\\nb");
}

TEST(PrintableTest, EveryC0ControlAndDelIsEscaped) {
  EXPECT_EQ(Printable("\n"), "\\n");
  EXPECT_EQ(Printable("\t"), "\\t");
  EXPECT_EQ(Printable("\r"), "\\r");
  EXPECT_EQ(Printable("\x1b"), "\\e");
  EXPECT_EQ(Printable("\0"s), "\\x00");
  EXPECT_EQ(Printable("\x07"), "\\x07");
  EXPECT_EQ(Printable("\x08"), "\\x08");
  EXPECT_EQ(Printable("\x0b\x0c"), "\\x0b\\x0c");
  EXPECT_EQ(Printable("\x1f"), "\\x1f");
  EXPECT_EQ(Printable("\x7f"), "\\x7f");
  for (int c = 0; c < 0x20; ++c) {
    const std::string out = Printable(std::string(1, static_cast<char>(c)));
    EXPECT_EQ(out.front(), '\\') << c;
    EXPECT_TRUE(OnlyPrintable(out, false)) << c;
  }
}

TEST(PrintableTest, TerminalEscapeSequencesCannotReachTheTerminal) {
  // Colour, window title (OSC ... BEL), clear screen, cursor up + erase line.
  EXPECT_EQ(Printable("\x1b[31mred\x1b[0m"), "\\e[31mred\\e[0m");
  EXPECT_EQ(Printable("\x1b]0;owned\x07"), "\\e]0;owned\\x07");
  EXPECT_EQ(Printable("x\x1b[2J"), "x\\e[2J");
  EXPECT_EQ(Printable("ok\r\x1b[1A\x1b[2Kapplied: x"), "ok\\r\\e[1A\\e[2Kapplied: x");
}

TEST(PrintableTest, C1ControlsBidiOverridesAndSeparatorsAreEscapedAsCodePoints) {
  EXPECT_EQ(Printable("\xc2\x9b" "31m"), "\\u{9b}31m");  // CSI
  EXPECT_EQ(Printable("\xc2\x80\xc2\x9f"), "\\u{80}\\u{9f}");
  EXPECT_EQ(Printable("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
  EXPECT_EQ(Printable("invoice\xe2\x80\xaegpj.exe"), "invoice\\u{202e}gpj.exe");  // RLO
  EXPECT_EQ(Printable("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9"), "\\u{202a}\\u{2066}\\u{2069}");
  EXPECT_EQ(Printable("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"), "\\u{200e}\\u{200f}\\u{61c}");
  EXPECT_EQ(Printable("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "a\\u{2028}b\\u{2029}");
}

TEST(PrintableTest, InvalidUtf8IsEscapedByteByByte) {
  EXPECT_EQ(Printable("\xff"), "\\xff");
  EXPECT_EQ(Printable("a\x80z"), "a\\x80z");               // stray continuation
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(Printable("\xc2\x1b[m"), "\\xc2\\e[m");        // truncated, then ESC
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(Printable("\xe6\x97"), "\\xe6\\x97");          // cut at the end
  EXPECT_EQ(Printable("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

TEST(PrintableTest, TerminalSafeKeepsTheLayoutAndStillStopsControlSequences) {
  EXPECT_EQ(TerminalSafe("pulled:\n  a\tb\\c\n"), "pulled:\n  a\tb\\c\n");
  EXPECT_EQ(TerminalSafe("x\x1b[2J\r\x7f\xc2\x9b\xff\n"), "x\\e[2J\\r\\x7f\\u{9b}\\xff\n");
  // A value escaped with Printable passes through unchanged.
  const std::string value = Printable("evil\x1b]0;t\x07\nname\\");
  EXPECT_EQ(TerminalSafe(value), value);
  EXPECT_EQ(TerminalSafe(TerminalSafe("\x1b\xff\n")), TerminalSafe("\x1b\xff\n"));
}

// Property: over random byte strings, the output is printable and distinct
// inputs give distinct outputs (the escaping is reversible).
TEST(PrintableTest, RandomBytesAlwaysPrintPrintablyAndNeverCollide) {
  std::mt19937_64 random(20261206);
  std::set<std::string> inputs;
  std::set<std::string> outputs;
  const std::string alphabet = "a\\x{}u\n\t\r\x1b\x7f\x80\x9b\xc2\xe2\x80\xae\xff\xed\xf0";
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 8);
    for (int i = 0; i < length; ++i) {
      text.push_back(random() % 3 == 0 ? static_cast<char>(random() & 0xff)
                                       : alphabet[random() % alphabet.size()]);
    }
    const std::string out = Printable(text);
    ASSERT_TRUE(OnlyPrintable(out, false)) << out;
    ASSERT_TRUE(OnlyPrintable(TerminalSafe(text), true)) << TerminalSafe(text);
    if (inputs.insert(text).second) {
      ASSERT_TRUE(outputs.insert(out).second) << "two inputs print as " << out;
    }
  }
}

}  // namespace
}  // namespace hx
