#include "envelope/envelope.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <set>

#include "base/hex.h"
#include "hash/sha256.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "json/utf8.h"
#include "repo/tree.h"

namespace hx {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (the
// era-based civil calendar arithmetic).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool Digits(std::string_view text, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return true;
}

unsigned DaysInMonth(unsigned y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

Error EnvelopeError(std::string message) {
  return InvalidInput(SyncCode::kInputInvalid, "envelope: " + std::move(message));
}

Error UnknownSchema(const std::string& version) {
  std::string hint;
  if (!version.empty() && version[0] >= '2' && version[0] <= '9') {
    hint = "it was written by a newer tool: upgrade hx to a version that reads schema " + version +
           ", or export it again as schema " + std::string(kEnvelopeSchemaVersion);
  } else {
    hint = "export it again with a tool that writes schema " + std::string(kEnvelopeSchemaVersion) +
           " (hx envelope export does)";
  }
  return Error(SyncCode::kInputInvalid, Category::kUnsupported,
               "envelope schema_version \"" + version + "\" is not supported (this hx reads " +
                   std::string(kEnvelopeSchemaVersion) + "); " + hint)
      .With("schema_version", version)
      .With("supported", std::string(kEnvelopeSchemaVersion));
}

Status CheckContent(const std::string& type, const nlohmann::json& content,
                    const std::string& what) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(content, what));
  if (type == "file") {
    HX_ASSIGN_OR_RETURN(std::string data, fields.String("data"));
    HX_RETURN_IF_ERROR(fields.Bool("executable"));
    Result<std::string> decoded = DecodeBase64(data);
    if (!decoded.ok()) return EnvelopeError(what + ".data: " + decoded.error().message);
  } else if (type == "symlink") {
    HX_ASSIGN_OR_RETURN(std::string target, fields.String("target"));
    if (target.empty() || target.find('\0') != std::string::npos ||
        target.size() > kMaxItemIdBytes) {
      return EnvelopeError(what + ".target must be a non-empty link target without NUL");
    }
  }
  return fields.RejectUnknownFields();
}

