#include "scan/ignore.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/temp_dir_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

using hx::testing::TempDir;

constexpr bool kDir = true;
constexpr bool kFile = false;

struct Case {
  const char* rules;
  const char* path;
  bool is_dir;
  bool ignored;
};

// Every row was checked against git 2.39 (`git check-ignore --no-index`
// with the rules as .gitignore and the path created as a file or directory)
// when this table was written; the test itself does not run git.
const Case kCases[] = {
    {"*.log", "a.log", kFile, true},
    {"*.log", "dir/sub/a.log", kFile, true},
    {"*.log", "a.log.txt", kFile, false},
    {"/root.txt", "root.txt", kFile, true},
    {"/root.txt", "sub/root.txt", kFile, false},
    {"build/", "build", kDir, true},
    {"build/", "build", kFile, false},
    {"build/", "src/build", kDir, true},
    {"build/", "build/out.o", kFile, true},
    {"doc/*.txt", "doc/a.txt", kFile, true},
    {"doc/*.txt", "doc/sub/a.txt", kFile, false},
    {"doc/*.txt", "x/doc/a.txt", kFile, false},
    {"**/foo", "foo", kFile, true},
    {"**/foo", "a/b/foo", kFile, true},
    {"**/foo/bar", "x/foo/bar", kFile, true},
    {"**/foo/bar", "x/foo/baz", kFile, false},
    {"abc/**", "abc", kDir, false},
    {"abc/**", "abc/x", kFile, true},
    {"abc/**", "abc/x/y", kFile, true},
    {"a/**/b", "a/b", kFile, true},
    {"a/**/b", "a/x/y/b", kFile, true},
    {"a/**/b", "a/x/y/c", kFile, false},
    {"*.log\n!keep.log", "keep.log", kFile, false},
    {"*.log\n!keep.log", "other.log", kFile, true},
    {"!keep.log\n*.log", "keep.log", kFile, true},
    {"logs/\n!logs/keep.txt", "logs/keep.txt", kFile, true},
    {"file?.txt", "file1.txt", kFile, true},
    {"file?.txt", "file10.txt", kFile, false},
    {"file[0-9].txt", "file5.txt", kFile, true},
    {"file[0-9].txt", "filea.txt", kFile, false},
    {"file[!0-9].txt", "filea.txt", kFile, true},
    {"file[!0-9].txt", "file5.txt", kFile, false},
    {"file[^a-c].txt", "filed.txt", kFile, true},
    {"file[^a-c].txt", "fileb.txt", kFile, false},
    {"# comment\n\n", "# comment", kFile, false},
    {"\\#hash", "#hash", kFile, true},
    {"\\!bang", "!bang", kFile, true},
    {"trailing   ", "trailing", kFile, true},
    {"a\\ ", "a ", kFile, true},
    {"foo/bar", "foo/bar", kFile, true},
    {"foo/bar", "x/foo/bar", kFile, false},
    {"*", "anything/deep", kFile, true},
    {"/*\n!/keep/", "keep", kDir, false},
    {"/*\n!/keep/", "keep/inside.txt", kFile, false},
    {"/*\n!/keep/", "other", kFile, true},
    {"a*b", "axxb", kFile, true},
    {"a*b", "ax/b", kFile, false},
    {"[[:digit:]]*", "9lives", kFile, true},
    {"[[:digit:]]*", "lives9", kFile, false},
    {"**", "x/y", kFile, true},
    {"foo**bar", "fooXbar", kFile, true},
    {"foo/**bar", "foo/xbar", kFile, true},
    {"foo/**bar", "foo/a/xbar", kFile, false},
    {"[abc", "[abc", kFile, false},
    {"[abc", "a", kFile, false},
    {"*.TXT", "a.txt", kFile, false},
    {"/a/b/", "a/b", kDir, true},
    {"/a/b/", "a/b", kFile, false},
    {"?", "é", kFile, false},
    {"??", "é", kFile, true},
    {"*/", "a", kDir, true},
    {"*/", "a", kFile, false},
    {"*/", "a/b", kFile, true},
    {"[]]x", "]x", kFile, true},
    {"[a-]x", "-x", kFile, true},
    {"x[\\]]", "x]", kFile, true},
    {"*.o\r", "main.o", kFile, true},
    {"sub/**/*.tmp", "sub/t.tmp", kFile, true},
    {"sub/**/*.tmp", "sub/a/b/t.tmp", kFile, true},
    {"sub/**/*.tmp", "other/sub/t.tmp", kFile, false},
    {"**/cache/**", "a/cache/x", kFile, true},
    {"**/cache/**", "cache/x/y", kFile, true},
    {"**/cache/**", "a/cache", kDir, false},
    {"a/**/**/b", "a/b", kFile, true},
    {"a/**/**/b", "a/x/b", kFile, true},
    {"déjà/", "déjà", kDir, true},
    {"!", "!", kFile, false},
    {"/", "x", kFile, false},
    {"a//b", "a/b", kFile, false},
    {"*.txt\n!*.txt\n*.txt", "x.txt", kFile, true},
};

