// Fuzzes the XML parser with arbitrary bytes (S3 replies come from the
// network). Contract checked: no crash, hang or unbounded allocation; a
// failure is KC_SYNC_STATE_FAILED/kCorrupt that renders as JSON; an accepted
// document, written back out (text escaped, children after the text), parses
// to the same tree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/s3/xml.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

std::string Write(const hx::s3::XmlElement& element) {
  std::string out = "<" + element.name + ">" + hx::s3::XmlEscape(element.text);
  for (const auto& child : element.children) out += Write(child);
  return out + "</" + element.name + ">";
}

bool Same(const hx::s3::XmlElement& a, const hx::s3::XmlElement& b) {
  if (a.name != b.name || a.text != b.text || a.children.size() != b.children.size()) return false;
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    if (!Same(a.children[i], b.children[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = hx::s3::ParseXml(input);
  if (!parsed.ok()) {
    Check(parsed.error().category == hx::Category::kCorrupt);
    Check(parsed.error().code == hx::SyncCode::kStateFailed);
    Check(!parsed.error().ToJson().empty());
    return 0;
  }
  Check(!parsed->name.empty());
  const auto again = hx::s3::ParseXml(Write(*parsed));
  Check(again.ok());
  Check(Same(*parsed, *again));
  return 0;
}
