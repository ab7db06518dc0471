// The envelope format (seed 003): exact shapes, canonical bytes, a strict
// reader, and the refusal of unknown schema versions with a migration hint.
#include "envelope/envelope.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

EnvelopeItem FileItem(std::string id, std::string data, bool executable = false) {
  EnvelopeItem item;
  item.item_type = "file";
  item.item_id = std::move(id);
  item.updated_utc = "2026-02-12T07:55:00Z";
  item.content = {{"data", EncodeBase64(data)}, {"executable", executable}};
  item.content_hash = *ContentHash(item.content);
  return item;
}

Envelope Sample() {
  Envelope e;
  e.source = {"hx", "0.1.0", "unlinked"};
  e.exported_utc = "2026-02-12T08:00:00Z";
  e.items.push_back(FileItem("a.txt", "hello"));
  EnvelopeItem dir;
  dir.item_type = "directory";
  dir.item_id = "d";
  dir.updated_utc = "2026-02-12T07:00:00Z";
  dir.content = nlohmann::json::object();
  dir.content_hash = *ContentHash(dir.content);
  e.items.push_back(dir);
  EnvelopeItem link;
  link.item_type = "symlink";
  link.item_id = "d/link";
  link.updated_utc = "2026-02-12T07:00:00.25Z";
  link.content = {{"target", "../a.txt"}};
  link.content_hash = *ContentHash(link.content);
  e.items.push_back(link);
  return e;
}

// Replaces the first occurrence of `from` in the sample's bytes.
std::string Mutated(const std::string& from, const std::string& to) {
  std::string bytes = *EncodeEnvelope(Sample());
  const auto at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  return bytes;
}