TEST(IgnoreRulesTest, MatchesWhatGitIgnoresForEveryTableRow) {
  for (const Case& c : kCases) {
    const IgnoreRules rules = IgnoreRules::Parse(c.rules);
    EXPECT_EQ(rules.IsIgnored(c.path, c.is_dir), c.ignored)
        << "rules \"" << c.rules << "\", path \"" << c.path << "\"" << (c.is_dir ? " (dir)" : "");
  }
}

TEST(IgnoreRulesTest, MatchesLooksAtThePathOnlyAndIsIgnoredAtItsParentsToo) {
  const IgnoreRules rules = IgnoreRules::Parse("build/\n");
  EXPECT_FALSE(rules.Matches("build/out.o", kFile));
  EXPECT_TRUE(rules.IsIgnored("build/out.o", kFile));
  EXPECT_TRUE(rules.Matches("build", kDir));
}

TEST(IgnoreRulesTest, ExplainNamesTheDecidingLineAndTheIgnoredDirectory) {
  const IgnoreRules rules = IgnoreRules::Parse("# notes\n*.log\r\n\nbuild/\n!keep.log\n");
  auto log = rules.Explain("sub/a.log", kFile);
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->path, "sub/a.log");
  EXPECT_EQ(log->line, 2u);
  EXPECT_EQ(log->rule, "*.log");
  EXPECT_FALSE(rules.Explain("keep.log", kFile).has_value());  // line 5 re-includes it
  auto inside = rules.Explain("build/x/keep.log", kFile);
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->path, "build");
  EXPECT_EQ(inside->line, 4u);
  EXPECT_FALSE(rules.Explain("src/a.c", kFile).has_value());
  auto state = rules.Explain(".hx/key", kFile);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->line, 0u);
  // Explain agrees with IsIgnored.
  for (const char* path : {"a.log", "keep.log", "build", "build/keep.log", "x/build/y", "y"}) {
    EXPECT_EQ(rules.Explain(path, kFile).has_value(), rules.IsIgnored(path, kFile)) << path;
  }
}

TEST(IgnoreRulesTest, TheStateFolderIsAlwaysIgnoredEvenIfNegated) {
  const IgnoreRules none;
  EXPECT_TRUE(none.Matches(".hx", kDir));
  EXPECT_TRUE(none.IsIgnored(".hx/index.sqlite", kFile));
  EXPECT_FALSE(none.IsIgnored("sub/.hx", kDir));
  const IgnoreRules negated = IgnoreRules::Parse("!.hx\n!/.hx/\n");
  EXPECT_TRUE(negated.Matches(".hx", kDir));
}

