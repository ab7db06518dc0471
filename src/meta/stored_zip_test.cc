#include "meta/stored_zip.h"

#include <sys/stat.h>
#include <zip.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/hex.h"

namespace hx {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> Span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
std::string Text(std::span<const std::uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

const StoredZipEntry kTwoEntries[] = {{"header.json", Span("{}")}, {"body.bin", Span("xyz")}};
constexpr std::string_view kTwoNames[] = {"header.json", "body.bin"};

// Made by Python's zipfile (testdata/make_golden.py, stored_zip()) with the
// fields stored_zip.h documents: the layout is not hx's invention.
constexpr std::string_view kTwoEntriesZipHex =
    "504b03040a00000000000000210043bfa6a302000000020000000b0000006865616465722e6a736f6e7b7d"
    "504b03040a00000000000000210067ba8eeb030000000300000008000000626f64792e62696e78797a"
    "504b01020a000a00000000000000210043bfa6a302000000020000000b00000000000000000000000000"
    "000000006865616465722e6a736f6e"
    "504b01020a000a00000000000000210067ba8eeb03000000030000000800000000000000000000000000"
    "2b000000626f64792e62696e"
    "504b050600000000020002006f000000540000000000";

Bytes TwoEntryZip() {
  auto zip = WriteStoredZip(kTwoEntries);
  EXPECT_TRUE(zip.ok());
  return zip.ok() ? *zip : Bytes{};
}

TEST(Crc32Test, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32(Span("123456789")), 0xCBF43926u);
  EXPECT_EQ(Crc32({}), 0u);
}

TEST(StoredZipTest, WritesExactlyTheDocumentedLayout) {
  EXPECT_EQ(ToHex(TwoEntryZip()), kTwoEntriesZipHex);
}

TEST(StoredZipTest, AnEmptyZipIsJustTheEndRecord) {
  auto zip = WriteStoredZip({});
  ASSERT_TRUE(zip.ok());
  EXPECT_EQ(ToHex(*zip), "504b0506000000000000000000000000000000000000");
}

TEST(StoredZipTest, BytesDoNotDependOnTimeZoneOrUmask) {
  const char* old_tz = std::getenv("TZ");
  const std::string saved_tz = old_tz ? old_tz : "";
  setenv("TZ", "Pacific/Chatham", 1);
  tzset();
  const mode_t old_umask = umask(077);
  const Bytes zip = TwoEntryZip();
  umask(old_umask);
  if (old_tz) {
    setenv("TZ", saved_tz.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  EXPECT_EQ(ToHex(zip), kTwoEntriesZipHex);
}

TEST(StoredZipTest, ReadGivesBackTheEntries) {
  const Bytes zip = TwoEntryZip();
  auto entries = ReadStoredZip(zip, kTwoNames, "test.zip");
  ASSERT_TRUE(entries.ok()) << entries.error().ToShortString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "header.json");
  EXPECT_EQ(Text((*entries)[0].data), "{}");
  EXPECT_EQ(Text((*entries)[1].data), "xyz");
  auto first = ReadFirstStoredZipEntry(zip, "header.json", "test.zip");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Text(*first), "{}");
}

TEST(StoredZipTest, LibzipReadsWhatHxWrites) {
  const Bytes zip = TwoEntryZip();
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  ASSERT_NE(source, nullptr);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  ASSERT_NE(archive, nullptr) << zip_error_strerror(&error);
  ASSERT_EQ(zip_get_num_entries(archive, 0), 2);
  for (zip_uint64_t i = 0; i < 2; ++i) {
    zip_stat_t stat;
    ASSERT_EQ(zip_stat_index(archive, i, 0, &stat), 0);
    EXPECT_EQ(std::string(stat.name), kTwoNames[i]);
    EXPECT_EQ(stat.comp_method, ZIP_CM_STORE);
    zip_file_t* file = zip_fopen_index(archive, i, 0);
    ASSERT_NE(file, nullptr);
    std::string data(stat.size + 1, '\0');
    // Reading to the end makes libzip check the CRC.
    const zip_int64_t n = zip_fread(file, data.data(), data.size());
    EXPECT_EQ(zip_fclose(file), 0);
    ASSERT_EQ(n, static_cast<zip_int64_t>(stat.size));
    data.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(data, Text(kTwoEntries[i].data));
  }
  zip_close(archive);
  zip_error_fini(&error);
}

// What libzip 1.7 writes for the same entries, with the time fixed: a valid
// zip, but not hx's layout ("version made by", attributes), so refused.
Bytes LibzipWritten() {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(out);
  zip_t* archive = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  for (const StoredZipEntry& entry : kTwoEntries) {
    zip_source_t* data = zip_source_buffer(archive, entry.data.data(), entry.data.size(), 0);
    const zip_int64_t index =
        zip_file_add(archive, std::string(entry.name).c_str(), data, ZIP_FL_ENC_GUESS);
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    zip_file_set_dostime(archive, static_cast<zip_uint64_t>(index), 0, 0x21, 0);
  }
  Bytes bytes;
  if (zip_close(archive) == 0 && zip_source_open(out) == 0) {
    bytes.resize(4096);
    const zip_int64_t n = zip_source_read(out, bytes.data(), bytes.size());
    bytes.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    zip_source_close(out);
  }
  zip_source_free(out);
  zip_error_fini(&error);
  return bytes;
}

TEST(StoredZipTest, AZipFromAnotherWriterIsRefused) {
  const Bytes other = LibzipWritten();
  ASSERT_FALSE(other.empty());
  auto entries = ReadStoredZip(other, kTwoNames, "test.zip");
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().category, Category::kCorrupt);
  EXPECT_NE(entries.error().message.find("not in hx's zip layout"), std::string::npos)
      << entries.error().message;
}

