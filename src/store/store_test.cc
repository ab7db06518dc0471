// The rules every store shares: what a key is, and how a target becomes a
// store (OpenStore, CreateStore).
#include "store/store.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "store/store_test_util.h"

namespace hx::store_testing {
namespace {

using ::testing::HasSubstr;

TEST(StoreKeyTest, TheKeysOfTheLayoutAreValid) {
  for (const char* key : {"vault.json", "head.json", "snapshots/0123abcd.zip",
                          "blobs/ab/cd/abcdef0123", "manifests/node-1.hxman",
                          "conflicts/conflict_1700000000000_ab12.json", "locks/write.lock"}) {
    EXPECT_TRUE(ValidateStoreKey(key).ok()) << key;
  }
}

TEST(StoreKeyTest, InvalidKeysNameTheRuleAndAreInternalErrors) {
  struct Case {
    std::string key;
    const char* rule;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"/head.json", "starts with '/'"},
           Case{"blobs/", "ends with '/'"},
           Case{"blobs//x", "empty segment"},
           Case{"blobs/../vault.json", "'.' or '..'"},
           Case{"./x", "'.' or '..'"},
           Case{"Head.json", "character"},
           Case{"a\nb", "character"},
           Case{std::string(256, 'a'), "255"},
       }) {
    SCOPED_TRACE(c.key);
    const Status status = ValidateStoreKey(c.key);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, SyncCode::kInternal);
    EXPECT_EQ(status.error().category, Category::kInternal);
    EXPECT_THAT(status.error().message, HasSubstr(c.rule));
    EXPECT_FALSE(IsValidStoreKey(c.key));
  }
}

TEST(StoreKeyTest, MessagesEscapeWhatIsNotPrintable) {
  const Status status = ValidateStoreKey(std::string("a\x01\xff", 3));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("a\\x01\\xff"));
  EXPECT_EQ(status.error().details.at("key"), "a\\x01\\xff");
}

TEST(StoreKeyTest, PrefixesMayEndInASlashOrAPartialSegment) {
  for (const char* prefix : {"", "blobs/", "blobs/a", "blobs/ab/", "a.", "..x", "a/.", "a/.."}) {
    EXPECT_TRUE(ValidateStorePrefix(prefix).ok()) << prefix;
  }
  for (const char* prefix : {"/", "/a", "a//", "../", "a/./b", "A"}) {
    EXPECT_FALSE(ValidateStorePrefix(prefix).ok()) << prefix;
  }
}

// Property: a valid key never leaves the folder it is joined to — no
// absolute path, no empty, "." or ".." segment — and every prefix of a
// valid key is a valid prefix (so List can be asked for any part of a key).
RC_GTEST_PROP(StoreKeyProperty, ValidKeysStayInsideTheRoot, ()) {
  const auto key = *rc::gen::container<std::string>(
      rc::gen::element('a', 'z', '0', '.', '.', '/', '/', '-', '_', 'A', '\\'));
  if (!IsValidStoreKey(key)) return;
  RC_ASSERT(!key.empty());
  RC_ASSERT(key.front() != '/');
  RC_ASSERT(key.back() != '/');
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string segment = key.substr(start, end - start);
    RC_ASSERT(!segment.empty() && segment != "." && segment != "..");
    start = end + 1;
  }
  for (std::size_t n = 0; n <= key.size(); ++n) {
    RC_ASSERT(ValidateStorePrefix(key.substr(0, n)).ok());
  }
}

TEST(OpenStoreTest, AFolderTargetOpensAFolderStore) {
  TempFolder folder;
  auto store = OpenStore(FolderTarget(folder.path()));
  ASSERT_TRUE(store.ok()) << store.error().ToShortString();
  EXPECT_EQ((*store)->Describe(), "file://" + folder.path());
  EXPECT_FALSE((*store)->capabilities().atomic_compare_and_swap);
}

TEST(OpenStoreTest, AMissingFolderIsTargetInvalidNotFound) {
  TempFolder folder;
  auto store = OpenStore(FolderTarget(folder.Join("nope")));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, SyncCode::kTargetInvalid);
  EXPECT_EQ(store.error().category, Category::kNotFound);
  EXPECT_THAT(store.error().message, HasSubstr("create it"));
}

// OpenStore reads credentials from the process environment; these tests set
// it (and point the AWS files nowhere) so that the machine's own settings
// cannot leak in. No network I/O happens.
class ScopedAwsEnvironment {
 public:
  ScopedAwsEnvironment(const char* id, const char* secret) {
    Set("AWS_ACCESS_KEY_ID", id);
    Set("AWS_SECRET_ACCESS_KEY", secret);
    Set("AWS_SESSION_TOKEN", nullptr);
    Set("AWS_PROFILE", nullptr);
    Set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/hx-test/credentials");
    Set("AWS_CONFIG_FILE", "/nonexistent/hx-test/config");
  }
  ~ScopedAwsEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  void Set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(OpenStoreTest, S3TargetsOpenAnS3StoreWithoutNetworkIo) {
  ScopedAwsEnvironment env("AKIDEXAMPLE", "not-a-real-secret");
  auto target = ParseTargetUri("s3://bucket/prefix", {}, "/");
  ASSERT_TRUE(target.ok());
  auto store = OpenStore(*target);
  ASSERT_TRUE(store.ok()) << store.error().ToShortString();
  EXPECT_EQ((*store)->Describe(), "s3://bucket/prefix");
  EXPECT_TRUE((*store)->capabilities().atomic_create);
}

TEST(OpenStoreTest, S3TargetsWithoutCredentialsAreAuthFailed) {
  ScopedAwsEnvironment env(nullptr, nullptr);
  auto target = ParseTargetUri("s3://bucket/prefix", {}, "/");
  ASSERT_TRUE(target.ok());
  auto store = OpenStore(*target);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, SyncCode::kAuthFailed);
  EXPECT_THAT(store.error().message, HasSubstr("AWS_ACCESS_KEY_ID"));
  EXPECT_EQ(CreateStore(*target).error().code, SyncCode::kAuthFailed);
}

TEST(OpenStoreTest, CreateStoreMakesTheFolderAndItsParents) {
  TempFolder folder;
  auto store = CreateStore(FolderTarget(folder.Join("nas/vaults/mine")));
  ASSERT_TRUE(store.ok()) << store.error().ToShortString();
  ASSERT_TRUE((*store)->Put("vault.json", ToBytes("{}")).ok());
  EXPECT_EQ(ReadFileOrEmpty(folder.Join("nas/vaults/mine/vault.json")), "{}");
}

}  // namespace
}  // namespace hx::store_testing
