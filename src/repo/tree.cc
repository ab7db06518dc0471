#include "repo/tree.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "base/json_string.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "json/utf8.h"
#include "repo/tree_internal.h"

namespace hx {

using json = nlohmann::json;

// ---- VersionVector ---------------------------------------------------------

VersionVector::VersionVector(std::map<std::string, std::uint64_t> counters)
    : counters_(counters.empty() ? nullptr
                                 : std::make_shared<const std::map<std::string, std::uint64_t>>(
                                       std::move(counters))) {}

const std::map<std::string, std::uint64_t>& VersionVector::counters() const {
  static const std::map<std::string, std::uint64_t> kEmpty;
  return counters_ ? *counters_ : kEmpty;
}

VvOrder VersionVector::Compare(const VersionVector& other) const {
  // One merge-walk over both sorted maps; a node missing from one side
  // counts as 0 there.
  if (counters_ == other.counters_) return VvOrder::kEqual;
  const auto& mine_map = counters();
  const auto& theirs_map = other.counters();
  bool some_less = false;
  bool some_greater = false;
  auto a = mine_map.begin();
  auto b = theirs_map.begin();
  while (a != mine_map.end() || b != theirs_map.end()) {
    std::uint64_t mine = 0;
    std::uint64_t theirs = 0;
    if (b == theirs_map.end() || (a != mine_map.end() && a->first < b->first)) {
      mine = (a++)->second;
    } else if (a == mine_map.end() || b->first < a->first) {
      theirs = (b++)->second;
    } else {
      mine = (a++)->second;
      theirs = (b++)->second;
    }
    some_less |= mine < theirs;
    some_greater |= mine > theirs;
  }
  if (some_less && some_greater) return VvOrder::kConcurrent;
  if (some_less) return VvOrder::kBefore;
  if (some_greater) return VvOrder::kAfter;
  return VvOrder::kEqual;
}

VersionVector VersionVector::Merge(const VersionVector& other) const {
  if (counters_ == other.counters_ || other.empty()) return *this;
  if (empty()) return other;
  std::map<std::string, std::uint64_t> merged = counters();
  for (const auto& [node, counter] : other.counters()) {
    std::uint64_t& slot = merged[node];
    slot = std::max(slot, counter);
  }
  return VersionVector(std::move(merged));
}

void VersionVector::Bump(std::string_view node) {
  std::uint64_t highest = 0;
  for (const auto& [unused, counter] : counters()) highest = std::max(highest, counter);
  // Saturate rather than wrap: a wrapped counter would make the newest
  // version look like the oldest.
  const std::uint64_t next = highest >= kMaxVvCounter ? kMaxVvCounter : highest + 1;
  std::map<std::string, std::uint64_t> bumped = counters();
  bumped.insert_or_assign(std::string(node), next);
  counters_ = std::make_shared<const std::map<std::string, std::uint64_t>>(std::move(bumped));
}

// ---- Entries ---------------------------------------------------------------

std::string_view ToString(EntryKind kind) {
  switch (kind) {
    case EntryKind::kFile: return "file";
    case EntryKind::kDir: return "dir";
    case EntryKind::kSymlink: return "symlink";
    case EntryKind::kTombstone: return "tombstone";
  }
  return "unknown";
}

bool Entry::SameContent(const Entry& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case EntryKind::kFile:
      return size == other.size && chunks == other.chunks && executable == other.executable;
    case EntryKind::kSymlink:
      return symlink_target == other.symlink_target;
    case EntryKind::kDir:
    case EntryKind::kTombstone:
      return true;
  }
  return false;
}

bool IsValidEntryName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name.find('/') != std::string_view::npos) return false;
  if (name.find('\0') != std::string_view::npos) return false;
  return !FindInvalidUtf8(name).has_value();
}

