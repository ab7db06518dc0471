#include "base/utc_time.h"

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(UtcTimeTest, FormatsToTheSecondInUtc) {
  EXPECT_EQ(FormatUtcSeconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtcSeconds(1'762'164'900'999), "2025-11-03T10:15:00Z");  // ms are cut
  EXPECT_EQ(FormatUtcSeconds(-1000), "1969-12-31T23:59:59Z");
}

}  // namespace
}  // namespace hx
