#include "meta/snapshot_body.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <span>
#include <vector>

#include "base/hex.h"
#include "meta/records.h"

namespace hx::meta_internal {
namespace {

using json = nlohmann::json;

// ---- Encoding ---------------------------------------------------------------

// An object id `added` lists more than once, if any: sorts positions (4
// bytes an object) rather than copies of the ids or a set of them (~6 MB at
// 100,000 objects). Shared by the encoder and the reader.
std::optional<ObjectId> RepeatedObjectId(const std::vector<ObjectLocation>& added) {
  std::vector<std::uint32_t> order(added.size());
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  std::sort(order.begin(), order.end(),
            [&added](std::uint32_t a, std::uint32_t b) { return added[a].id < added[b].id; });
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (added[order[i]].id == added[order[i - 1]].id) return added[order[i]].id;
  }
  return std::nullopt;
}

// The added objects grouped by blob id (sorted), each blob's objects sorted
// by offset, into `groups`; or the rule they break (a bug in the caller).
using BlobGroups = std::map<std::string, std::vector<const ObjectLocation*>>;
std::optional<std::string> GroupByBlob(const std::vector<ObjectLocation>& added,
                                       BlobGroups& groups) {
  if (const std::optional<ObjectId> repeated = RepeatedObjectId(added)) {
    return "object " + ToHex(*repeated) + " is listed twice";
  }
  for (const ObjectLocation& location : added) {
    if (!IsLowerHex(location.blob_id, kLongIdHexLength)) {
      return "a blob id is not 64 lowercase hex digits";
    }
    if (location.length == 0 || location.length > kMaxJsonInt ||
        location.offset > kMaxJsonInt - location.length || location.raw_length > kMaxJsonInt) {
      return "an object range is empty or beyond 2^63-1";
    }
    if (location.kind != ObjectKind::kChunk && location.kind != ObjectKind::kTree) {
      return "an object has an unknown kind";
    }
    groups[location.blob_id].push_back(&location);
  }
  for (auto& [blob_id, objects] : groups) {
    std::sort(objects.begin(), objects.end(), [](const ObjectLocation* a, const ObjectLocation* b) {
      return a->offset < b->offset;
    });
    for (std::size_t i = 1; i < objects.size(); ++i) {
      if (objects[i - 1]->offset + objects[i - 1]->length > objects[i]->offset) {
        return "objects overlap in blob " + blob_id;
      }
    }
  }
  return std::nullopt;
}

// The body without its "blobs" (an empty array in their place): the small
// part, written by the canonical JSON writer.
json BodyJsonWithoutBlobs(const Snapshot& snapshot) {
  const SnapshotSummary& s = snapshot.summary;
  return json{{"author", snapshot.author},
              {"blobs", json::array()},
              {"created_ms", snapshot.created_ms},
              {"key_fingerprint", snapshot.key_fingerprint},
              {"parents", snapshot.parents},
              {"root", ToHex(snapshot.root)},
              {"seq", static_cast<std::int64_t>(snapshot.seq)},
              {"summary", json{{"added", static_cast<std::int64_t>(s.added)},
                               {"bytes", static_cast<std::int64_t>(s.bytes)},
                               {"deleted", static_cast<std::int64_t>(s.deleted)},
                               {"files", static_cast<std::int64_t>(s.files)},
                               {"modified", static_cast<std::int64_t>(s.modified)}}}};
}

// The "blobs" array written straight into canonical JSON: at 100,000
// objects a JSON document tree of it cost more memory than the rest of a
// push. Everything in it is ASCII that needs no escaping (lowercase hex,
// kind names) or a non-negative integer below 2^63, and keys are written in
// canonical (sorted) order, so the bytes are what WriteCanonicalJson would
// produce (a test checks it).
void AppendBlobsJson(const BlobGroups& groups, std::string& out) {
  out += '[';
  bool first_blob = true;
  for (const auto& [blob_id, objects] : groups) {
    if (!first_blob) out += ',';
    first_blob = false;
    out += "{\"id\":\"";
    out += blob_id;
    out += "\",\"objects\":[";
    bool first = true;
    for (const ObjectLocation* location : objects) {
      if (!first) out += ',';
      first = false;
      out += "[\"";
      out += ToHex(location->id);
      out += "\",\"";
      out += ToString(location->kind);
      out += "\",";
      out += std::to_string(location->offset);
      out += ',';
      out += std::to_string(location->length);
      out += ',';
      out += std::to_string(location->raw_length);
      out += ']';
    }
    out += "]}";
  }
  out += ']';
}

// ---- Decoding ---------------------------------------------------------------

// The shortest object the encoder writes, ["<64 hex>","tree",0,1,0], and the
// comma after it: a body of n bytes lists at most n / kMinObjectBytes objects.
constexpr std::size_t kMinObjectBytes = 81;
constexpr std::string_view kNotATuple =
    "an object is not a [id, kind, offset, length, raw_length] array";
constexpr std::string_view kNotSorted = "blobs are not sorted by id, or objects by offset";

// The members of one object of the body, in canonical (sorted) order.
constexpr std::array<std::string_view, 8> kBodyKeys = {
    "author", "blobs", "created_ms", "key_fingerprint", "parents", "root", "seq", "summary"};
constexpr std::array<std::string_view, 5> kSummaryKeys = {"added", "bytes", "deleted", "files",
                                                          "modified"};
constexpr std::array<std::string_view, 2> kBlobKeys = {"id", "objects"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A key fit to be quoted in a message: what hx's field names are made of.
bool IsPlainKey(std::string_view key) {
  return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '_';
  });
}

