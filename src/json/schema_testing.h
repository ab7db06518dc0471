// Test helper: validates a JSON value against one of the repository's
// schemas (schemas/*.schema.json), for tests of any module:
//
//   EXPECT_TRUE(ValidateAgainstSchema(report.ToJson(),
//                                     "schemas/sync_pull_report.schema.json"));
//
// `schema` is relative to the source tree (HX_SOURCE_DIR, which hx_add_test
// defines). On failure the message names the schema, the first violation
// and the document.
//
// Thread-safety: compiles the schema on every call; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "json/schema_validator.h"

namespace hx {

inline ::testing::AssertionResult ValidateAgainstSchema(const nlohmann::json& value,
                                                        std::string_view schema) {
  const std::filesystem::path path = std::filesystem::path(HX_SOURCE_DIR) / schema;
  const Status status = ValidateAgainstSchemaFile(value, path);
  if (status.ok()) return ::testing::AssertionSuccess();
  std::string shown = value.dump();
  if (shown.size() > 2000) shown = shown.substr(0, 2000) + "...";
  return ::testing::AssertionFailure()
         << std::string(schema) << ": " << status.error().ToShortString() << "\n  in " << shown;
}

}  // namespace hx