Result<EnvelopeItem> ParseItem(const nlohmann::json& value, std::size_t index) {
  const std::string what = "items[" + std::to_string(index) + "]";
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  EnvelopeItem item;
  HX_ASSIGN_OR_RETURN(item.item_type, fields.String("item_type"));
  HX_ASSIGN_OR_RETURN(item.item_id, fields.String("item_id"));
  HX_ASSIGN_OR_RETURN(item.updated_utc, fields.String("updated_utc"));
  HX_ASSIGN_OR_RETURN(item.content_hash, fields.String("content_hash"));
  HX_RETURN_IF_ERROR(fields.Object("content"));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (item.item_type != "file" && item.item_type != "symlink" && item.item_type != "directory") {
    return EnvelopeError(what + ".item_type must be \"file\", \"symlink\" or \"directory\"");
  }
  if (!IsValidItemId(item.item_id)) {
    return EnvelopeError(what + ".item_id is not a normalized relative path outside .hx")
        .With("item_id", item.item_id);
  }
  if (!IsValidUtc(item.updated_utc)) {
    return EnvelopeError(what + ".updated_utc is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  }
  const std::string_view hash = item.content_hash;
  if (hash.size() != 7 + 64 || !hash.starts_with("sha256:") ||
      hash.find_first_not_of("0123456789abcdef", 7) != std::string_view::npos) {
    return EnvelopeError(what + ".content_hash must be \"sha256:\" and 64 lowercase hex digits");
  }
  item.content = value.at("content");
  HX_RETURN_IF_ERROR(CheckContent(item.item_type, item.content, what + ".content"));
  return item;
}

}  // namespace

std::string EncodeBase64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<std::uint8_t>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<std::uint8_t>(bytes[i + 2])};
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<std::uint8_t>(bytes[i + 1])} << 8;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return EnvelopeError("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return EnvelopeError("base64 has data after padding");
      v[k] = Base64Value(c);
      if (v[k] < 0) return EnvelopeError("base64 holds a character outside its alphabet");
    }
    const std::uint32_t n =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0)) {
      return EnvelopeError("base64 has non-zero padding bits (not canonical)");
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string FormatUtc(std::int64_t ns) {
  constexpr std::int64_t kMin = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  std::int64_t secs = ns / 1'000'000'000;
  if (ns % 1'000'000'000 < 0) --secs;  // floor
  secs = std::clamp(secs, kMin, kMax);
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(y), m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

bool IsValidUtc(std::string_view t) {
  unsigned y, mo, d, h, mi, s;
  if (t.size() < 20 || !Digits(t, 0, 4, y) || t[4] != '-' || !Digits(t, 5, 2, mo) || t[7] != '-' ||
      !Digits(t, 8, 2, d) || t[10] != 'T' || !Digits(t, 11, 2, h) || t[13] != ':' ||
      !Digits(t, 14, 2, mi) || t[16] != ':' || !Digits(t, 17, 2, s)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return false;
  }
  std::size_t pos = 19;
  if (t[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return false;
  }
  return pos + 1 == t.size() && t[pos] == 'Z';
}

std::int64_t ParseUtcNs(std::string_view t) {
  unsigned y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0;
  (void)(Digits(t, 0, 4, y) && Digits(t, 5, 2, mo) && Digits(t, 8, 2, d) && Digits(t, 11, 2, h) &&
         Digits(t, 14, 2, mi) && Digits(t, 17, 2, s));
  std::int64_t ns = 0;
  if (t.size() > 20 && t[19] == '.') {
    std::int64_t scale = 100'000'000;
    for (std::size_t i = 20; i < t.size() && t[i] != 'Z'; ++i, scale /= 10) {
      ns += (t[i] - '0') * scale;
    }
  }
  const std::int64_t days = DaysFromCivil(y, mo, d);
  return ((days * 86400) + h * 3600 + mi * 60 + s) * 1'000'000'000 + ns;
}

bool IsValidItemId(std::string_view id) {
  if (id.empty() || id.size() > kMaxItemIdBytes || FindInvalidUtf8(id).has_value()) return false;
  if (id == ".hx" || id.starts_with(".hx/")) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = id.find('/', start);
    const std::string_view name =
        id.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (name.empty() || name == "." || name == ".." || !IsValidEntryName(name)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Result<std::string> ContentHash(const nlohmann::json& content) {
  HX_ASSIGN_OR_RETURN(std::string canonical, WriteCanonicalJson(content));
  const Sha256Digest digest = Sha256(canonical);
  return "sha256:" + ToHex(digest);
}

bool VerifyContentHash(const EnvelopeItem& item) {
  Result<std::string> hash = ContentHash(item.content);
  return hash.ok() && *hash == item.content_hash;
}

Result<std::string> EncodeEnvelope(const Envelope& envelope) {
  nlohmann::json items = nlohmann::json::array();
  for (const EnvelopeItem& item : envelope.items) {
    items.push_back({{"item_type", item.item_type},
                     {"item_id", item.item_id},
                     {"updated_utc", item.updated_utc},
                     {"content_hash", item.content_hash},
                     {"content", item.content}});
  }
  nlohmann::json j = {{"schema_version", envelope.schema_version},
                      {"source",
                       {{"kind", envelope.source.kind},
                        {"app_version", envelope.source.app_version},
                        {"device_id", envelope.source.device_id}}},
                      {"exported_utc", envelope.exported_utc},
                      {"items", std::move(items)}};
  HX_ASSIGN_OR_RETURN(std::string bytes, WriteCanonicalJson(j));
  if (bytes.size() > kMaxEnvelopeBytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the envelope would be " + std::to_string(bytes.size() >> 20) +
                            " MiB, above the limit of " + std::to_string(kMaxEnvelopeBytes >> 20) +
                            " MiB; export a smaller folder (or list large files in .hxignore)");
  }
  return bytes;
}

Result<Envelope> ParseEnvelope(std::string_view bytes) {
  if (bytes.size() > kMaxEnvelopeBytes) {
    return EnvelopeError("larger than " + std::to_string(kMaxEnvelopeBytes >> 20) + " MiB");
  }
  JsonReadOptions read;
  read.max_input_bytes = kMaxEnvelopeBytes;
  read.max_depth = 8;  // envelope > items > item > content: no deeper value is valid
  Result<nlohmann::json> parsed = ParseJson(bytes, read);
  if (!parsed.ok()) return EnvelopeError(parsed.error().message);
  const nlohmann::json& value = *parsed;
  HX_ASSIGN_OR_RETURN(JsonFields top, JsonFields::Of(value, "envelope"));
  Envelope envelope;
  // The version first: a newer envelope may have any other shape.
  HX_ASSIGN_OR_RETURN(envelope.schema_version, top.String("schema_version"));
  if (envelope.schema_version != kEnvelopeSchemaVersion) {
    return UnknownSchema(envelope.schema_version);
  }
  HX_ASSIGN_OR_RETURN(JsonFields source, top.Object("source"));
  HX_ASSIGN_OR_RETURN(envelope.source.kind, source.String("kind"));
  HX_ASSIGN_OR_RETURN(envelope.source.app_version, source.String("app_version"));
  HX_ASSIGN_OR_RETURN(envelope.source.device_id, source.String("device_id"));
  HX_RETURN_IF_ERROR(source.RejectUnknownFields());
  HX_ASSIGN_OR_RETURN(envelope.exported_utc, top.String("exported_utc"));
  if (!IsValidUtc(envelope.exported_utc)) {
    return EnvelopeError("exported_utc is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  }
  HX_ASSIGN_OR_RETURN(const nlohmann::json::array_t* items, top.Array("items"));
  HX_RETURN_IF_ERROR(top.RejectUnknownFields());
  if (items->size() > kMaxEnvelopeItems) {
    return EnvelopeError("more than " + std::to_string(kMaxEnvelopeItems) + " items");
  }
  std::map<std::string, std::string> types;  // item_id -> item_type
  for (std::size_t i = 0; i < items->size(); ++i) {
    HX_ASSIGN_OR_RETURN(EnvelopeItem item, ParseItem((*items)[i], i));
    if (!types.emplace(item.item_id, item.item_type).second) {
      return EnvelopeError("item_id " + item.item_id + " appears twice")
          .With("item_id", item.item_id);
    }
    envelope.items.push_back(std::move(item));
  }
  // Nothing can be inside an item that is not a directory.
  for (const auto& [id, type] : types) {
    if (type == "directory") continue;
    const std::string prefix = id + "/";
    auto inside = types.lower_bound(prefix);
    if (inside != types.end() && inside->first.starts_with(prefix)) {
      return EnvelopeError("item " + inside->first + " is inside " + id + ", which is a " + type)
          .With("item_id", inside->first);
    }
  }
  std::sort(envelope.items.begin(), envelope.items.end(),
            [](const EnvelopeItem& a, const EnvelopeItem& b) { return a.item_id < b.item_id; });
  return envelope;
}

}  // namespace hx