// Precondition: IsLowerHex(hex, 64).
ObjectId IdFromHex(std::string_view hex) {
  ObjectId id{};
  for (std::size_t i = 0; i < id.size(); ++i) {
    id[i] =
        static_cast<std::uint8_t>(HexDigitValue(hex[2 * i]) * 16 + HexDigitValue(hex[2 * i + 1]));
  }
  return id;
}

// One JSON object of the body being read: its name in messages ("" for the
// body, "summary", "blobs[3]") and its keys.
struct Shape {
  std::string path;
  std::span<const std::string_view> keys;
};

// Reads the body's text front to back, expecting at every byte what the
// encoder writes there. Each step consumes exactly its token or returns the
// error that names the first byte that differs (explaining it may look at
// that byte's neighbours again; reading a valid body never does).
class BodyReader {
 public:
  BodyReader(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  Result<Snapshot> Read() {
    Snapshot snapshot;
    const Shape body{"", kBodyKeys};
    HX_RETURN_IF_ERROR(Open(body));
    HX_RETURN_IF_ERROR(Member(body, 0));
    HX_ASSIGN_OR_RETURN(snapshot.author, Hex(body, 0, kShortIdHexLength));
    HX_RETURN_IF_ERROR(Member(body, 1));
    HX_RETURN_IF_ERROR(Blobs(body, snapshot.added));
    HX_RETURN_IF_ERROR(Member(body, 2));
    HX_ASSIGN_OR_RETURN(const std::uint64_t created_ms, Count(body, 2, 0));
    snapshot.created_ms = static_cast<std::int64_t>(created_ms);
    HX_RETURN_IF_ERROR(Member(body, 3));
    HX_ASSIGN_OR_RETURN(snapshot.key_fingerprint, Hex(body, 3, kLongIdHexLength));
    HX_RETURN_IF_ERROR(Member(body, 4));
    HX_RETURN_IF_ERROR(Parents(body, snapshot.parents));
    HX_RETURN_IF_ERROR(Member(body, 5));
    HX_ASSIGN_OR_RETURN(const std::string root, Hex(body, 5, kLongIdHexLength));
    snapshot.root = IdFromHex(root);
    HX_RETURN_IF_ERROR(Member(body, 6));
    HX_ASSIGN_OR_RETURN(snapshot.seq, Count(body, 6, 1));
    HX_RETURN_IF_ERROR(Member(body, 7));
    HX_RETURN_IF_ERROR(Summary(snapshot.summary));
    HX_RETURN_IF_ERROR(Close(body));
    if (pos_ < text_.size()) {
      if (SpaceAt(pos_)) return NotCanonical(pos_, "whitespace");
      return Invalid(pos_, "unexpected " + Byte(pos_) + " after the JSON value");
    }
    HX_RETURN_IF_ERROR(EveryObjectOnce(snapshot.added));
    return snapshot;
  }

 private:
  bool At(std::size_t pos, char c) const { return pos < text_.size() && text_[pos] == c; }
  bool Take(char c) {
    if (!At(pos_, c)) return false;
    ++pos_;
    return true;
  }
  bool TakeText(std::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  std::string Byte(std::size_t pos) const {
    const auto byte = static_cast<unsigned char>(text_[pos]);
    if (byte >= 0x20 && byte < 0x7f && byte != '\'') return std::string{'\'', text_[pos], '\''};
    return "byte 0x" + ToHex(std::span<const std::uint8_t>(&byte, 1));
  }

  Error Report(std::size_t pos, std::string problem) const {
    problem += " at offset " + std::to_string(pos);
    return CorruptRecord(what_, problem).With("offset", std::to_string(pos));
  }
  Error Invalid(std::size_t pos, std::string_view problem) const {
    return Report(pos, "not valid JSON: " + std::string(problem));
  }
  Error NotCanonical(std::size_t pos, std::string_view problem) const {
    return Report(pos, "not canonical JSON (" + std::string(problem) + ")");
  }
  bool SpaceAt(std::size_t pos) const { return pos < text_.size() && IsJsonSpace(text_[pos]); }
  // `problem` at `pos`, unless what stands there is whitespace: then the
  // text is JSON hx does not write, whatever would have followed.
  Error AtOffset(std::size_t pos, std::string problem) const {
    if (SpaceAt(pos)) return NotCanonical(pos, "whitespace");
    return Report(pos, std::move(problem));
  }
  // The byte at `pos` is not `expected`.
  Error Unexpected(std::size_t pos, std::string_view expected) const {
    if (pos >= text_.size()) {
      return Invalid(pos, "unexpected end of input; expected " + std::string(expected));
    }
    if (SpaceAt(pos)) return NotCanonical(pos, "whitespace");
    return NotCanonical(pos, "unexpected " + Byte(pos) + "; expected " + std::string(expected));
  }
  // A value of field `key` that is not what it must be (at pos_).
  Error FieldError(const Shape& shape, std::string_view key, std::string_view problem) const {
    if (SpaceAt(pos_)) return NotCanonical(pos_, "whitespace");
    const std::string record = shape.path.empty() ? what_ : what_ + "." + shape.path;
    return CorruptRecord(record, "field \"" + std::string(key) + "\" " + std::string(problem))
        .With("field", record + "." + std::string(key));
  }

  Status Open(const Shape& shape) {
    if (Take('{')) return OkStatus();
    if (shape.path.empty()) return Unexpected(pos_, "'{'");
    return AtOffset(pos_, shape.path + " is not a JSON object");
  }

  // The key of member `index` of `shape` (and the comma before it).
  Status Member(const Shape& shape, std::size_t index) {
    const std::size_t start = pos_;
    const std::string_view key = shape.keys[index];
    if ((index == 0 || Take(',')) && Take('"') && TakeText(key) && Take('"') && Take(':')) {
      return OkStatus();
    }
    pos_ = start;
    return KeyProblem(shape, index);
  }

  Status Close(const Shape& shape) {
    if (Take('}')) return OkStatus();
    return KeyProblem(shape, shape.keys.size());
  }

  // Why the text at pos_ is not member `index` of `shape` (or, with index
  // keys.size(), its end): cold, so it may read the key found there twice.
  Error KeyProblem(const Shape& shape, std::size_t index) const {
    const bool end = index == shape.keys.size();
    std::size_t pos = pos_;
    if (index > 0) {
      if (At(pos, '}') && !end) return FieldError(shape, shape.keys[index], "is missing");
      if (!At(pos, ',')) return Unexpected(pos, end ? "'}'" : "','");
      ++pos;
    } else if (At(pos, '}')) {
      return FieldError(shape, shape.keys[index], "is missing");
    }
    if (!At(pos, '"')) return Unexpected(pos, "a string key");
    const std::size_t close = text_.find('"', pos + 1);
    const std::string_view key = close == std::string_view::npos
                                     ? std::string_view()
                                     : text_.substr(pos + 1, close - pos - 1);
    if (!IsPlainKey(key)) return NotCanonical(pos, "a key hx does not write");
    // Where `key` stands among the shape's keys (keys.size(): not one).
    const auto found = static_cast<std::size_t>(
        std::find(shape.keys.begin(), shape.keys.end(), key) - shape.keys.begin());
    if (found < index) return Invalid(pos, "duplicate key \"" + std::string(key) + "\"");
    if (index > 0 && key < shape.keys[index - 1]) {
      return NotCanonical(pos, "key \"" + std::string(key) + "\" out of order");
    }
    if (found == index && !end) return Unexpected(close + 1, "':'");
    if (found < shape.keys.size()) return FieldError(shape, shape.keys[index], "is missing");
    return FieldError(shape, key, "is not known");
  }

  // A string of `length` lowercase hex digits, in quotes.
  std::optional<std::string_view> TakeHex(std::size_t length) {
    if (!At(pos_, '"') || !At(pos_ + length + 1, '"')) return std::nullopt;
    const std::string_view hex = text_.substr(pos_ + 1, length);
    if (!IsLowerHex(hex, length)) return std::nullopt;
    pos_ += length + 2;
    return hex;
  }

  Result<std::string> Hex(const Shape& shape, std::size_t index, std::size_t length) {
    if (const auto hex = TakeHex(length)) return std::string(*hex);
    return FieldError(shape, shape.keys[index],
                      "must be " + std::to_string(length) + " lowercase hex digits");
  }

  // A non-negative integer as the encoder writes it: "0", or digits without
  // a leading zero, at most 2^63-1, not followed by a fraction or exponent.
  std::optional<std::uint64_t> TakeCount() {
    std::size_t pos = pos_;
    if (pos >= text_.size() || !IsDigit(text_[pos])) return std::nullopt;
    std::uint64_t value = 0;
    if (At(pos, '0')) {
      ++pos;
    } else {
      while (pos < text_.size() && IsDigit(text_[pos])) {
        const auto digit = static_cast<std::uint64_t>(text_[pos] - '0');
        if (value > (kMaxJsonInt - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
        ++pos;
      }
    }
    if (pos < text_.size() &&
        (IsDigit(text_[pos]) || text_[pos] == '.' || text_[pos] == 'e' || text_[pos] == 'E')) {
      return std::nullopt;
    }
    pos_ = pos;
    return value;
  }

  Result<std::uint64_t> Count(const Shape& shape, std::size_t index, std::uint64_t min) {
    const std::optional<std::uint64_t> value = TakeCount();
    if (value && *value >= min) return *value;
    return FieldError(shape, shape.keys[index],
                      "must be an integer from " + std::to_string(min) + " to 2^63-1");
  }

  Status Parents(const Shape& body, std::vector<std::string>& parents) {
    static constexpr std::size_t kParents = 4;
    if (!Take('[')) return FieldError(body, body.keys[kParents], "must be an array");
    if (Take(']')) return OkStatus();
    do {
      if (parents.size() == kMaxSnapshotParents) {
        return FieldError(body, body.keys[kParents],
                          "has more than " + std::to_string(kMaxSnapshotParents) + " items");
      }
      const auto hex = TakeHex(kLongIdHexLength);
      if (!hex) {
        return FieldError(body, body.keys[kParents],
                          "must hold strings of 64 lowercase hex digits");
      }
      parents.emplace_back(*hex);
    } while (Take(','));
    if (!Take(']')) return Unexpected(pos_, "',' or ']'");
    return OkStatus();
  }

  Status Summary(SnapshotSummary& summary) {
    const Shape shape{"summary", kSummaryKeys};
    std::uint64_t* counts[] = {&summary.added, &summary.bytes, &summary.deleted, &summary.files,
                               &summary.modified};
    HX_RETURN_IF_ERROR(Open(shape));
    for (std::size_t i = 0; i < kSummaryKeys.size(); ++i) {
      HX_RETURN_IF_ERROR(Member(shape, i));
      HX_ASSIGN_OR_RETURN(*counts[i], Count(shape, i, 0));
    }
    return Close(shape);
  }

  // The locations are reserved once, from the count of '["' in the rest of
  // the text (one per object, and one for a non-empty "parents"), which
  // the text's size bounds whatever it holds.
  Status Blobs(const Shape& body, std::vector<ObjectLocation>& added) {
    static constexpr std::string_view kObjectStart = "[\"";
    if (!At(pos_, '[')) return FieldError(body, "blobs", "must be an array");
    std::size_t starts = 0;
    for (std::size_t at = text_.find(kObjectStart, pos_); at != std::string_view::npos;
         at = text_.find(kObjectStart, at + kObjectStart.size())) {
      ++starts;
    }
    added.reserve(std::min(starts, (text_.size() - pos_) / kMinObjectBytes + 1));
    ++pos_;
    if (Take(']')) return OkStatus();
    std::string previous_blob;
    std::size_t index = 0;
    do {
      HX_RETURN_IF_ERROR(Blob(index++, previous_blob, added));
    } while (Take(','));
    if (!Take(']')) return Unexpected(pos_, "',' or ']'");
    return OkStatus();
  }

  // Blob `index`; `previous_blob` is the id of the one before ("" for the
  // first) and becomes this one's.
  Status Blob(std::size_t index, std::string& previous_blob, std::vector<ObjectLocation>& added) {
    const Shape shape{"blobs[" + std::to_string(index) + "]", kBlobKeys};
    HX_RETURN_IF_ERROR(Open(shape));
    HX_RETURN_IF_ERROR(Member(shape, 0));
    const std::size_t id_pos = pos_;
    HX_ASSIGN_OR_RETURN(std::string blob_id, Hex(shape, 0, kLongIdHexLength));
    // Strictly: the encoder writes each blob once, so the same id twice in
    // a row (its objects split in two) is another text for the same snapshot.
    if (!previous_blob.empty() && blob_id <= previous_blob)
      return AtOffset(id_pos, std::string(kNotSorted));
    HX_RETURN_IF_ERROR(Member(shape, 1));
    if (!Take('[')) return FieldError(shape, "objects", "must be an array");
    if (At(pos_, ']')) return AtOffset(pos_, "blob " + blob_id + " lists no objects");
    const std::size_t first = added.size();
    do {
      HX_RETURN_IF_ERROR(Object(blob_id, added.size() > first ? &added.back() : nullptr, added));
    } while (Take(','));
    if (!Take(']')) return Unexpected(pos_, "',' or ']'");
    HX_RETURN_IF_ERROR(Close(shape));
    previous_blob = std::move(blob_id);
    return OkStatus();
  }

  // One [id, kind, offset, length, raw_length] tuple of blob `blob_id`,
  // after `previous` (the blob's object before it, or null).
  Status Object(const std::string& blob_id, const ObjectLocation* previous,
                std::vector<ObjectLocation>& added) {
    const std::size_t start = pos_;
    if (!Take('[')) return AtOffset(start, std::string(kNotATuple));
    const auto id = TakeHex(kLongIdHexLength);
    if (!id) return AtOffset(pos_, "an object id is not 64 lowercase hex digits");
    if (!Take(',')) return AtOffset(pos_, std::string(kNotATuple));
    ObjectLocation location;
    location.id = IdFromHex(*id);
    if (TakeText("\"chunk\"")) {
      location.kind = ObjectKind::kChunk;
    } else if (TakeText("\"tree\"")) {
      location.kind = ObjectKind::kTree;
    } else {
      return AtOffset(pos_, "an object kind is not \"chunk\" or \"tree\"");
    }
    for (std::uint64_t* number : {&location.offset, &location.length, &location.raw_length}) {
      if (!Take(',')) return AtOffset(pos_, std::string(kNotATuple));
      const std::optional<std::uint64_t> value = TakeCount();
      if (!value) {
        return AtOffset(pos_,
                        "an object offset, length or raw_length is not a non-negative "
                        "integer");
      }
      *number = *value;
    }
    if (!Take(']')) return AtOffset(pos_, std::string(kNotATuple));
    if (location.length == 0 || location.offset > kMaxJsonInt - location.length) {
      return AtOffset(start, "an object range is empty or beyond 2^63-1");
    }
    if (previous != nullptr) {
      if (location.offset < previous->offset) return AtOffset(start, std::string(kNotSorted));
      if (previous->offset + previous->length > location.offset) {
        return AtOffset(start, "objects overlap in blob " + blob_id);
      }
    }
    location.blob_id = blob_id;
    added.push_back(std::move(location));
    return OkStatus();
  }

  // No object id twice in the whole body.
  Status EveryObjectOnce(const std::vector<ObjectLocation>& added) const {
    if (const std::optional<ObjectId> repeated = RepeatedObjectId(added)) {
      return CorruptRecord(what_, "object " + ToHex(*repeated) + " is listed twice");
    }
    return OkStatus();
  }

  std::string_view text_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<std::string> EncodeSnapshotBody(const Snapshot& snapshot) {
  BlobGroups groups;
  if (const auto problem = GroupByBlob(snapshot.added, groups)) {
    return EncoderBug("EncodeSnapshotBody", *problem);
  }
  // The small part from the canonical writer, the blobs spliced in where
  // its empty array stands.
  HX_ASSIGN_OR_RETURN(const std::string small,
                      WriteRecordJson("snapshot body", BodyJsonWithoutBlobs(snapshot)));
  static constexpr std::string_view kPlaceholder = "\"blobs\":[]";
  const std::size_t at = small.find(kPlaceholder);
  if (at == std::string::npos) {
    return EncoderBug("EncodeSnapshotBody", "the body has no blobs placeholder");
  }
  std::string out;
  out.reserve(small.size() + groups.size() * 96 + snapshot.added.size() * 112);
  out.append(small, 0, at + kPlaceholder.size() - 2);  // up to and with "blobs":
  AppendBlobsJson(groups, out);
  out.append(small, at + kPlaceholder.size());
  return out;
}

Result<Snapshot> DecodeSnapshotBody(std::string_view text, const std::string& what) {
  if (text.size() > kMaxSnapshotZipBytes) {
    return CorruptRecord(what, "too long: " + std::to_string(text.size()) +
                                   " bytes, more than the limit of " +
                                   std::to_string(kMaxSnapshotZipBytes));
  }
  return BodyReader(text, what).Read();
}

}  // namespace hx::meta_internal