namespace tree_internal {

// Checks the rules DecodeTree enforces on one entry, other than its name and
// order; nullopt if the entry is valid. Shared by the encoder (a violation is
// a bug of the builder) and the decoder.
std::optional<std::string> EntryProblem(const TreeEntry& tree_entry) {
  return EntryProblem(tree_entry.entry, tree_entry.subtree.has_value());
}

std::optional<std::string> EntryProblem(const Entry& e, bool has_subtree) {
  if (e.vv.empty()) return "has an empty version vector";
  for (const auto& [node, counter] : e.vv.counters()) {
    if (!IsValidNodeId(node)) return "has a version vector node id that is not 32 lowercase hex";
    if (counter == 0 || counter > kMaxJsonInt) {
      return "has a version vector counter outside 1..2^63-1";
    }
  }
  const bool file = e.kind == EntryKind::kFile;
  if (!file && (e.size != 0 || !e.chunks.empty() || e.executable || e.mtime_ns != 0)) {
    return "is a " + std::string(ToString(e.kind)) + " with file fields set";
  }
  if (e.kind != EntryKind::kSymlink && !e.symlink_target.empty()) {
    return "is a " + std::string(ToString(e.kind)) + " with a symlink target";
  }
  switch (e.kind) {
    case EntryKind::kFile: {
      if (e.size > kMaxJsonInt) return "has a size above 2^63-1";
      std::uint64_t sum = 0;
      for (const ChunkRef& chunk : e.chunks) {
        if (chunk.size == 0 || chunk.size > kMaxChunkSize) {
          return "has a chunk size outside 1..2^26";
        }
        sum += chunk.size;  // cannot overflow: at most 2^26 per chunk, checked against size below
        if (sum > e.size) return "has chunk sizes that do not add up to its size";
      }
      if (sum != e.size) return "has chunk sizes that do not add up to its size";
      return std::nullopt;
    }
    case EntryKind::kSymlink:
      if (e.symlink_target.empty()) return "is a symlink with an empty target";
      if (e.symlink_target.find('\0') != std::string::npos) {
        return "is a symlink whose target contains NUL";
      }
      if (FindInvalidUtf8(e.symlink_target)) return "is a symlink whose target is not UTF-8";
      return std::nullopt;
    case EntryKind::kDir:
      if (!has_subtree) return "is a dir without a subtree";
      return std::nullopt;
    case EntryKind::kTombstone:
      return std::nullopt;
  }
  return "has an unknown kind";
}

}  // namespace tree_internal

namespace {

constexpr std::int64_t kTreeFormatVersion = 1;

// How an entry is named in messages: its name if that is short, valid UTF-8,
// else its position (names come from untrusted bytes; messages must stay
// valid UTF-8 and short).
std::string DescribeEntry(std::string_view name, std::size_t index) {
  if (!name.empty() && name.size() <= 64 && !FindInvalidUtf8(name)) {
    std::string quoted;
    AppendJsonQuoted(quoted, name);
    return "entry " + quoted;
  }
  return "entry #" + std::to_string(index);
}

Error CorruptTree(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, "tree: " + std::move(message));
}

// A JSON reader error (KC_SYNC_INPUT_INVALID) as a corrupt tree, keeping the
// reader's message and details.
Error AsCorruptTree(Error error) {
  Error corrupt = CorruptTree(std::move(error.message));
  corrupt.details = std::move(error.details);
  return corrupt;
}

void AppendUint(std::string& out, std::uint64_t value) { out += std::to_string(value); }

void AppendVv(std::string& out, const VersionVector& vv) {
  // Node ids are lowercase hex, so std::map's byte order is the canonical
  // (UTF-16) key order.
  out += '{';
  bool first = true;
  for (const auto& [node, counter] : vv.counters()) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += node;
    out += "\":";
    AppendUint(out, counter);
  }
  out += '}';
}

void AppendId(std::string& out, const ObjectId& id) {
  out += '"';
  out += ToHex(id);
  out += '"';
}

