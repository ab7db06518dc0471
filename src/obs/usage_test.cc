#include "obs/usage.h"

#include <gtest/gtest.h>

namespace hx::obs {
namespace {

TEST(UsageTest, TheCostFollowsTheAwsListPrices) {
  RequestMeter meter;
  for (int i = 0; i < 1000; ++i) meter.Record(Method::kPut, true, 1000, 0);
  for (int i = 0; i < 1000; ++i) meter.Record(Method::kGet, true, 0, 1'000'000);
  meter.Record(Method::kDelete, true, 0, 0);
  meter.Record(Method::kList, false, 0, 0);
  const RequestUsage usage = meter.Read();
  EXPECT_EQ(usage.total(), 2002u);
  EXPECT_EQ(usage.failed, 1u);
  EXPECT_EQ(usage.bytes_down, 1'000'000'000u);
  // 1001 PUT-class: $0.005005; 1000 GET: $0.0004; 1 GB out: $0.09.
  EXPECT_NEAR(EstimateCostUsd(usage, PriceTable{}), 0.005005 + 0.0004 + 0.09, 1e-12);
}

TEST(UsageTest, PricesAreOverriddenByNameAndMalformedSpecsAreRefused) {
  Result<PriceTable> table = ParsePriceTable("put=0.01,egress_gb=0");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->put_per_1000, 0.01);
  EXPECT_EQ(table->get_per_1000, 0.0004);
  EXPECT_EQ(table->egress_per_gb, 0.0);
  EXPECT_EQ(table->source, "custom");
  for (const char* bad : {"put", "put=abc", "put=-1", "bogus=1", "put=1,"}) {
    Result<PriceTable> refused = ParsePriceTable(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
  }
  EXPECT_EQ(ParsePriceTable("")->source, "aws_s3_standard_us_east_1_list");
}

TEST(UsageTest, TheReportNamesEveryMethodAndTheCostAsADecimalString) {
  StoreUsage s;
  s.usage.requests[static_cast<std::size_t>(Method::kGet)] = 3;
  s.usage.requests[static_cast<std::size_t>(Method::kPut)] = 2;
  s.usage.bytes_up = 1'200'000;
  s.usage.bytes_down = 340;
  EXPECT_EQ(s.ToJson()["estimated_cost_usd"], nullptr);
  EXPECT_EQ(s.ToJson()["requests"]["HEAD"], 0);
  EXPECT_EQ(s.ToHuman(), "store: 5 requests (GET 3, PUT 2), 1.2 MB up, 340 B down\n");
  s.estimated_cost_usd = EstimateCostUsd(s.usage, PriceTable{});
  s.price_source = PriceTable{}.source;
  EXPECT_EQ(s.ToJson()["estimated_cost_usd"], "0.000011");
  EXPECT_EQ(s.ToHuman(),
            "store: 5 requests (GET 3, PUT 2), 1.2 MB up, 340 B down, ~$0.000011 at AWS list "
            "prices\n");
}

}  // namespace
}  // namespace hx::obs