TEST(StoredZipTest, EveryTruncationIsRefused) {
  const Bytes zip = TwoEntryZip();
  for (std::size_t n = 0; n < zip.size(); ++n) {
    const Bytes cut(zip.begin(), zip.begin() + static_cast<std::ptrdiff_t>(n));
    auto entries = ReadStoredZip(cut, kTwoNames, "test.zip");
    ASSERT_FALSE(entries.ok()) << "prefix of " << n << " bytes";
    EXPECT_EQ(entries.error().code, SyncCode::kStateFailed);
    EXPECT_EQ(entries.error().category, Category::kCorrupt);
  }
}

TEST(StoredZipTest, EveryFlippedBitIsRefused) {
  const Bytes zip = TwoEntryZip();
  for (std::size_t i = 0; i < zip.size(); ++i) {
    for (int bit : {0, 7}) {
      Bytes bad = zip;
      bad[i] ^= static_cast<std::uint8_t>(1 << bit);
      EXPECT_FALSE(ReadStoredZip(bad, kTwoNames, "test.zip").ok()) << "byte " << i;
    }
  }
}

TEST(StoredZipTest, TrailingBytesAreRefused) {
  Bytes zip = TwoEntryZip();
  zip.push_back(0);
  EXPECT_FALSE(ReadStoredZip(zip, kTwoNames, "test.zip").ok());
}

TEST(StoredZipTest, EntriesMustHaveTheExpectedNamesInOrder) {
  const Bytes zip = TwoEntryZip();
  constexpr std::string_view swapped[] = {"body.bin", "header.json"};
  auto entries = ReadStoredZip(zip, swapped, "test.zip");
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.error().message.find("expected entry \"body.bin\""), std::string::npos);
  constexpr std::string_view one[] = {"header.json"};
  EXPECT_FALSE(ReadStoredZip(zip, one, "test.zip").ok());
  constexpr std::string_view three[] = {"header.json", "body.bin", "extra"};
  EXPECT_FALSE(ReadStoredZip(zip, three, "test.zip").ok());
}

TEST(StoredZipTest, ACompressedEntryIsRefusedByName) {
  Bytes zip = TwoEntryZip();
  zip[8] = 8;  // method: deflate
  auto entries = ReadStoredZip(zip, kTwoNames, "test.zip");
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.error().message.find("is compressed"), std::string::npos);
}

TEST(StoredZipTest, ASizeBeyondTheFileIsRefusedWithoutReading) {
  Bytes zip = TwoEntryZip();
  for (int i = 18; i < 26; ++i) zip[static_cast<std::size_t>(i)] = 0xff;  // sizes: 4 GiB - 1
  auto entries = ReadStoredZip(zip, kTwoNames, "test.zip");
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.error().message.find("more than the file holds"), std::string::npos);
}

TEST(StoredZipTest, ADamagedEntryFailsItsCrc) {
  Bytes zip = TwoEntryZip();
  zip[41] ^= 0x20;  // the first byte of "{}"
  auto entries = ReadStoredZip(zip, kTwoNames, "test.zip");
  ASSERT_FALSE(entries.ok());
  EXPECT_NE(entries.error().message.find("CRC-32"), std::string::npos);
}

TEST(StoredZipTest, WriterRefusesNamesThatCouldEscapeOrAreNotAscii) {
  for (std::string_view name : {"", "../x", "a/b", "A.json", "caf\xc3\xa9", "x y"}) {
    const StoredZipEntry entries[] = {{name, Span("1")}};
    auto zip = WriteStoredZip(entries);
    ASSERT_FALSE(zip.ok()) << name;
    EXPECT_EQ(zip.error().code, SyncCode::kInternal);
  }
}

}  // namespace
}  // namespace hx
