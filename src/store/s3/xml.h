// A small, strict XML parser for the replies of S3 (and of the IAM API used
// by the test fixture): elements, attributes (checked, then dropped), text
// with the five named entities and numeric character references, comments
// and one leading <?xml ...?> declaration. Anything else — DTDs, CDATA,
// processing instructions in the body, mismatched tags, trailing garbage —
// is refused. Replies come from the network, so parsing is bounded: at most
// kMaxXmlDepth levels and kMaxXmlElements elements, work linear in the input.
//
// Thread-safety: pure functions over values; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hx::s3 {

inline constexpr std::size_t kMaxXmlDepth = 32;
inline constexpr std::size_t kMaxXmlElements = 200'000;

struct XmlElement {
  std::string name;  // as written, prefix included ("ListBucketResult")
  std::string text;  // the element's own character data, entities decoded
  std::vector<XmlElement> children;

  // The first child with this name, or nullptr.
  const XmlElement* Child(std::string_view child_name) const;
  // The text of the first child with this name, or "" if there is none.
  std::string ChildText(std::string_view child_name) const;
  // Every child with this name, in document order.
  std::vector<const XmlElement*> Children(std::string_view child_name) const;
};

// Parses one document and returns its root element. Errors:
// KC_SYNC_STATE_FAILED, Category::kCorrupt, naming the byte offset and the
// problem (the input itself is not quoted).
Result<XmlElement> ParseXml(std::string_view document);

// `text` with &, <, >, " and ' escaped, for the bodies hx sends.
std::string XmlEscape(std::string_view text);

}  // namespace hx::s3