// Members in canonical order: the keys are ASCII, so byte order is the
// UTF-16 order RFC 8785 asks for.
void AppendEntry(std::string& out, const tree_internal::EntryView& view) {
  const Entry& e = *view.entry;
  out += '{';
  if (e.kind == EntryKind::kFile) {
    out += "\"chunks\":[";
    for (std::size_t i = 0; i < e.chunks.size(); ++i) {
      if (i != 0) out += ',';
      out += '[';
      AppendId(out, e.chunks[i].id);
      out += ',';
      AppendUint(out, e.chunks[i].size);
      out += ']';
    }
    out += "],\"executable\":";
    out += e.executable ? "true" : "false";
    out += ',';
  }
  out += "\"kind\":\"";
  out += ToString(e.kind);
  out += '"';
  if (e.kind == EntryKind::kFile) {
    out += ",\"mtime_ns\":";
    out += std::to_string(e.mtime_ns);
  }
  out += ",\"name\":";
  AppendJsonQuoted(out, view.name);
  if (e.kind == EntryKind::kFile) {
    out += ",\"size\":";
    AppendUint(out, e.size);
  }
  if (e.kind == EntryKind::kSymlink) {
    out += ",\"target\":";
    AppendJsonQuoted(out, e.symlink_target);
  }
  if (view.subtree != nullptr) {
    out += ",\"tree\":";
    AppendId(out, *view.subtree);
  }
  out += ",\"vv\":";
  AppendVv(out, e.vv);
  out += '}';
}

Error TreeTooLarge(std::size_t bytes) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "a directory has too many entries to store: its tree would be " +
                   std::to_string(bytes) + " bytes, more than the limit of " +
                   std::to_string(kMaxTreeBytes))
      .With("bytes", std::to_string(bytes));
}

// ---- Decoding ---------------------------------------------------------------

