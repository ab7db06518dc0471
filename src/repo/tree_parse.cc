// ParseCanonicalTree: the fast path of DecodeTree (see tree_internal.h).
//
// Canonical bytes leave no choices: members come in one order, there is no
// whitespace, every string has one spelling and every integer one form. So
// instead of building a generic JSON value and then reading fields out of
// it, this parser walks the bytes expecting exactly what EncodeTree writes,
// and gives up (nullopt) at the first difference; DecodeTree then asks the
// general path, which says what is wrong. The semantic rules (names, order,
// EntryProblem) are the ones the general path applies.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "json/utf8.h"
#include "repo/tree_internal.h"

namespace hx::tree_internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not canonical
}

class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}

  bool AtEnd() const { return pos_ == in_.size(); }
  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }

  // Consumes `literal` if the input continues with it.
  bool Lit(std::string_view literal) {
    if (in_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }

  // A quoted string in canonical form: raw bytes except '"', '\\' and
  // U+0000..U+001F, which are escaped as \" \\ \b \t \n \f \r or \u00xx
  // (lowercase, only for the controls without a short form). UTF-8 validity
  // is left to the callers' checks (every string they keep is checked).
  bool String(std::string& out) {
    out.clear();
    if (!Lit("\"")) return false;
    while (pos_ < in_.size()) {
      const char c = in_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= in_.size()) return false;
      switch (in_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'b': out += '\b'; break;
        case 't': out += '\t'; break;
        case 'n': out += '\n'; break;
        case 'f': out += '\f'; break;
        case 'r': out += '\r'; break;
        case 'u': {
          if (!Lit("00") || pos_ + 2 > in_.size()) return false;
          const int high = HexValue(in_[pos_]);
          const int low = HexValue(in_[pos_ + 1]);
          if (high < 0 || high > 1 || low < 0) return false;
          const char value = static_cast<char>(high * 16 + low);
          if (value == '\b' || value == '\t' || value == '\n' || value == '\f' || value == '\r') {
            return false;  // these have short forms
          }
          pos_ += 2;
          out += value;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // A canonical integer in the int64 range: "0", or an optional '-' then a
  // digit 1-9 and more digits ("-0" and leading zeros are not canonical).
  bool Int(std::int64_t& out) {
    const bool negative = Lit("-");
    if (pos_ >= in_.size() || in_[pos_] < '0' || in_[pos_] > '9') return false;
    if (in_[pos_] == '0') {
      ++pos_;
      out = 0;
      return !negative;
    }
    const std::uint64_t limit = negative ? kMaxJsonInt + 1 : kMaxJsonInt;
    std::uint64_t value = 0;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') {
      const auto digit = static_cast<std::uint64_t>(in_[pos_++] - '0');
      if (value > (limit - digit) / 10) return false;
      value = value * 10 + digit;
    }
    out = negative ? static_cast<std::int64_t>(0 - value) : static_cast<std::int64_t>(value);
    return true;
  }

  // A quoted id: exactly 64 lowercase hex digits.
  bool Id(ObjectId& out) {
    if (!Lit("\"") || pos_ + 2 * out.size() + 1 > in_.size()) return false;
    for (std::uint8_t& byte : out) {
      const int high = HexValue(in_[pos_]);
      const int low = HexValue(in_[pos_ + 1]);
      if (high < 0 || low < 0) return false;
      byte = static_cast<std::uint8_t>(high * 16 + low);
      pos_ += 2;
    }
    return Lit("\"");
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

bool ParseKind(Cursor& in, EntryKind& kind) {
  if (in.Lit("\"kind\":\"file\"")) {
    kind = EntryKind::kFile;
  } else if (in.Lit("\"kind\":\"dir\"")) {
    kind = EntryKind::kDir;
  } else if (in.Lit("\"kind\":\"symlink\"")) {
    kind = EntryKind::kSymlink;
  } else if (in.Lit("\"kind\":\"tombstone\"")) {
    kind = EntryKind::kTombstone;
  } else {
    return false;
  }
  return true;
}

bool ParseChunks(Cursor& in, std::vector<ChunkRef>& chunks) {
  if (in.Lit("]")) return true;
  do {
    ChunkRef& chunk = chunks.emplace_back();
    std::int64_t size = 0;
    if (!in.Lit("[") || !in.Id(chunk.id) || !in.Lit(",") || !in.Int(size) || size <= 0 ||
        !in.Lit("]")) {
      return false;
    }
    chunk.size = static_cast<std::uint64_t>(size);
  } while (in.Lit(","));
  return in.Lit("]");
}

bool ParseVv(Cursor& in, VersionVector& vv) {
  std::map<std::string, std::uint64_t> counters;
  std::string node;
  if (!in.Lit("{")) return false;
  if (!in.Peek('}')) {
    do {
      std::int64_t counter = 0;
      if (!in.String(node) || !IsValidNodeId(node) || !in.Lit(":") || !in.Int(counter) ||
          counter <= 0) {
        return false;
      }
      // Hex keys: byte order is the canonical order; it must increase.
      if (!counters.empty() && !(counters.rbegin()->first < node)) return false;
      counters.emplace_hint(counters.end(), node, static_cast<std::uint64_t>(counter));
    } while (in.Lit(","));
  }
  if (!in.Lit("}")) return false;
  vv = VersionVector(std::move(counters));
  return true;
}

// One entry, members in EncodeTree's order:
// chunks, executable, kind, mtime_ns, name, size, target, tree, vv.
bool ParseEntry(Cursor& in, TreeEntry& out) {
  Entry& e = out.entry;
  if (!in.Lit("{")) return false;
  const bool file = in.Lit("\"chunks\":[");
  if (file) {
    if (!ParseChunks(in, e.chunks) || !in.Lit(",\"executable\":")) return false;
    if (in.Lit("true")) {
      e.executable = true;
    } else if (!in.Lit("false")) {
      return false;
    }
    if (!in.Lit(",")) return false;
  }
  if (!ParseKind(in, e.kind) || file != (e.kind == EntryKind::kFile)) return false;
  if (file && (!in.Lit(",\"mtime_ns\":") || !in.Int(e.mtime_ns))) return false;
  if (!in.Lit(",\"name\":") || !in.String(out.name)) return false;
  if (file) {
    std::int64_t size = 0;
    if (!in.Lit(",\"size\":") || !in.Int(size) || size < 0) return false;
    e.size = static_cast<std::uint64_t>(size);
  }
  if (e.kind == EntryKind::kSymlink &&
      (!in.Lit(",\"target\":") || !in.String(e.symlink_target))) {
    return false;
  }
  if (in.Lit(",\"tree\":")) {
    ObjectId subtree;
    if (!in.Id(subtree)) return false;
    out.subtree = subtree;
  }
  return in.Lit(",\"vv\":") && ParseVv(in, e.vv) && in.Lit("}");
}

}  // namespace

std::optional<Tree> ParseCanonicalTree(std::string_view bytes) {
  if (bytes.size() > kMaxTreeBytes) return std::nullopt;
  Cursor in(bytes);
  Tree tree;
  if (!in.Lit("{\"entries\":[")) return std::nullopt;
  if (!in.Peek(']')) {
    do {
      TreeEntry& entry = tree.entries.emplace_back();
      if (!ParseEntry(in, entry) || !IsValidEntryName(entry.name)) return std::nullopt;
      if (tree.entries.size() > 1 && !(tree.entries[tree.entries.size() - 2].name < entry.name)) {
        return std::nullopt;
      }
      if (EntryProblem(entry)) return std::nullopt;
    } while (in.Lit(","));
  }
  if (!in.Lit("],\"format_version\":1}") || !in.AtEnd()) return std::nullopt;
  return tree;
}

}  // namespace hx::tree_internal