TEST(EnvelopeTest, EncodesTheSeedShapeCanonically) {
  Result<std::string> bytes = EncodeEnvelope(Sample());
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(bytes->starts_with(
      R"({"exported_utc":"2026-02-12T08:00:00Z","items":[{"content":{"data":"aGVsbG8=","executable":false},"content_hash":"sha256:)"));
  EXPECT_TRUE(bytes->ends_with(
      R"("schema_version":"1.0.0","source":{"app_version":"0.1.0","device_id":"unlinked","kind":"hx"}})"));
  Result<Envelope> back = ParseEnvelope(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().ToShortString();
  EXPECT_EQ(*back, Sample());
}

TEST(EnvelopeTest, ContentHashIsSha256OfTheCanonicalContent) {
  // sha256('{"data":"aGVsbG8=","executable":false}'), whatever the key order given.
  EXPECT_EQ(*ContentHash(nlohmann::json::parse(R"({"executable":false,"data":"aGVsbG8="})")),
            "sha256:c092ceecea44a6dee82b233c4eee3144a282302564395063877abf19ba9823e2");
  EXPECT_EQ(*ContentHash(nlohmann::json::object()),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_TRUE(VerifyContentHash(Sample().items[0]));
  EnvelopeItem tampered = Sample().items[0];
  tampered.content["executable"] = true;
  EXPECT_FALSE(VerifyContentHash(tampered));
}

TEST(EnvelopeTest, UnknownSchemaVersionIsRefusedWithAMigrationHint) {
  Result<Envelope> newer =
      ParseEnvelope(Mutated(R"("schema_version":"1.0.0")", R"("schema_version":"2.0.0")"));
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(newer.error().category, Category::kUnsupported);
  EXPECT_NE(newer.error().message.find("upgrade hx"), std::string::npos);
  EXPECT_EQ(newer.error().details.at("supported"), "1.0.0");
  Result<Envelope> older = ParseEnvelope(R"({"schema_version":"0.9.0"})");
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.error().message.find("export it again"), std::string::npos);
}

TEST(EnvelopeTest, StrictReaderRefusesMalformedEnvelopes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("item_id":"a.txt")", R"("item_id":"../a.txt")"},
      {R"("item_id":"a.txt")", R"("item_id":"/a.txt")"},
      {R"("item_id":"a.txt")", R"("item_id":".hx/key")"},
      {R"("item_id":"a.txt")", R"("item_id":"a//b")"},
      {R"("item_id":"a.txt")", R"("item_id":"")"},
      {R"("item_id":"a.txt")", R"("item_id":"d")"},  // duplicate id
      {R"("item_type":"file")", R"("item_type":"config_snapshot")"},
      {R"("updated_utc":"2026-02-12T07:55:00Z")", R"("updated_utc":"2026-02-30T07:55:00Z")"},
      {R"("updated_utc":"2026-02-12T07:55:00Z")", R"("updated_utc":"2026-02-12 07:55:00Z")"},
      {R"("updated_utc":"2026-02-12T07:55:00Z")", R"("updated_utc":"2026-02-12T07:55:00+01:00")"},
      {R"("exported_utc":"2026-02-12T08:00:00Z")", R"("exported_utc":"yesterday")"},
      {R"("content_hash":"sha256:)", R"("content_hash":"md5:)"},
      {R"("data":"aGVsbG8=")", R"("data":"aGVsbG8")"},    // no padding
      {R"("data":"aGVsbG8=")", R"("data":"aGVsbG9=")"},   // non-zero pad bits
      {R"("data":"aGVsbG8=")", R"("data":"aGVs bG8=")"},  // whitespace
      {R"("executable":false)", R"("executable":0)"},
      {R"("executable":false)", R"("executable":false,"mode":420)"},  // unknown field
      {R"("target":"../a.txt")", R"("target":"")"},
      {R"("kind":"hx")", R"("kind":"hx","kind":"hx")"},  // duplicate key
      {R"("kind":"hx")", R"("kind":7)"},
      {R"("items":[)", R"("extra":1,"items":[)"},
  };
  for (const auto& [from, to] : cases) {
    Result<Envelope> r = ParseEnvelope(Mutated(from, to));
    ASSERT_FALSE(r.ok()) << to;
    EXPECT_EQ(r.error().code, SyncCode::kInputInvalid) << to;
  }
  EXPECT_FALSE(ParseEnvelope("").ok());
  EXPECT_FALSE(ParseEnvelope("[]").ok());
  EXPECT_FALSE(ParseEnvelope(std::string("{\"schema_version\":\"1.0.0\xff\"}")).ok());
  EXPECT_FALSE(ParseEnvelope(*EncodeEnvelope(Sample()) + " x").ok());
}

TEST(EnvelopeTest, NothingMayBeInsideAnItemThatIsNotADirectory) {
  Envelope e = Sample();
  e.items.push_back(FileItem("a.txt/inner", "x"));
  Result<Envelope> r = ParseEnvelope(*EncodeEnvelope(e));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details.at("item_id"), "a.txt/inner");
}

TEST(EnvelopeTest, AContentHashMismatchIsNotAParseError) {
  // The item is readable; apply fails that one item (folder_test.cc).
  Result<Envelope> r = ParseEnvelope(Mutated(R"("data":"aGVsbG8=")", R"("data":"aGVsbG9v")"));
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_FALSE(VerifyContentHash(r->items[0]));
}

TEST(EnvelopeTest, TheSeedsExampleEnvelopeParses) {
  Result<Envelope> r = ParseEnvelope(
      R"({"schema_version":"1.0.0","source":{"kind":"basaltos_main_local","app_version":"v0.1.0",)"
      R"("device_id":"local-machine-fingerprint"},"exported_utc":"2026-02-12T08:00:00Z","items":[]})");
  ASSERT_TRUE(r.ok()) << r.error().ToShortString();
  EXPECT_EQ(r->source.kind, "basaltos_main_local");
}

TEST(Base64Test, RoundTripsEveryLengthAndRefusesNonCanonicalText) {
  std::string bytes;
  for (int n = 0; n < 64; ++n) {
    Result<std::string> back = DecodeBase64(EncodeBase64(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
    bytes += static_cast<char>(n * 37);
  }
  EXPECT_EQ(EncodeBase64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(EncodeBase64("fo"), "Zm8=");
  for (const char* bad : {"Zm8", "Zm9=", "Z===", "Zm=v", "Zm8=Zm8=", "Zm-v"}) {
    EXPECT_FALSE(DecodeBase64(bad).ok()) << bad;
  }
}

TEST(UtcTest, FormatsAndChecksRfc3339Utc) {
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtc(1'770'883'200'000'000'000), "2026-02-12T08:00:00Z");
  EXPECT_EQ(FormatUtc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatUtc(951'782'400'999'999'999), "2000-02-29T00:00:00Z");
  EXPECT_TRUE(IsValidUtc("2024-02-29T23:59:59.123456789Z"));
  EXPECT_FALSE(IsValidUtc("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(IsValidUtc("2026-02-12T24:00:00Z"));
  EXPECT_FALSE(IsValidUtc("2026-02-12T08:00:00.Z"));
  EXPECT_FALSE(IsValidUtc("2026-02-12T08:00:00.1234567890Z"));
  EXPECT_EQ(ParseUtcNs("2026-02-12T08:00:00.5Z"), 1'770'883'200'500'000'000);
  EXPECT_EQ(ParseUtcNs(FormatUtc(1'770'883'200'000'000'000)), 1'770'883'200'000'000'000);
}

}  // namespace
}  // namespace hx
