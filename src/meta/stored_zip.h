// The one zip layout hx writes: a few entries, stored (no compression), with
// every optional field fixed, so the same entries always give the same bytes
// and any unzip tool can open a snapshot file.
//
// Why not libzip: libzip 1.7.3 can be made to produce stable bytes (fixed DOS
// time, no extra fields), but the bytes then depend on libzip's own choices
// ("version made by" 6.3, Unix attributes 0100666, how it converts DOS times
// through the local time zone, and since 2024 a changed time-stamp path), which
// differ between releases. A snapshot file's bytes are part of hx's store
// format, so they are fixed here, byte for byte, independent of any library.
// The tests check that libzip reads what this writes.
//
// Layout (all integers little endian), for entries e_1..e_n in order:
//   for each entry, a local file header (30 bytes) + name + data:
//     u32 0x04034b50  u16 version needed 10 (1.0)  u16 flags 0
//     u16 method 0 (stored)  u16 time 0  u16 date 0x0021 (1980-01-01 00:00:00)
//     u32 CRC-32 of data  u32 size  u32 size  u16 name length  u16 extra 0
//   then a central directory entry (46 bytes) + name for each entry:
//     u32 0x02014b50  u16 version made by 10 (MS-DOS host, 1.0)
//     u16 version needed 10  u16 flags 0  u16 method 0  u16 time 0
//     u16 date 0x0021  u32 CRC-32  u32 size  u32 size  u16 name length
//     u16 extra 0  u16 comment 0  u16 disk 0  u16 internal attributes 0
//     u32 external attributes 0  u32 offset of the entry's local header
//   then the end of central directory record (22 bytes):
//     u32 0x06054b50  u16 disk 0  u16 disk 0  u16 n  u16 n
//     u32 central directory size  u32 central directory offset  u16 comment 0
// No Zip64, no data descriptors, no extra fields, no comments. Names are
// ASCII [a-z0-9._-] (no directories, so nothing can be extracted outside
// the folder).
//
// Reading is strict: ReadStoredZip accepts exactly the bytes WriteStoredZip
// would produce for the entries it finds, with the expected names in the
// expected order, and nothing else (a zip re-packed by another tool, with a
// comment, an extra field, compression or trailing bytes is refused). It
// never inflates, so there is no zip bomb; sizes are checked against the
// input before anything is read.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hx {

struct StoredZipEntry {
  std::string_view name;
  std::span<const std::uint8_t> data;
};

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip uses it.
std::uint32_t Crc32(std::span<const std::uint8_t> data);

// The zip of `entries`, in order. Fails (KC_SYNC_INTERNAL) for names that
// are empty, longer than 255 bytes or not [a-z0-9._-], more than 255
// entries, or a total size that would need Zip64 (4 GiB).
Result<std::vector<std::uint8_t>> WriteStoredZip(std::span<const StoredZipEntry> entries);

// The data of the first entry of `zip`, which must be named `name`: only its
// local header is checked. Lets a reader look at a versioned header entry
// before it knows whether it can read the rest. The returned span points
// into `zip`. Failures: KC_SYNC_STATE_FAILED, Category::kCorrupt, "<what>: ...".
Result<std::span<const std::uint8_t>> ReadFirstStoredZipEntry(std::span<const std::uint8_t> zip,
                                                              std::string_view name,
                                                              std::string_view what);

// The entries of `zip`, which must be exactly WriteStoredZip of entries named
// `names` in this order (see above). Returned spans point into `zip`.
// Failures: KC_SYNC_STATE_FAILED, Category::kCorrupt, "<what>: ...".
Result<std::vector<StoredZipEntry>> ReadStoredZip(std::span<const std::uint8_t> zip,
                                                  std::span<const std::string_view> names,
                                                  std::string_view what);

}  // namespace hx
