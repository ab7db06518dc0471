#include "json/schema_validator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <utility>

#include "base/hex.h"
#include "json/canonical_json.h"

namespace hx {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 15> kCheckedKeywords = {
    "type",    "properties", "required", "additionalProperties", "items",
    "enum",    "const",      "pattern",  "minimum",              "minItems",
    "uniqueItems", "oneOf",  "$ref",     "maxItems",             "minLength"};
constexpr std::array<std::string_view, 9> kAnnotationKeywords = {
    "$schema", "$id", "$comment", "$defs", "definitions", "title", "description", "default",
    "examples"};

Error SchemaError(std::string message, std::string schema_path) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "schema: " + std::move(message) + " at " +
                   (schema_path.empty() ? std::string("#") : schema_path))
      .With("schema_path", std::move(schema_path));
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Child(const std::string& path, std::string_view token) {
  return path + "/" + EscapePointerToken(token);
}

bool IsInteger(const json& value) {
  if (value.is_number_integer()) return true;
  if (value.is_number_float()) {
    const double d = value.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

bool HasType(const json& value, std::string_view type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "integer") return IsInteger(value);
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return false;
}

bool IsKnownType(const json& type) {
  if (!type.is_string()) return false;
  const std::string& t = type.get_ref<const std::string&>();
  return t == "null" || t == "boolean" || t == "integer" || t == "number" || t == "string" ||
         t == "array" || t == "object";
}

// JSON equality with numbers compared by value (nlohmann compares integer and
// float values numerically; arrays and objects element-wise).
bool JsonEqual(const json& a, const json& b) { return a == b; }

std::string Shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

}  // namespace

struct JsonSchema::Compiled {
  json root;
  std::map<std::string, std::regex> patterns;
  std::map<std::string, const json*> refs;
};

namespace {

Status CompileNode(const json& node, const std::string& path, const json& root,
                   std::map<std::string, std::regex>& patterns,
                   std::map<std::string, const json*>& refs, int depth);

Result<std::string> PercentDecode(std::string_view text, const std::string& schema_path) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return SchemaError("$ref has a truncated percent escape", schema_path);
    }
    const int hi = HexDigitValue(text[i + 1]);
    const int lo = HexDigitValue(text[i + 2]);
    if (hi < 0 || lo < 0) return SchemaError("$ref has a bad percent escape", schema_path);
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Status CompileSubschemas(const json& node, const std::string& path, const json& root,
                         std::map<std::string, std::regex>& patterns,
                         std::map<std::string, const json*>& refs, int depth) {
  for (const auto& [key, value] : node.items()) {
    const std::string child = Child(path, key);
    if (key == "properties" || key == "$defs" || key == "definitions") {
      if (!value.is_object()) return SchemaError(key + " must be an object", child);
      for (const auto& [name, sub] : value.items()) {
        HX_RETURN_IF_ERROR(
            CompileNode(sub, Child(child, name), root, patterns, refs, depth + 1));
      }
    } else if (key == "additionalProperties" || key == "items") {
      HX_RETURN_IF_ERROR(CompileNode(value, child, root, patterns, refs, depth + 1));
    } else if (key == "oneOf") {
      if (!value.is_array() || value.empty()) {
        return SchemaError("oneOf must be a non-empty array", child);
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        HX_RETURN_IF_ERROR(CompileNode(value[i], Child(child, std::to_string(i)), root,
                                       patterns, refs, depth + 1));
      }
    }
  }
  return OkStatus();
}

Status CompileNode(const json& node, const std::string& path, const json& root,
                   std::map<std::string, std::regex>& patterns,
                   std::map<std::string, const json*>& refs, int depth) {
  if (depth > JsonSchema::kMaxValidationDepth) return SchemaError("nested too deeply", path);
  if (node.is_boolean()) return OkStatus();
  if (!node.is_object()) return SchemaError("a schema must be an object or a boolean", path);
  for (const auto& [key, value] : node.items()) {
    if (!JsonSchema::IsSupportedKeyword(key)) {
      return SchemaError("unsupported keyword \"" + key + "\"", path);
    }
    const std::string child = Child(path, key);
    if (key == "type") {
      const bool ok = IsKnownType(value) ||
                      (value.is_array() && !value.empty() &&
                       std::all_of(value.begin(), value.end(), IsKnownType));
      if (!ok) return SchemaError("type must name JSON types", child);
    } else if (key == "required") {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
        return SchemaError("required must be an array of strings", child);
      }
    } else if (key == "enum") {
      if (!value.is_array()) return SchemaError("enum must be an array", child);
    } else if (key == "pattern") {
      if (!value.is_string()) return SchemaError("pattern must be a string", child);
      const std::string& text = value.get_ref<const std::string&>();
      try {
        patterns.emplace(text, std::regex(text, std::regex::ECMAScript));
      } catch (const std::regex_error&) {
        return SchemaError("pattern does not compile", child);
      }
    } else if (key == "minimum") {
      if (!value.is_number()) return SchemaError("minimum must be a number", child);
    } else if (key == "minItems" || key == "maxItems" || key == "minLength") {
      if (!IsInteger(value) || value.get<double>() < 0) {
        return SchemaError(key + " must be a non-negative integer", child);
      }
    } else if (key == "uniqueItems") {
      if (!value.is_boolean()) return SchemaError("uniqueItems must be a boolean", child);
    } else if (key == "$ref") {
      if (!value.is_string()) return SchemaError("$ref must be a string", child);
      const std::string& ref = value.get_ref<const std::string&>();
      if (ref.empty() || ref[0] != '#') {
        return SchemaError("only $ref within the document (\"#...\") is supported", child);
      }
      if (refs.count(ref) == 0) {
        try {
          // A fragment is percent-encoded (RFC 6901 section 6).
          HX_ASSIGN_OR_RETURN(const std::string decoded, PercentDecode(ref.substr(1), child));
          const json::json_pointer pointer(decoded);
          if (!root.contains(pointer)) return SchemaError("$ref does not resolve", child);
          refs.emplace(ref, &root.at(pointer));
        } catch (const json::exception&) {
          return SchemaError("$ref is not a JSON pointer", child);
        }
      }
    }
  }
  return CompileSubschemas(node, path, root, patterns, refs, depth);
}

