// The order in which the scanner emits a directory's children so that full
// paths come out in byte order (the order of EntryMap), without building or
// comparing full paths.
//
// Within one directory, a child's entry sorts by its name, and the contents
// of a child directory sort as if they were named name + "/": "a" < "a-b" <
// "a.txt" < "a/..." < "a0", because '-' and '.' are below '/' and '0' is
// above it. Names never contain '/'.
//
// Thread-safety: a pure function.
#pragma once

#include <algorithm>
#include <cstring>
#include <string_view>

namespace hx {

// Whether name_a + (a_is_subtree ? "/" : "") sorts before the same for b,
// comparing bytes as unsigned (as std::string does).
inline bool LessInPathOrder(std::string_view name_a, bool a_is_subtree, std::string_view name_b,
                            bool b_is_subtree) {
  const std::size_t common = std::min(name_a.size(), name_b.size());
  const int c = std::memcmp(name_a.data(), name_b.data(), common);
  if (c != 0) {
    return c < 0;
  }
  if (name_a.size() == name_b.size()) {
    return !a_is_subtree && b_is_subtree;
  }
  if (name_a.size() < name_b.size()) {
    // a's key continues with '/' or ends; b's with name_b[common].
    return !a_is_subtree || '/' < static_cast<unsigned char>(name_b[common]);
  }
  // b's key continues with '/' or ends, and a's with name_a[common].
  return b_is_subtree && static_cast<unsigned char>(name_a[common]) < '/';
}

}  // namespace hx