Result<ObjectId> ParseId(const json& value, const std::string& what) {
  const std::string* text = value.get_ptr<const std::string*>();
  if (text == nullptr || !IsLowerHex(*text, 64)) {
    return CorruptTree(what + " must be 64 lowercase hex digits");
  }
  ObjectId id{};
  const std::vector<std::uint8_t> bytes = *FromHex(*text);
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

Result<VersionVector> ParseVv(const json& value, const std::string& what) {
  std::map<std::string, std::uint64_t> counters;
  for (const auto& [node, counter] : value.items()) {
    if (!tree_internal::IsValidNodeId(node)) {
      return CorruptTree(what + " has a version vector node id that is not 32 lowercase hex");
    }
    if (!counter.is_number_integer() || counter.get<std::int64_t>() <= 0) {
      return CorruptTree(what + " has a version vector counter that is not a positive integer");
    }
    counters.emplace(node, static_cast<std::uint64_t>(counter.get<std::int64_t>()));
  }
  return VersionVector(std::move(counters));
}

Result<std::vector<ChunkRef>> ParseChunks(const json::array_t& items, const std::string& what) {
  std::vector<ChunkRef> chunks;
  chunks.reserve(items.size());
  for (const json& item : items) {
    if (!item.is_array() || item.size() != 2 || !item[1].is_number_integer()) {
      return CorruptTree(what + " has a chunk that is not [\"<id>\", <size>]");
    }
    HX_ASSIGN_OR_RETURN(ObjectId id, ParseId(item[0], what + " chunk id"));
    const std::int64_t size = item[1].get<std::int64_t>();
    if (size <= 0) return CorruptTree(what + " has a chunk size outside 1..2^26");
    chunks.push_back(ChunkRef{id, static_cast<std::uint64_t>(size)});
  }
  return chunks;
}

Result<EntryKind> ParseKind(std::string_view kind, const std::string& what) {
  if (kind == "file") return EntryKind::kFile;
  if (kind == "dir") return EntryKind::kDir;
  if (kind == "symlink") return EntryKind::kSymlink;
  if (kind == "tombstone") return EntryKind::kTombstone;
  return CorruptTree(what + " has an unknown kind");
}

Result<TreeEntry> ParseEntry(const json& value, std::size_t index) {
  const std::string position = "entry #" + std::to_string(index);
  auto fields_or = JsonFields::Of(value, "tree " + position);
  if (!fields_or.ok()) return AsCorruptTree(std::move(fields_or).error());
  JsonFields& fields = *fields_or;

  TreeEntry out;
  auto name = fields.String("name");
  if (!name.ok()) return AsCorruptTree(std::move(name).error());
  out.name = std::move(*name);
  const std::string what = DescribeEntry(out.name, index);
  if (!IsValidEntryName(out.name)) {
    return CorruptTree(what + " has an invalid name (empty, \".\", \"..\", or with '/', NUL or "
                              "invalid UTF-8)")
        .With("entry", std::to_string(index));
  }

  auto kind_text = fields.String("kind");
  if (!kind_text.ok()) return AsCorruptTree(std::move(kind_text).error());
  HX_ASSIGN_OR_RETURN(out.entry.kind, ParseKind(*kind_text, what));
  Entry& e = out.entry;

  auto vv = fields.Object("vv");
  if (!vv.ok()) return AsCorruptTree(std::move(vv).error());
  HX_ASSIGN_OR_RETURN(e.vv, ParseVv(value.at("vv"), what));

  // Each kind reads exactly its own fields; RejectUnknownFields below then
  // refuses any other field (e.g. a "size" on a dir).
  if (e.kind == EntryKind::kFile) {
    auto chunks = fields.Array("chunks");
    auto executable = fields.Bool("executable");
    auto mtime = fields.Int("mtime_ns");
    auto size = fields.Int("size");
    if (!chunks.ok()) return AsCorruptTree(std::move(chunks).error());
    if (!executable.ok()) return AsCorruptTree(std::move(executable).error());
    if (!mtime.ok()) return AsCorruptTree(std::move(mtime).error());
    if (!size.ok()) return AsCorruptTree(std::move(size).error());
    if (*size < 0) return CorruptTree(what + " has a negative size");
    HX_ASSIGN_OR_RETURN(e.chunks, ParseChunks(**chunks, what));
    e.executable = *executable;
    e.mtime_ns = *mtime;
    e.size = static_cast<std::uint64_t>(*size);
  }
  if (e.kind == EntryKind::kSymlink) {
    auto target = fields.String("target");
    if (!target.ok()) return AsCorruptTree(std::move(target).error());
    e.symlink_target = std::move(*target);
  }
  // A dir always has a subtree; a tombstone, file or symlink only when
  // there are tombstones beneath it (of a deleted or replaced directory).
  if (e.kind == EntryKind::kDir || fields.Has("tree")) {
    if (!fields.Has("tree")) return CorruptTree(what + " is a dir without a \"tree\"");
    auto tree = fields.String("tree");
    if (!tree.ok()) return AsCorruptTree(std::move(tree).error());
    HX_ASSIGN_OR_RETURN(out.subtree, ParseId(value.at("tree"), what + " tree"));
  }
  if (Status unknown = fields.RejectUnknownFields(); !unknown.ok()) {
    return AsCorruptTree(std::move(unknown).error());
  }
  if (std::optional<std::string> problem = tree_internal::EntryProblem(out)) {
    return CorruptTree(what + " " + *problem).With("entry", std::to_string(index));
  }
  return out;
}

}  // namespace

// ---- Tree codec --------------------------------------------------------------

Result<std::string> EncodeTree(const Tree& tree) {
  std::vector<tree_internal::EntryView> views;
  views.reserve(tree.entries.size());
  for (const TreeEntry& entry : tree.entries) {
    views.push_back({entry.name, &entry.entry, entry.subtree ? &*entry.subtree : nullptr});
  }
  return tree_internal::EncodeTreeEntries(views);
}