class Validator {
 public:
  explicit Validator(const JsonSchema::Compiled& compiled) : c_(compiled) {}

  Status Check(const json& schema, const json& value, const std::string& instance_path,
               const std::string& schema_path, int depth) const;

 private:
  Error Fail(const std::string& instance_path, const std::string& schema_path,
             std::string message) const {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "at " + (instance_path.empty() ? std::string("/") : instance_path) + ": " +
                     std::move(message))
        .With("instance_path", instance_path)
        .With("schema_path", schema_path.empty() ? std::string("#") : schema_path);
  }

  Status CheckObject(const json& schema, const json& value, const std::string& ip,
                     const std::string& sp, int depth) const;
  Status CheckArray(const json& schema, const json& value, const std::string& ip,
                    const std::string& sp, int depth) const;

  const JsonSchema::Compiled& c_;
};

Status Validator::Check(const json& schema, const json& value, const std::string& ip,
                        const std::string& sp, int depth) const {
  if (depth > JsonSchema::kMaxValidationDepth) {
    return Fail(ip, sp, "validation nested too deeply (a $ref cycle?)");
  }
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return OkStatus();
    return Fail(ip, sp, "no value is allowed here");
  }
  if (auto it = schema.find("$ref"); it != schema.end()) {
    const json* target = c_.refs.at(it->get<std::string>());
    HX_RETURN_IF_ERROR(Check(*target, value, ip, Child(sp, "$ref"), depth + 1));
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    bool ok = false;
    if (it->is_string()) {
      ok = HasType(value, it->get_ref<const std::string&>());
    } else {
      for (const json& t : *it) ok = ok || HasType(value, t.get_ref<const std::string&>());
    }
    if (!ok) return Fail(ip, Child(sp, "type"), "expected type " + Shown(*it));
  }
  if (auto it = schema.find("const"); it != schema.end() && !JsonEqual(*it, value)) {
    return Fail(ip, Child(sp, "const"), "expected the constant " + Shown(*it));
  }
  if (auto it = schema.find("enum"); it != schema.end()) {
    const bool found = std::any_of(it->begin(), it->end(),
                                   [&](const json& option) { return JsonEqual(option, value); });
    if (!found) return Fail(ip, Child(sp, "enum"), "expected one of " + Shown(*it));
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (auto it = schema.find("minLength"); it != schema.end()) {
      // Length in code points: count the bytes that do not continue one.
      const auto points = std::count_if(text.begin(), text.end(), [](char ch) {
        return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
      });
      if (static_cast<double>(points) < it->get<double>()) {
        return Fail(ip, Child(sp, "minLength"), "string is too short");
      }
    }
    if (auto it = schema.find("pattern"); it != schema.end()) {
      const std::regex& regex = c_.patterns.at(it->get<std::string>());
      bool matched = false;
      try {
        matched = std::regex_search(text, regex);
      } catch (const std::regex_error&) {
        return Fail(ip, Child(sp, "pattern"), "pattern matching failed (input too complex)");
      }
      if (!matched) {
        return Fail(ip, Child(sp, "pattern"), "does not match the pattern " + Shown(*it));
      }
    }
  }
  if (value.is_number()) {
    if (auto it = schema.find("minimum"); it != schema.end()) {
      bool below = false;
      if (it->is_number_integer() && value.is_number_unsigned()) {
        // Report counters are uint64: compare without wrapping them negative.
        const std::int64_t minimum = it->get<std::int64_t>();
        below = minimum > 0 && value.get<std::uint64_t>() < static_cast<std::uint64_t>(minimum);
      } else if (it->is_number_integer() && value.is_number_integer()) {
        below = value.get<std::int64_t>() < it->get<std::int64_t>();
      } else {
        below = value.get<double>() < it->get<double>();
      }
      if (below) return Fail(ip, Child(sp, "minimum"), "below the minimum " + Shown(*it));
    }
  }
  if (value.is_object()) HX_RETURN_IF_ERROR(CheckObject(schema, value, ip, sp, depth));
  if (value.is_array()) HX_RETURN_IF_ERROR(CheckArray(schema, value, ip, sp, depth));
  if (auto it = schema.find("oneOf"); it != schema.end()) {
    int matches = 0;
    for (std::size_t i = 0; i < it->size(); ++i) {
      if (Check((*it)[i], value, ip, Child(Child(sp, "oneOf"), std::to_string(i)), depth + 1)
              .ok()) {
        ++matches;
      }
    }
    if (matches != 1) {
      return Fail(ip, Child(sp, "oneOf"),
                  "expected exactly one alternative to match, " + std::to_string(matches) +
                      " did");
    }
  }
  return OkStatus();
}

