// The diagnostic bundle: opened (zstd, then ustar) and searched for what must
// never be in it — the passphrase, the master key (the cached key file's
// bytes, raw and in hex), a marker file's contents and its name — and checked
// for what must be: every member listed in the manifest, the index's health,
// the status, the store, the reports and the log tails.
#include "diag/bundle.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "compress/zstd.h"
#include "diag/ustar.h"
#include "sync/sync_test_util.h"

namespace hx::diag {
namespace {

namespace fs = std::filesystem;
using ::hx::testing::Device;
using ::hx::testing::MakeFolderStoreFixture;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, std::string> OpenBundle(const fs::path& file) {
  const std::string zst = ReadFile(file);
  Result<std::vector<std::uint8_t>> tar = ZstdDecompress(
      std::span(reinterpret_cast<const std::uint8_t*>(zst.data()), zst.size()), 64 << 20);
  EXPECT_TRUE(tar.ok());
  if (!tar.ok()) return {};
  Result<std::vector<TarMember>> members =
      ReadUstar(std::string_view(reinterpret_cast<const char*>(tar->data()), tar->size()), 100);
  EXPECT_TRUE(members.ok()) << members.error().ToShortString();
  std::map<std::string, std::string> out;
  if (members.ok()) {
    for (TarMember& m : *members) out[m.name] = std::move(m.bytes);
  }
  return out;
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.passphrase = kPassphrase;
    b_.passphrase = kPassphrase;
    HX_ASSERT_OK(a_.Init(1000));
    a_.Write(kMarkerName, kMarkerContent);
    a_.Write("docs/readme.txt", "hello");
    HX_ASSERT_OK(a_.Push(2000));
    HX_ASSERT_OK(b_.Init(3000));
    HX_ASSERT_OK(b_.Pull(4000));  // a report naming the marker in .hx/reports/
    b_.Write("unpublished-" + std::string(kMarkerName), kMarkerContent);  // a local change
    // A log that names the marker, as a debug-level log would.
    log_ = b_.vault().parent_path() / "hx.log";
    std::ofstream(log_) << R"({"level":"debug","msg":"uploaded","path":")" << kMarkerName
                        << "\"}\n"
                        << "plain text: cannot read " << kMarkerName << ": gone\n"
                        << R"({"level":"info","msg":"done"})" << "\n";
  }

  static constexpr const char* kPassphrase = "tr0ub4dor-passphrase-xyzzy";
  static constexpr const char* kMarkerName = "marker-private-name.txt";
  static constexpr const char* kMarkerContent = "MARKER-CONTENT-4242-do-not-leak";
  std::unique_ptr<::hx::testing::StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 21};
  Device b_{*store_, "b", 22};
  fs::path log_;
};

