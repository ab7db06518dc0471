// JsonFields: typed, strict reading of record fields, with errors that name
// the field.
#include "json/json_fields.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "json/canonical_json.h"

namespace hx {
namespace {

using json = nlohmann::json;

json Record() {
  Result<json> parsed = ParseJson(
      R"({"seq":42,"id":"abc","ok":true,"author":{"node":"n1","n":-1},"parents":["p1","p2"],"x":null})");
  EXPECT_TRUE(parsed.ok());
  return std::move(parsed).value();
}

void ExpectFieldError(const Error& error, const std::string& field, const std::string& message) {
  EXPECT_EQ(error.code, SyncCode::kInputInvalid);
  EXPECT_EQ(error.category, Category::kInvalidInput);
  EXPECT_EQ(error.details.at("field"), field);
  EXPECT_EQ(error.message, message);
}

TEST(JsonFieldsTest, ReadsTypedFields) {
  const json record = Record();
  Result<JsonFields> fields = JsonFields::Of(record, "head.json");
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(*fields->Int("seq"), 42);
  EXPECT_EQ(*fields->String("id"), "abc");
  EXPECT_EQ(*fields->Bool("ok"), true);
  Result<JsonFields> author = fields->Object("author");
  ASSERT_TRUE(author.ok());
  EXPECT_EQ(author->what(), "head.json.author");
  EXPECT_EQ(*author->String("node"), "n1");
  EXPECT_EQ(*author->Int("n"), -1);
  Result<const json::array_t*> parents = fields->Array("parents");
  ASSERT_TRUE(parents.ok());
  EXPECT_EQ(**parents, (json::array_t{"p1", "p2"}));
  EXPECT_TRUE(fields->Has("x"));
  EXPECT_FALSE(fields->Has("y"));
}

TEST(JsonFieldsTest, RefusesAValueThatIsNotAnObject) {
  const json array = json::array();
  const Result<JsonFields> fields = JsonFields::Of(array, "lock");
  ASSERT_FALSE(fields.ok());
  ExpectFieldError(fields.error(), "lock", "lock must be a JSON object, found array");
}

TEST(JsonFieldsTest, AMissingFieldIsAnErrorNamingIt) {
  const json record = Record();
  JsonFields fields = *JsonFields::Of(record, "head.json");
  const Result<std::int64_t> missing = fields.Int("sequence");
  ASSERT_FALSE(missing.ok());
  ExpectFieldError(missing.error(), "head.json.sequence", "head.json: field \"sequence\" is missing");
}

TEST(JsonFieldsTest, AFieldOfTheWrongTypeIsAnErrorNamingBothTypes) {
  const json record = Record();
  JsonFields fields = *JsonFields::Of(record, "head.json");
  ExpectFieldError(fields.Int("id").error(), "head.json.id",
                   "head.json: field \"id\" must be an integer, found a string");
  ExpectFieldError(fields.String("seq").error(), "head.json.seq",
                   "head.json: field \"seq\" must be a string, found an integer");
  ExpectFieldError(fields.Bool("x").error(), "head.json.x",
                   "head.json: field \"x\" must be a boolean, found null");
  ExpectFieldError(fields.Object("parents").error(), "head.json.parents",
                   "head.json: field \"parents\" must be an object, found an array");
  ExpectFieldError(fields.Array("author").error(), "head.json.author",
                   "head.json: field \"author\" must be an array, found an object");
  JsonFields author = *fields.Object("author");
  ExpectFieldError(author.Bool("node").error(), "head.json.author.node",
                   "head.json.author: field \"node\" must be a boolean, found a string");
}

TEST(JsonFieldsTest, IntegersAreInt64Only) {
  const json record = {{"f", 1.0}, {"big", std::uint64_t{1} << 63}, {"fits", std::uint64_t{7}}};
  JsonFields fields = *JsonFields::Of(record, "r");
  EXPECT_FALSE(fields.Int("f").ok());
  const Result<std::int64_t> big = fields.Int("big");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("found an integer above int64"), std::string::npos);
  EXPECT_EQ(*fields.Int("fits"), 7);
}

TEST(JsonFieldsTest, RejectUnknownFieldsNamesTheFirstFieldNotRead) {
  const json record = Record();
  JsonFields fields = *JsonFields::Of(record, "head.json");
  ASSERT_TRUE(fields.Int("seq").ok());
  ASSERT_TRUE(fields.String("id").ok());
  ASSERT_TRUE(fields.Bool("ok").ok());
  ASSERT_TRUE(fields.Object("author").ok());
  const Status unknown = fields.RejectUnknownFields();
  ASSERT_FALSE(unknown.ok());
  ExpectFieldError(unknown.error(), "head.json.parents", "head.json: field \"parents\" is not known");

  ASSERT_TRUE(fields.Array("parents").ok());
  // Has() is not a read; a failed read of the wrong type still is.
  EXPECT_TRUE(fields.Has("x"));
  EXPECT_FALSE(fields.RejectUnknownFields().ok());
  EXPECT_FALSE(fields.Int("x").ok());
  EXPECT_TRUE(fields.RejectUnknownFields().ok());
}

}  // namespace
}  // namespace hx
