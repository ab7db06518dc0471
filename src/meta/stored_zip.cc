#include "meta/stored_zip.h"

#include <array>
#include <limits>
#include <string>

#include "meta/records.h"

namespace hx {
namespace {

using meta_internal::CorruptRecord;

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndSignature = 0x06054b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEndRecordSize = 22;
constexpr std::uint16_t kVersion10 = 10;
constexpr std::uint16_t kDosDate19800101 = (0 << 9) | (1 << 5) | 1;
constexpr std::size_t kMaxEntries = 255;
constexpr std::size_t kMaxNameLength = 255;

constexpr std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = MakeCrcTable();

void PutU16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}
void PutU32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  PutU16(out, static_cast<std::uint16_t>(value));
  PutU16(out, static_cast<std::uint16_t>(value >> 16));
}
void PutName(std::vector<std::uint8_t>& out, std::string_view name) {
  out.insert(out.end(), name.begin(), name.end());
}

std::uint16_t GetU16(std::span<const std::uint8_t> in, std::size_t at) {
  return static_cast<std::uint16_t>(in[at] | (in[at + 1] << 8));
}
std::uint32_t GetU32(std::span<const std::uint8_t> in, std::size_t at) {
  return GetU16(in, at) | (static_cast<std::uint32_t>(GetU16(in, at + 2)) << 16);
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

// The fields shared by the local and the central header, from "version
// needed" to "extra length".
void PutCommonFields(std::vector<std::uint8_t>& out, const StoredZipEntry& entry,
                     std::uint32_t crc) {
  PutU16(out, kVersion10);  // version needed to extract
  PutU16(out, 0);           // general purpose flags
  PutU16(out, 0);           // method: stored
  PutU16(out, 0);           // DOS time 00:00:00
  PutU16(out, kDosDate19800101);
  PutU32(out, crc);
  PutU32(out, static_cast<std::uint32_t>(entry.data.size()));  // compressed size
  PutU32(out, static_cast<std::uint32_t>(entry.data.size()));  // uncompressed size
  PutU16(out, static_cast<std::uint16_t>(entry.name.size()));
  PutU16(out, 0);  // extra field length
}

std::vector<std::uint8_t> LocalHeader(const StoredZipEntry& entry, std::uint32_t crc) {
  std::vector<std::uint8_t> out;
  PutU32(out, kLocalHeaderSignature);
  PutCommonFields(out, entry, crc);
  PutName(out, entry.name);
  return out;
}

// The central directory and end record for entries whose local headers
// start at `offsets` and end at `directory_offset`.
std::vector<std::uint8_t> Directory(std::span<const StoredZipEntry> entries,
                                    std::span<const std::uint32_t> crcs,
                                    std::span<const std::uint32_t> offsets,
                                    std::uint32_t directory_offset) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    PutU32(out, kCentralHeaderSignature);
    PutU16(out, kVersion10);  // version made by: MS-DOS host, 1.0
    PutCommonFields(out, entries[i], crcs[i]);
    PutU16(out, 0);  // comment length
    PutU16(out, 0);  // disk number start
    PutU16(out, 0);  // internal attributes
    PutU32(out, 0);  // external attributes
    PutU32(out, offsets[i]);
    PutName(out, entries[i].name);
  }
  const auto directory_size = static_cast<std::uint32_t>(out.size());
  PutU32(out, kEndSignature);
  PutU16(out, 0);  // this disk
  PutU16(out, 0);  // disk with the central directory
  PutU16(out, static_cast<std::uint16_t>(entries.size()));
  PutU16(out, static_cast<std::uint16_t>(entries.size()));
  PutU32(out, directory_size);
  PutU32(out, directory_offset);
  PutU16(out, 0);  // comment length
  return out;
}

// Where `actual` first differs from `expected` (or the shorter length).
std::size_t FirstDifference(std::span<const std::uint8_t> actual,
                            std::span<const std::uint8_t> expected) {
  std::size_t at = 0;
  while (at < actual.size() && at < expected.size() && actual[at] == expected[at]) ++at;
  return at;
}

Error LayoutError(std::string_view what, std::size_t offset) {
  return CorruptRecord(what, "not in hx's zip layout (first difference at offset " +
                                 std::to_string(offset) + ")")
      .With("offset", std::to_string(offset));
}

struct LocalEntry {
  std::span<const std::uint8_t> data;
  std::uint32_t crc = 0;
  std::size_t end = 0;  // offset just past the data
};