Status Validator::CheckObject(const json& schema, const json& value, const std::string& ip,
                              const std::string& sp, int depth) const {
  if (auto it = schema.find("required"); it != schema.end()) {
    for (const json& name : *it) {
      if (!value.contains(name.get<std::string>())) {
        return Fail(ip, Child(sp, "required"),
                    "missing the required property \"" + name.get<std::string>() + "\"");
      }
    }
  }
  const auto properties = schema.find("properties");
  const auto additional = schema.find("additionalProperties");
  for (const auto& [key, member] : value.items()) {
    const std::string child = Child(ip, key);
    if (properties != schema.end() && properties->contains(key)) {
      HX_RETURN_IF_ERROR(Check(properties->at(key), member, child,
                               Child(Child(sp, "properties"), key), depth + 1));
    } else if (additional != schema.end()) {
      if (additional->is_boolean() && !additional->get<bool>()) {
        return Fail(child, Child(sp, "additionalProperties"),
                    "the property \"" + key + "\" is not allowed");
      }
      HX_RETURN_IF_ERROR(
          Check(*additional, member, child, Child(sp, "additionalProperties"), depth + 1));
    }
  }
  return OkStatus();
}

Status Validator::CheckArray(const json& schema, const json& value, const std::string& ip,
                             const std::string& sp, int depth) const {
  if (auto it = schema.find("minItems"); it != schema.end()) {
    if (static_cast<double>(value.size()) < it->get<double>()) {
      return Fail(ip, Child(sp, "minItems"), "expected at least " + Shown(*it) + " items");
    }
  }
  if (auto it = schema.find("maxItems"); it != schema.end()) {
    if (static_cast<double>(value.size()) > it->get<double>()) {
      return Fail(ip, Child(sp, "maxItems"), "expected at most " + Shown(*it) + " items");
    }
  }
  if (auto it = schema.find("uniqueItems"); it != schema.end() && it->get<bool>()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      for (std::size_t j = i + 1; j < value.size(); ++j) {
        if (JsonEqual(value[i], value[j])) {
          return Fail(Child(ip, std::to_string(j)), Child(sp, "uniqueItems"),
                      "duplicates item " + std::to_string(i));
        }
      }
    }
  }
  if (auto it = schema.find("items"); it != schema.end()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      HX_RETURN_IF_ERROR(
          Check(*it, value[i], Child(ip, std::to_string(i)), Child(sp, "items"), depth + 1));
    }
  }
  return OkStatus();
}

}  // namespace

bool JsonSchema::IsSupportedKeyword(std::string_view keyword) {
  return std::find(kCheckedKeywords.begin(), kCheckedKeywords.end(), keyword) !=
             kCheckedKeywords.end() ||
         std::find(kAnnotationKeywords.begin(), kAnnotationKeywords.end(), keyword) !=
             kAnnotationKeywords.end();
}

Result<JsonSchema> JsonSchema::Compile(json schema) {
  auto compiled = std::make_shared<Compiled>();
  compiled->root = std::move(schema);
  HX_RETURN_IF_ERROR(CompileNode(compiled->root, "", compiled->root, compiled->patterns,
                                 compiled->refs, 0));
  JsonSchema out;
  out.compiled_ = std::move(compiled);
  return out;
}

Result<JsonSchema> JsonSchema::CompileFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(SyncCode::kInputInvalid, Category::kNotFound,
                 "cannot read the schema " + path.string())
        .With("path", path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  Result<json> parsed = ParseJson(text.str());
  if (!parsed.ok()) {
    Error error = std::move(parsed).error();
    error.message = path.string() + ": " + error.message;
    return error;
  }
  return Compile(std::move(parsed).value());
}

Status JsonSchema::Validate(const json& instance) const {
  if (compiled_ == nullptr) return InternalError("validating with an uncompiled schema");
  return Validator(*compiled_).Check(compiled_->root, instance, "", "", 0);
}

Status ValidateAgainstSchemaFile(const json& instance, const std::filesystem::path& schema_path) {
  HX_ASSIGN_OR_RETURN(const JsonSchema schema, JsonSchema::CompileFile(schema_path));
  return schema.Validate(instance);
}

}  // namespace hx
