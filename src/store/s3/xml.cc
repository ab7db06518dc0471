#include "store/s3/xml.h"

#include <cstdint>
#include <optional>

#include "base/hex.h"

namespace hx::s3 {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void AppendUtf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view input) : in_(input) {}

  Result<XmlElement> Document() {
    SkipSpace();
    if (Starts("<?xml")) {
      const std::size_t end = in_.find("?>", pos_);
      if (end == std::string_view::npos) return Fail("unterminated XML declaration");
      pos_ = end + 2;
    }
    if (!SkipMisc()) return Fail("unterminated comment");
    if (!Starts("<")) return Fail("expected the root element");
    XmlElement root;
    if (!Element(root, 1)) return Fail(problem_);
    if (!SkipMisc()) return Fail("unterminated comment");
    if (pos_ != in_.size()) return Fail("content after the root element");
    return root;
  }

 private:
  bool Starts(std::string_view s) const { return in_.substr(pos_).starts_with(s); }
  void SkipSpace() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
  }
  // Skips whitespace and comments; false on an unterminated comment.
  bool SkipMisc() {
    for (;;) {
      SkipSpace();
      if (!Starts("<!--")) return true;
      const std::size_t end = in_.find("-->", pos_ + 4);
      if (end == std::string_view::npos) return false;
      pos_ = end + 3;
    }
  }
  bool Problem(const char* problem) {
    problem_ = problem;
    return false;
  }
  Error Fail(const char* problem) const {
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 std::string("the server's XML reply is malformed at byte ") +
                     std::to_string(pos_) + ": " + problem +
                     "; check that the endpoint is an S3-compatible server")
        .With("offset", std::to_string(pos_));
  }

  std::optional<std::string> Name() {
    if (pos_ >= in_.size() || !IsNameStart(in_[pos_])) return std::nullopt;
    const std::size_t start = pos_;
    while (pos_ < in_.size() && IsNameChar(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  // Decodes one reference at pos_ (just after '&') into `out`.
  bool Reference(std::string& out) {
    const std::size_t end = in_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 10) return Problem("bad entity reference");
    const std::string_view ref = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    if (ref == "lt") out.push_back('<');
    else if (ref == "gt") out.push_back('>');
    else if (ref == "amp") out.push_back('&');
    else if (ref == "quot") out.push_back('"');
    else if (ref == "apos") out.push_back('\'');
    else if (ref.size() >= 2 && ref[0] == '#') {
      const bool hex = ref[1] == 'x';
      const std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return Problem("bad character reference");
      std::uint32_t cp = 0;
      for (const char c : digits) {
        const int v = hex ? HexDigitValue(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
        if (v < 0) return Problem("bad character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        if (cp > 0x10ffff) return Problem("character reference out of range");
      }
      if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) return Problem("invalid character reference");
      AppendUtf8(cp, out);
    } else {
      return Problem("unknown entity");
    }
    return true;
  }

  bool Attributes() {
    for (;;) {
      const std::size_t before = pos_;
      SkipSpace();
      if (pos_ >= in_.size()) return Problem("unterminated start tag");
      if (in_[pos_] == '>' || in_[pos_] == '/') return true;
      if (pos_ == before) return Problem("expected whitespace before an attribute");
      if (!Name()) return Problem("bad attribute name");
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '=') return Problem("expected '=' after a name");
      ++pos_;
      SkipSpace();
      if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
        return Problem("expected a quoted attribute value");
      }
      const char quote = in_[pos_++];
      std::string ignored;
      while (pos_ < in_.size() && in_[pos_] != quote) {
        if (in_[pos_] == '<') return Problem("'<' in an attribute value");
        if (in_[pos_++] == '&' && !Reference(ignored)) return false;
      }
      if (pos_ >= in_.size()) return Problem("unterminated attribute value");
      ++pos_;
    }
  }

  // Parses an element starting at '<'.
  bool Element(XmlElement& element, std::size_t depth) {
    if (depth > kMaxXmlDepth) return Problem("elements nested too deeply");
    if (++elements_ > kMaxXmlElements) return Problem("too many elements");
    ++pos_;  // '<'
    auto name = Name();
    if (!name) return Problem("bad element name");
    element.name = std::move(*name);
    if (!Attributes()) return false;
    if (in_[pos_] == '/') {
      if (!Starts("/>")) return Problem("expected '/>'");
      pos_ += 2;
      return true;
    }
    ++pos_;  // '>'
    for (;;) {
      if (pos_ >= in_.size()) return Problem("unterminated element");
      const char c = in_[pos_];
      if (c == '&') {
        ++pos_;
        if (!Reference(element.text)) return false;
      } else if (c != '<') {
        element.text.push_back(c);
        ++pos_;
      } else if (Starts("</")) {
        pos_ += 2;
        auto closing = Name();
        if (!closing || *closing != element.name) return Problem("mismatched end tag");
        SkipSpace();
        if (pos_ >= in_.size() || in_[pos_] != '>') return Problem("expected '>'");
        ++pos_;
        return true;
      } else if (Starts("<!--")) {
        const std::size_t end = in_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) return Problem("unterminated comment");
        pos_ = end + 3;
      } else if (Starts("<!") || Starts("<?")) {
        return Problem("DTDs, CDATA and processing instructions are not accepted");
      } else {
        element.children.emplace_back();
        if (!Element(element.children.back(), depth + 1)) return false;
      }
    }
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
  const char* problem_ = "";
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const XmlElement& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* child = Child(child_name);
  return child == nullptr ? "" : child->text;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view child_name) const {
  std::vector<const XmlElement*> out;
  for (const XmlElement& child : children) {
    if (child.name == child_name) out.push_back(&child);
  }
  return out;
}

Result<XmlElement> ParseXml(std::string_view document) { return Parser(document).Document(); }

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace hx::s3