// Reads the entry whose local header is at `offset` and must name `name`.
// The fields that tell a reader something useful (compression, another
// name, a truncated file, a failed CRC) get their own message; then the
// whole header must be byte for byte the one hx writes.
Result<LocalEntry> ReadLocalEntry(std::span<const std::uint8_t> zip, std::size_t offset,
                                  std::string_view name, std::string_view what) {
  const std::string entry = "entry \"" + std::string(name) + "\"";
  if (zip.size() - offset < kLocalHeaderSize) {
    return CorruptRecord(what, "truncated before the local header of " + entry);
  }
  if (GetU32(zip, offset) != kLocalHeaderSignature) {
    return CorruptRecord(what, "no local zip header at offset " + std::to_string(offset) +
                                   " (expected " + entry + ")");
  }
  if (GetU16(zip, offset + 8) != 0) {
    return CorruptRecord(what, entry + " is compressed; hx stores entries uncompressed");
  }
  const std::uint32_t stored_crc = GetU32(zip, offset + 14);
  const std::uint32_t size = GetU32(zip, offset + 22);
  const std::uint16_t name_length = GetU16(zip, offset + 26);
  const std::uint16_t extra_length = GetU16(zip, offset + 28);
  const std::size_t name_at = offset + kLocalHeaderSize;
  if (zip.size() - name_at < name_length ||
      std::string_view(reinterpret_cast<const char*>(zip.data() + name_at), name_length) !=
          name) {
    return CorruptRecord(what, "expected " + entry + " at offset " + std::to_string(offset) +
                                   ", found another name");
  }
  const std::size_t data_at = name_at + name_length + extra_length;
  if (zip.size() - name_at - name_length < std::size_t{extra_length} + size) {
    return CorruptRecord(what, entry + " claims " + std::to_string(size) +
                                   " bytes, more than the file holds");
  }
  const auto data = zip.subspan(data_at, size);
  const std::uint32_t crc = Crc32(data);
  if (crc != stored_crc) {
    return CorruptRecord(what, entry + " fails its CRC-32 check (the file is damaged)");
  }
  const StoredZipEntry parsed{.name = name, .data = data};
  const std::vector<std::uint8_t> expected = LocalHeader(parsed, crc);
  const auto header = zip.subspan(offset, data_at - offset);
  if (header.size() != expected.size() || !std::equal(header.begin(), header.end(), expected.begin())) {
    return LayoutError(what, offset + FirstDifference(header, expected));
  }
  return LocalEntry{.data = data, .crc = crc, .end = data_at + size};
}

}  // namespace

std::uint32_t Crc32(std::span<const std::uint8_t> data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::uint8_t byte : data) crc = kCrcTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

Result<std::vector<std::uint8_t>> WriteStoredZip(std::span<const StoredZipEntry> entries) {
  if (entries.size() > kMaxEntries) return InternalError("WriteStoredZip: too many entries");
  std::uint64_t total = kEndRecordSize;
  for (const StoredZipEntry& entry : entries) {
    if (!IsValidName(entry.name)) return InternalError("WriteStoredZip: invalid entry name");
    total += kLocalHeaderSize + kCentralHeaderSize + 2 * entry.name.size() + entry.data.size();
  }
  // Every offset and size must fit the 32-bit fields (no Zip64).
  if (total > std::numeric_limits<std::uint32_t>::max()) {
    return InternalError("WriteStoredZip: the zip would exceed 4 GiB");
  }
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(total));
  std::vector<std::uint32_t> crcs;
  std::vector<std::uint32_t> offsets;
  for (const StoredZipEntry& entry : entries) {
    crcs.push_back(Crc32(entry.data));
    offsets.push_back(static_cast<std::uint32_t>(out.size()));
    const std::vector<std::uint8_t> header = LocalHeader(entry, crcs.back());
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), entry.data.begin(), entry.data.end());
  }
  const std::vector<std::uint8_t> directory =
      Directory(entries, crcs, offsets, static_cast<std::uint32_t>(out.size()));
  out.insert(out.end(), directory.begin(), directory.end());
  return out;
}

Result<std::span<const std::uint8_t>> ReadFirstStoredZipEntry(std::span<const std::uint8_t> zip,
                                                              std::string_view name,
                                                              std::string_view what) {
  HX_ASSIGN_OR_RETURN(const LocalEntry entry, ReadLocalEntry(zip, 0, name, what));
  return entry.data;
}

Result<std::vector<StoredZipEntry>> ReadStoredZip(std::span<const std::uint8_t> zip,
                                                  std::span<const std::string_view> names,
                                                  std::string_view what) {
  std::vector<StoredZipEntry> entries;
  std::vector<std::uint32_t> crcs;
  std::vector<std::uint32_t> offsets;
  std::size_t offset = 0;
  for (std::string_view name : names) {
    if (offset > std::numeric_limits<std::uint32_t>::max()) return LayoutError(what, offset);
    HX_ASSIGN_OR_RETURN(const LocalEntry entry, ReadLocalEntry(zip, offset, name, what));
    entries.push_back(StoredZipEntry{.name = name, .data = entry.data});
    crcs.push_back(entry.crc);
    offsets.push_back(static_cast<std::uint32_t>(offset));
    offset = entry.end;
  }
  if (offset > std::numeric_limits<std::uint32_t>::max()) return LayoutError(what, offset);
  // The rest (central directory and end record) must be exactly what hx
  // writes after these entries: no comment, no trailing bytes.
  const std::vector<std::uint8_t> expected =
      Directory(entries, crcs, offsets, static_cast<std::uint32_t>(offset));
  const auto tail = zip.subspan(offset);
  if (tail.size() != expected.size() || !std::equal(tail.begin(), tail.end(), expected.begin())) {
    return LayoutError(what, offset + FirstDifference(tail, expected));
  }
  return entries;
}

}  // namespace hx
