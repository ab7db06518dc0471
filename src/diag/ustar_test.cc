// The ustar writer and reader: what one writes the other reads back, the
// format is what tar(1) expects, and damaged archives are refused.
#include "diag/ustar.h"

#include <gtest/gtest.h>

namespace hx::diag {
namespace {

TEST(UstarTest, MembersRoundTripWithSizesThatAreAndAreNotBlockMultiples) {
  const std::vector<TarMember> in = {
      {"hx-diag/a.json", "{}\n", 100, 0644},
      {"hx-diag/empty", "", 100, 0644},
      {"hx-diag/block", std::string(512, 'x'), 100, 0600},
      {"hx-diag/logs/log-1.jsonl", std::string(1000, 'y'), 100, 0644},
  };
  Result<std::string> tar = WriteUstar(in);
  ASSERT_TRUE(tar.ok());
  EXPECT_EQ(tar->size() % 512, 0u);
  // Headers, padded bodies, two zero blocks.
  EXPECT_EQ(tar->size(), 512u * (4 + 1 + 0 + 1 + 2) + 1024u);
  EXPECT_EQ(tar->substr(257, 6), std::string("ustar\0", 6));
  Result<std::vector<TarMember>> out = ReadUstar(*tar, 10);
  ASSERT_TRUE(out.ok()) << out.error().ToShortString();
  ASSERT_EQ(out->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*out)[i].name, in[i].name);
    EXPECT_EQ((*out)[i].bytes, in[i].bytes);
    EXPECT_EQ((*out)[i].mtime_s, 100);
  }
}

TEST(UstarTest, BadNamesAreRefused) {
  for (const std::string& name :
       std::vector<std::string>{"", "/abs", "a/../b", "..", std::string(101, 'n')}) {
    EXPECT_FALSE(WriteUstar({{name, "x", 0, 0644}}).ok()) << name;
  }
}

TEST(UstarTest, DamagedArchivesAreRefusedNotMisread) {
  Result<std::string> tar = WriteUstar({{"a", "hello", 0, 0644}});
  ASSERT_TRUE(tar.ok());
  std::string flipped = *tar;
  flipped[10] ^= 1;  // the name: the checksum no longer holds
  EXPECT_FALSE(ReadUstar(flipped, 10).ok());
  EXPECT_FALSE(ReadUstar(tar->substr(0, 600), 10).ok());  // cut inside the body
  EXPECT_FALSE(ReadUstar(*tar, 0).ok());                   // more members than expected
}

}  // namespace
}  // namespace hx::diag
