#include "scan/path_order.h"

#include <string>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace hx {
namespace {

std::string Key(const std::string& name, bool subtree) { return subtree ? name + "/" : name; }

TEST(PathOrderTest, SubtreesSortAsTheirNameFollowedByASlash) {
  EXPECT_TRUE(LessInPathOrder("a", false, "a", true));
  EXPECT_FALSE(LessInPathOrder("a", true, "a", false));
  EXPECT_TRUE(LessInPathOrder("a-b", false, "a", true));    // '-' < '/'
  EXPECT_TRUE(LessInPathOrder("a.txt", false, "a", true));  // '.' < '/'
  EXPECT_TRUE(LessInPathOrder("a", true, "a0", false));     // '/' < '0'
  EXPECT_TRUE(LessInPathOrder("a", false, "a-b", false));
  EXPECT_TRUE(LessInPathOrder("a", true, "\xc3\xa9", false));  // bytes compare unsigned
}

// Names without '/' from a small alphabet around '/', so that prefixes and
// ties are common.
rc::Gen<std::string> Names() {
  return rc::gen::container<std::string>(
      rc::gen::element('-', '.', '0', 'a', 'b', static_cast<char>(0xc3)));
}

RC_GTEST_PROP(PathOrderTest, AgreesWithComparingTheFullKeys, ()) {
  const std::string a = *Names();
  const std::string b = *Names();
  const bool a_subtree = *rc::gen::arbitrary<bool>();
  const bool b_subtree = *rc::gen::arbitrary<bool>();
  RC_ASSERT(LessInPathOrder(a, a_subtree, b, b_subtree) == (Key(a, a_subtree) < Key(b, b_subtree)));
}

}  // namespace
}  // namespace hx
