// Typed, strict access to the fields of a parsed JSON object.
//
// Records read from a store or an input file are JSON objects with known
// fields. JsonFields turns "the field is missing", "it has the wrong type"
// and "there is a field nobody reads" into errors that name the field, so
// record parsers stay short:
//
//   HX_ASSIGN_OR_RETURN(JsonFields head, JsonFields::Of(value, "head.json"));
//   HX_ASSIGN_OR_RETURN(std::int64_t seq, head.Int("seq"));
//   HX_ASSIGN_OR_RETURN(std::string id, head.String("snapshot_id"));
//   HX_ASSIGN_OR_RETURN(JsonFields author, head.Object("author"));
//   HX_RETURN_IF_ERROR(head.RejectUnknownFields());
//
// Every error is Error{KC_SYNC_INPUT_INVALID, invalid_input} with details
// {"field": "<what>.<key>"} and a message such as
// `head.json: field "seq" must be an integer, found a string`. Callers that
// read store objects may rewrap it (a malformed store object is corrupt).
//
// Integers are int64 values; a float or an unsigned value above int64 is a
// type error (the strict reader never produces either).
//
// Lifetime: a JsonFields borrows the value it reads and must not outlive it;
// pointers it returns point into that value.
// Thread-safety: not thread-safe (it records which fields were read); the
// borrowed value must not be modified while it is in use.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx {

class JsonFields {
 public:
  // Fails unless `value` is an object. `what` names it in errors, e.g.
  // "head.json" or "manifest.devices[2]".
  static Result<JsonFields> Of(const nlohmann::json& value, std::string what);

  // True if the object has `key` (of any type). Does not count as a read.
  bool Has(std::string_view key) const;

  // The field `key`, which must exist and have the named type.
  Result<std::int64_t> Int(std::string_view key);
  Result<std::string> String(std::string_view key);
  Result<bool> Bool(std::string_view key);
  // A nested object; its errors name it "<what>.<key>".
  Result<JsonFields> Object(std::string_view key);
  // A borrowed, non-null pointer to the array inside the value.
  Result<const nlohmann::json::array_t*> Array(std::string_view key);

  // Fails naming the first key (in key order) that no accessor above has read,
  // for formats where an unknown field means the record is from a newer
  // version or was tampered with.
  Status RejectUnknownFields() const;

  const std::string& what() const { return what_; }

 private:
  JsonFields(const nlohmann::json::object_t& object, std::string what)
      : object_(&object), what_(std::move(what)) {}

  // Finds `key` and checks its type; records the read.
  Result<const nlohmann::json*> Get(std::string_view key, nlohmann::json::value_t type,
                                    std::string_view type_name);
  Error FieldError(std::string_view key, std::string message) const;

  const nlohmann::json::object_t* object_;
  std::string what_;
  // Views of keys owned by *object_.
  std::set<std::string_view> read_;
};

// A short name for the JSON type of `value` ("integer", "string", ...), for
// messages.
std::string_view JsonTypeName(const nlohmann::json& value);

}  // namespace hx