namespace tree_internal {

Result<std::string> EncodeTreeEntries(std::span<const EntryView> entries) {
  std::string out = "{\"entries\":[";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const EntryView& entry = entries[i];
    // Messages are built only on failure: this loop runs once per entry of
    // every directory a push writes.
    if (!IsValidEntryName(entry.name)) {
      return InternalError("cannot encode tree: " + DescribeEntry(entry.name, i) +
                           " has an invalid name");
    }
    if (i != 0 && !(entries[i - 1].name < entry.name)) {
      return InternalError("cannot encode tree: " + DescribeEntry(entry.name, i) +
                           " is out of order or a duplicate");
    }
    if (std::optional<std::string> problem = EntryProblem(*entry.entry, entry.subtree != nullptr)) {
      return InternalError("cannot encode tree: " + DescribeEntry(entry.name, i) + " " + *problem);
    }
    if (i != 0) out += ',';
    AppendEntry(out, entry);
    if (out.size() > kMaxTreeBytes) return TreeTooLarge(out.size());
  }
  out += "],\"format_version\":1}";
  if (out.size() > kMaxTreeBytes) return TreeTooLarge(out.size());
  return out;
}

}  // namespace tree_internal

Result<Tree> DecodeTree(std::string_view bytes) {
  // Every tree hx wrote takes the fast path; the strict JSON path then only
  // runs for bytes that are refused anyway, to say precisely why.
  if (std::optional<Tree> tree = tree_internal::ParseCanonicalTree(bytes)) return std::move(*tree);
  return tree_internal::DecodeTreeStrictJson(bytes);
}

namespace tree_internal {

Result<Tree> DecodeTreeStrictJson(std::string_view bytes) {
  if (bytes.size() > kMaxTreeBytes) {
    return CorruptTree("object of " + std::to_string(bytes.size()) +
                       " bytes is larger than any tree");
  }
  JsonReadOptions options;
  options.max_input_bytes = kMaxTreeBytes;
  // A tree is nested at most 5 deep ({"entries":[{"chunks":[[...]]}]}).
  options.max_depth = 8;
  auto parsed = ParseJson(bytes, options);
  if (!parsed.ok()) return AsCorruptTree(std::move(parsed).error());

  auto fields_or = JsonFields::Of(*parsed, "tree");
  if (!fields_or.ok()) return AsCorruptTree(std::move(fields_or).error());
  JsonFields& fields = *fields_or;
  auto version = fields.Int("format_version");
  if (!version.ok()) return AsCorruptTree(std::move(version).error());
  if (*version != kTreeFormatVersion) {
    return CorruptTree("unknown format_version " + std::to_string(*version))
        .With("format_version", std::to_string(*version));
  }
  auto items = fields.Array("entries");
  if (!items.ok()) return AsCorruptTree(std::move(items).error());
  if (Status unknown = fields.RejectUnknownFields(); !unknown.ok()) {
    return AsCorruptTree(std::move(unknown).error());
  }

  Tree tree;
  tree.entries.reserve((*items)->size());
  for (std::size_t i = 0; i < (*items)->size(); ++i) {
    HX_ASSIGN_OR_RETURN(TreeEntry entry, ParseEntry((**items)[i], i));
    if (!tree.entries.empty() && !(tree.entries.back().name < entry.name)) {
      return CorruptTree(DescribeEntry(entry.name, i) +
                         " is out of order or a duplicate (names must be sorted by bytes)")
          .With("entry", std::to_string(i));
    }
    tree.entries.push_back(std::move(entry));
  }

  // Only the canonical bytes are a tree: equal trees must have equal bytes
  // (and so equal ids), and a re-encoded tree must be the object it came
  // from. Re-encoding is also the cheapest full canonicality check.
  auto canonical = EncodeTree(tree);
  if (!canonical.ok() || *canonical != bytes) {
    return CorruptTree("bytes are not in canonical form");
  }
  return tree;
}

}  // namespace tree_internal
}  // namespace hx
