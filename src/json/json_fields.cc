#include "json/json_fields.h"

#include <limits>

#include "json/message_text.h"
#include "json/utf8.h"

namespace hx {

using json = nlohmann::json;

std::string_view JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer: return "integer";
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "floating point number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    case json::value_t::binary: return "binary value";
    case json::value_t::discarded: break;
  }
  return "discarded value";
}

namespace {

// A key as it may appear in details: itself if it is short valid UTF-8,
// else its quoted, cleaned form.
std::string ForDetails(std::string_view key) {
  if (key.size() <= 64 && !FindInvalidUtf8(key)) return std::string(key);
  return json_internal::QuoteForMessage(key);
}

// "an integer", "a string", "null".
std::string WithArticle(std::string_view type_name) {
  if (type_name == "null") return "null";
  const bool vowel = std::string_view("aeiou").find(type_name.front()) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(type_name);
}

}  // namespace

Result<JsonFields> JsonFields::Of(const json& value, std::string what) {
  if (!value.is_object()) {
    std::string message = what + " must be a JSON object, found " +
                          std::string(JsonTypeName(value));
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message))
        .With("field", std::move(what));
  }
  return JsonFields(*value.get_ptr<const json::object_t*>(), std::move(what));
}

bool JsonFields::Has(std::string_view key) const { return object_->find(key) != object_->end(); }

Error JsonFields::FieldError(std::string_view key, std::string message) const {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               what_ + ": field " + json_internal::QuoteForMessage(key) + " " + message)
      .With("field", what_ + "." + ForDetails(key));
}

Result<const json*> JsonFields::Get(std::string_view key, json::value_t type,
                                    std::string_view type_name) {
  const auto it = object_->find(key);
  if (it == object_->end()) return FieldError(key, "is missing");
  read_.insert(it->first);
  const json& value = it->second;
  bool matches = value.type() == type;
  // An unsigned value (only built by code, never by the reader) is still an
  // integer if it fits in int64.
  if (type == json::value_t::number_integer && value.is_number_unsigned()) {
    matches = value.get_ref<const json::number_unsigned_t&>() <=
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  }
  if (!matches) {
    return FieldError(key, "must be " + std::string(type_name) + ", found " +
                               (value.is_number_unsigned() ? std::string("an integer above int64")
                                                           : WithArticle(JsonTypeName(value))));
  }
  return &value;
}

Result<std::int64_t> JsonFields::Int(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::number_integer, "an integer"));
  if (value->is_number_unsigned()) {
    return static_cast<std::int64_t>(value->get_ref<const json::number_unsigned_t&>());
  }
  return value->get_ref<const json::number_integer_t&>();
}

Result<std::string> JsonFields::String(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::string, "a string"));
  return value->get_ref<const json::string_t&>();
}

Result<bool> JsonFields::Bool(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::boolean, "a boolean"));
  return value->get_ref<const json::boolean_t&>();
}

Result<JsonFields> JsonFields::Object(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::object, "an object"));
  return JsonFields(*value->get_ptr<const json::object_t*>(), what_ + "." + ForDetails(key));
}

Result<const json::array_t*> JsonFields::Array(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::array, "an array"));
  return value->get_ptr<const json::array_t*>();
}

Status JsonFields::RejectUnknownFields() const {
  for (const auto& [key, value] : *object_) {
    if (read_.count(key) == 0) return FieldError(key, "is not known");
  }
  return OkStatus();
}

}  // namespace hx