TEST(IgnoreRulesTest, CommentsBlankLinesAndInvalidPatternsAreNotCountedAsRules) {
  const IgnoreRules rules =
      IgnoreRules::Parse("# c\n\n   \n*.a\r\n[unclosed\ntrailing\\\n!\n/\n/b\n");
  EXPECT_EQ(rules.size(), 2u);
}

TEST(IgnoreRulesTest, PathologicalPatternsFinishQuickly) {
  // Many stars against a long name that almost matches: the greedy matcher
  // stays polynomial (exponential backtracking would never finish).
  const IgnoreRules rules = IgnoreRules::Parse(std::string(30, '*') + "a*a*a*a*a*a*a*a*b\n" +
                                               "**/**/**/**/**/**/**/**/x/**/y\n");
  const std::string name(250, 'a');
  std::string deep;
  for (int i = 0; i < 60; ++i) {
    deep += "d/";
  }
  deep += "x/q";
  EXPECT_FALSE(rules.IsIgnored(name, kFile));
  EXPECT_FALSE(rules.IsIgnored(deep, kFile));
}

TEST(IgnoreRulesTest, RulesAreCopyableValues) {
  const IgnoreRules original = IgnoreRules::Parse("*.log\n");
  IgnoreRules copy = original;
  IgnoreRules moved = std::move(copy);
  EXPECT_TRUE(moved.IsIgnored("x.log", kFile));
  EXPECT_TRUE(original.IsIgnored("x.log", kFile));
  EXPECT_EQ(moved.size(), 1u);
}

TEST(LoadIgnoreFileTest, NoFileMeansNoRules) {
  TempDir dir;
  Result<IgnoreRules> rules = LoadIgnoreFile(dir.path());
  ASSERT_TRUE(rules.ok()) << rules.error().ToShortString();
  EXPECT_EQ(rules->size(), 0u);
}

TEST(LoadIgnoreFileTest, ReadsTheRulesOfARegularFile) {
  TempDir dir;
  std::ofstream(dir.path() / ".hxignore") << "*.log\n!keep.log\n";
  Result<IgnoreRules> rules = LoadIgnoreFile(dir.path());
  ASSERT_TRUE(rules.ok()) << rules.error().ToShortString();
  EXPECT_EQ(rules->size(), 2u);
  EXPECT_TRUE(rules->IsIgnored("a.log", kFile));
  EXPECT_FALSE(rules->IsIgnored("keep.log", kFile));
}

TEST(LoadIgnoreFileTest, ASymlinkOrDirectoryIsRefusedAsUnsupported) {
  TempDir dir;
  std::ofstream(dir.path() / "rules") << "*.log\n";
  fs::create_symlink("rules", dir.path() / ".hxignore");
  Result<IgnoreRules> linked = LoadIgnoreFile(dir.path());
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(linked.error().category, Category::kUnsupported);

  fs::remove(dir.path() / ".hxignore");
  fs::create_directory(dir.path() / ".hxignore");
  Result<IgnoreRules> folder = LoadIgnoreFile(dir.path());
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().category, Category::kUnsupported);
}

TEST(LoadIgnoreFileTest, AFifoIsRefusedWithoutWaitingForAWriter) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / ".hxignore").c_str(), 0644), 0);
  Result<IgnoreRules> rules = LoadIgnoreFile(dir.path());
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().category, Category::kUnsupported);
}

TEST(LoadIgnoreFileTest, AFileAboveTheSizeLimitIsRefused) {
  TempDir dir;
  std::ofstream(dir.path() / ".hxignore") << std::string(kMaxIgnoreFileBytes + 1, 'x');
  Result<IgnoreRules> rules = LoadIgnoreFile(dir.path());
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().category, Category::kInvalidInput);
}

TEST(LoadIgnoreFileTest, AMissingRootIsAnIoError) {
  TempDir dir;
  Result<IgnoreRules> rules = LoadIgnoreFile(dir.path() / "missing");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().category, Category::kIo);
}

}  // namespace
}  // namespace hx