TEST_F(BundleTest, HoldsNoPassphraseKeyContentsOrNamesAndListsEveryMember) {
  BundleOptions options;
  options.log_files = {log_};
  options.hx_version = "test";
  const fs::path out = b_.vault().parent_path() / "bundle.tar.zst";
  Result<BundleReport> report = WriteBundle(b_.vault(), b_.options(5000), options, out);
  HX_ASSERT_OK(report);
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  const auto members = OpenBundle(out);
  ASSERT_FALSE(members.empty());
  std::string all;
  for (const auto& [name, bytes] : members) all += name + "\n" + bytes + "\n";

  const std::string key = ReadFile(b_.vault() / ".hx" / "key");
  ASSERT_EQ(key.size(), 32u);
  EXPECT_EQ(all.find(kPassphrase), std::string::npos) << "the passphrase leaked";
  EXPECT_EQ(all.find(key), std::string::npos) << "the master key leaked";
  EXPECT_EQ(all.find(ToHex(std::span(reinterpret_cast<const std::uint8_t*>(key.data()), 32))),
            std::string::npos)
      << "the master key leaked in hex";
  EXPECT_EQ(all.find(kMarkerContent), std::string::npos) << "file contents leaked";
  EXPECT_EQ(all.find("marker-private"), std::string::npos) << "a file name leaked:\n" << all;
  EXPECT_EQ(all.find("readme"), std::string::npos) << "a file name leaked";

  // The manifest lists every other member, with its size and hash.
  ASSERT_EQ(members.count("hx-diag/manifest.json"), 1u);
  const nlohmann::json manifest = nlohmann::json::parse(members.at("hx-diag/manifest.json"));
  std::set<std::string> listed;
  for (const auto& m : manifest["members"]) {
    listed.insert(m["name"].get<std::string>());
    ASSERT_EQ(members.count(m["name"]), 1u) << m["name"];
    EXPECT_EQ(m["bytes"], members.at(m["name"]).size());
  }
  for (const auto& [name, bytes] : members) {
    if (name != "hx-diag/manifest.json") {
      EXPECT_EQ(listed.count(name), 1u) << name << " unlisted";
    }
  }
  EXPECT_EQ(manifest["names"]["hashed"], true);

  // What support needs is there.
  for (const char* m : {"hx-diag/versions.json", "hx-diag/config.json", "hx-diag/status.json",
                        "hx-diag/store.json", "hx-diag/index.json", "hx-diag/logs/log-1.jsonl"}) {
    EXPECT_EQ(members.count(m), 1u) << m;
  }
  const auto index = nlohmann::json::parse(members.at("hx-diag/index.json"));
  EXPECT_EQ(index["integrity_check"], nlohmann::json::array({"ok"}));
  EXPECT_GE(index["row_counts"]["base"].get<int>(), 2);
  const auto status = nlohmann::json::parse(members.at("hx-diag/status.json"));
  EXPECT_EQ(status["local_changes"]["added"], 1);
  EXPECT_TRUE(status["local_changes"]["paths"][0].get<std::string>().starts_with("name:"));
  const auto store = nlohmann::json::parse(members.at("hx-diag/store.json"));
  EXPECT_TRUE(store["capabilities"].contains("atomic_create"));
  bool has_report = false;
  for (const auto& [name, bytes] : members) has_report |= name.starts_with("hx-diag/reports/pull_");
  EXPECT_TRUE(has_report);
  // One name hashes the same everywhere in the bundle: the log's structured
  // and free-text mentions of the marker agree.
  const std::string log = members.at("hx-diag/logs/log-1.jsonl");
  const std::size_t at = log.find("name:");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string hashed = log.substr(at, 21);
  EXPECT_NE(log.find("cannot read " + hashed + ": gone"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("msg":"done")"), std::string::npos) << log;
}

TEST_F(BundleTest, IncludeNamesKeepsNamesButNeverContentsOrKeys) {
  BundleOptions options;
  options.include_names = true;
  const fs::path out = b_.vault().parent_path() / "named.tar.zst";
  HX_ASSERT_OK(WriteBundle(b_.vault(), b_.options(5000), options, out));
  std::string all;
  for (const auto& [name, bytes] : OpenBundle(out)) all += bytes;
  EXPECT_NE(all.find(kMarkerName), std::string::npos);
  EXPECT_EQ(all.find(kMarkerContent), std::string::npos);
  EXPECT_EQ(all.find(ReadFile(b_.vault() / ".hx" / "key")), std::string::npos);
}

TEST_F(BundleTest, SecretsTheCallerKnowsAreRedactedWhereverTheyAppear) {
  // A log that (wrongly) holds the passphrase.
  std::ofstream(log_, std::ios::app) << "oops " << kPassphrase << "\n";
  BundleOptions options;
  options.log_files = {log_};
  options.secrets = {kPassphrase};
  const fs::path out = b_.vault().parent_path() / "redacted.tar.zst";
  HX_ASSERT_OK(WriteBundle(b_.vault(), b_.options(5000), options, out));
  const auto members = OpenBundle(out);
  const std::string log = members.at("hx-diag/logs/log-1.jsonl");
  EXPECT_EQ(log.find(kPassphrase), std::string::npos);
  EXPECT_NE(log.find("oops <redacted>"), std::string::npos) << log;
}

TEST_F(BundleTest, ALogTailIsBoundedAndStartsOnALine) {
  {
    std::ofstream big(log_);
    for (int i = 0; i < 40000; ++i) big << R"({"level":"info","msg":"line )" << i << "\"}\n";
  }
  ASSERT_GT(fs::file_size(log_), kMaxLogTailBytes);
  BundleOptions options;
  options.log_files = {log_};
  const fs::path out = b_.vault().parent_path() / "tail.tar.zst";
  HX_ASSERT_OK(WriteBundle(b_.vault(), b_.options(5000), options, out));
  const std::string log = OpenBundle(out).at("hx-diag/logs/log-1.jsonl");
  EXPECT_LE(log.size(), kMaxLogTailBytes + 4096);
  EXPECT_TRUE(log.starts_with(R"({"level":"info")")) << log.substr(0, 80);
  EXPECT_NE(log.find("line 39999"), std::string::npos);
}

TEST(BundleNotAVaultTest, AFolderThatIsNotAVaultIsRefused) {
  ::hx::testing::TempDir dir;
  Result<BundleReport> r = WriteBundle(dir.path(), SyncOptions{}, BundleOptions{},
                                       dir.path() / "x.tar.zst");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyncCode::kStateFailed);
  EXPECT_FALSE(fs::exists(dir.path() / "x.tar.zst"));
}

}  // namespace
}  // namespace hx::diag
