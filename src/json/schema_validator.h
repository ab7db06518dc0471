// A JSON Schema validator for the schemas hx ships (schemas/*.schema.json):
// the subset of draft 2020-12 those schemas use.
//
// Supported keywords:
//   type (string or array of: null boolean integer number string array object),
//   properties, required, additionalProperties (boolean or schema),
//   items (a schema, applied to every element), enum, const, pattern
//   (ECMAScript regex, unanchored search, matched on the UTF-8 bytes),
//   minimum, minItems, maxItems, minLength (code points), uniqueItems, oneOf, $ref (only within the same
//   document: "#" or "#/<JSON pointer>", e.g. "#/$defs/change_set"),
//   boolean schemas (true, false).
// Ignored annotations: $schema, $id, $comment, $defs, definitions, title,
//   description, default, examples.
// Any other keyword makes Compile fail, so a schema never silently claims a
// check that is not made. Numbers compare by value (1 == 1.0, and 1.0 is an
// integer, as the specification says).
//
// Thread-safety: a compiled JsonSchema is immutable; Validate may be called
// from any number of threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {

class JsonSchema {
 public:
  // Checks every keyword of `schema` (recursively) is supported, every
  // pattern compiles and every $ref resolves. Failure:
  // KC_SYNC_INPUT_INVALID naming the schema location.
  static Result<JsonSchema> Compile(nlohmann::json schema);
  // Reads and compiles a schema file (strict JSON).
  static Result<JsonSchema> CompileFile(const std::filesystem::path& path);

  // OK iff `instance` is valid. Otherwise KC_SYNC_INPUT_INVALID for the first
  // violation found (keywords are checked in a fixed order), with details
  // {"instance_path": JSON pointer into the instance, "schema_path": JSON
  // pointer into the schema} and a message saying what was expected.
  // Recursion is bounded by kMaxValidationDepth ($ref cycles that consume no
  // input fail instead of looping).
  Status Validate(const nlohmann::json& instance) const;

  // True iff `keyword` is checked or an ignored annotation.
  static bool IsSupportedKeyword(std::string_view keyword);

  static constexpr int kMaxValidationDepth = 512;

  // The compiled form (opaque; defined in schema_validator.cc).
  struct Compiled;

 private:
  JsonSchema() = default;

  // Shared so that a JsonSchema is cheap to copy; immutable after Compile.
  std::shared_ptr<const Compiled> compiled_;
};

// Compiles the schema at `schema_path` and validates `instance` against it.
Status ValidateAgainstSchemaFile(const nlohmann::json& instance,
                                 const std::filesystem::path& schema_path);

}  // namespace hx
