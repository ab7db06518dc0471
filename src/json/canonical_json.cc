#include "json/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <limits>
#include <variant>
#include <vector>

#include "base/json_string.h"
#include "json/message_text.h"
#include "json/utf8.h"

namespace hx {
namespace {

using json = nlohmann::json;

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Maps a code point to its rank in UTF-16 code unit order. Code points up to
// U+D7FF are one unit below every surrogate; supplementary code points are
// encoded with a leading surrogate (D800..DBFF) and so rank between U+D7FF
// and U+E000; U+E000..U+FFFF rank above them all. Within each class the
// order is the code point order (for supplementary ones: high surrogate, then
// low surrogate, which is again code point order).
std::uint32_t Utf16Rank(char32_t code_point) {
  if (code_point < 0xD800) return code_point;
  if (code_point >= 0x10000) return 0xD800 + (code_point - 0x10000);
  return 0x100000 + code_point;
}

// One step of the path from the root to the value being written, kept so
// that an error can name the value with a JSON Pointer.
using PathStep = std::variant<const std::string*, std::size_t>;

class CanonicalWriter {
 public:
  Status Write(const json& value, int depth) {
    switch (value.type()) {
      case json::value_t::null:
        out_ += "null";
        return OkStatus();
      case json::value_t::boolean:
        out_ += value.get_ref<const json::boolean_t&>() ? "true" : "false";
        return OkStatus();
      case json::value_t::number_integer:
        AppendInteger(*value.get_ptr<const json::number_integer_t*>());
        return OkStatus();
      case json::value_t::number_unsigned: {
        const auto number = *value.get_ptr<const json::number_unsigned_t*>();
        if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return Fail(SyncCode::kInputInvalid, Category::kInvalidInput,
                      "integer " + std::to_string(number) + " is above the int64 range");
        }
        AppendInteger(static_cast<std::int64_t>(number));
        return OkStatus();
      }
      case json::value_t::number_float:
        return Fail(SyncCode::kInternal, Category::kInternal,
                    "floating point number in a value to be written as canonical JSON "
                    "(hx JSON holds integers only)");
      case json::value_t::string:
        return WriteString(*value.get_ptr<const json::string_t*>(), "string");
      case json::value_t::array:
        return WriteArray(*value.get_ptr<const json::array_t*>(), depth + 1);
      case json::value_t::object:
        return WriteObject(*value.get_ptr<const json::object_t*>(), depth + 1);
      case json::value_t::binary:
        return Fail(SyncCode::kInternal, Category::kInternal,
                    "binary value in a value to be written as canonical JSON");
      case json::value_t::discarded:
        break;
    }
    return Fail(SyncCode::kInternal, Category::kInternal,
                "discarded value in a value to be written as canonical JSON");
  }

  std::string& out() { return out_; }

 private:
  void AppendInteger(std::int64_t number) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), number);
    out_.append(buffer, result.ptr);
  }

  Status WriteString(const std::string& text, std::string_view what) {
    if (const auto bad = FindInvalidUtf8(text)) {
      return Fail(SyncCode::kInputInvalid, Category::kInvalidInput,
                  std::string(what) + " " + json_internal::QuoteForMessage(text) +
                      " is not valid UTF-8 (" + std::string(Describe(bad->problem)) +
                      " at byte " + std::to_string(bad->offset) + ")");
    }
    AppendJsonQuoted(out_, text);
    return OkStatus();
  }

  Status CheckDepth(int depth) {
    if (depth <= kMaxJsonDepth) return OkStatus();
    return Fail(SyncCode::kInputInvalid, Category::kInvalidInput,
                "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }

  Status WriteArray(const json::array_t& array, int depth) {
    HX_RETURN_IF_ERROR(CheckDepth(depth));
    out_.push_back('[');
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (i > 0) out_.push_back(',');
      path_.emplace_back(i);
      HX_RETURN_IF_ERROR(Write(array[i], depth));
      path_.pop_back();
    }
    out_.push_back(']');
    return OkStatus();
  }

  Status WriteObject(const json::object_t& object, int depth) {
    HX_RETURN_IF_ERROR(CheckDepth(depth));
    std::vector<const json::object_t::value_type*> members;
    members.reserve(object.size());
    for (const auto& member : object) {
      // Keys are validated before sorting: CanonicalKeyLess is only an order
      // on valid UTF-8.
      if (FindInvalidUtf8(member.first)) {
        path_.emplace_back(&member.first);
        return WriteString(member.first, "key");
      }
      members.push_back(&member);
    }
    // std::map already holds the keys in UTF-8 byte order, which is the
    // canonical order unless keys mix U+E000..U+FFFF with supplementary
    // characters; sort only then.
    const auto less = [](const auto* a, const auto* b) {
      return CanonicalKeyLess(a->first, b->first);
    };
    if (!std::is_sorted(members.begin(), members.end(), less)) {
      std::sort(members.begin(), members.end(), less);
    }
    out_.push_back('{');
    bool first = true;
    for (const auto* member : members) {
      if (!first) out_.push_back(',');
      first = false;
      AppendJsonQuoted(out_, member->first);
      out_.push_back(':');
      path_.emplace_back(&member->first);
      HX_RETURN_IF_ERROR(Write(member->second, depth));
      path_.pop_back();
    }
    out_.push_back('}');
    return OkStatus();
  }

  // The RFC 6901 JSON Pointer of the current value, with each key shown as
  // in messages (invalid UTF-8 replaced, long keys cut).
  std::string PointerToCurrent() const {
    std::string pointer;
    for (const PathStep& step : path_) {
      pointer.push_back('/');
      if (const auto* index = std::get_if<std::size_t>(&step)) {
        pointer += std::to_string(*index);
        continue;
      }
      std::string key = json_internal::QuoteForMessage(*std::get<const std::string*>(step));
      // Drop the quotes QuoteForMessage adds (and keep its "..." mark).
      key.erase(0, 1);
      key.erase(key.rfind('"'), 1);
      for (char ch : key) {
        if (ch == '~') {
          pointer += "~0";
        } else if (ch == '/') {
          pointer += "~1";
        } else {
          pointer.push_back(ch);
        }
      }
    }
    return pointer;
  }

  Error Fail(SyncCode code, Category category, std::string message) const {
    std::string pointer = PointerToCurrent();
    message += " at JSON path \"" + pointer + "\"";
    return Error(code, category, std::move(message)).With("path", std::move(pointer));
  }

  std::string out_;
  std::vector<PathStep> path_;
};

}  // namespace

bool CanonicalKeyLess(std::string_view a, std::string_view b) {
  const std::size_t common = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < common && a[i] == b[i]) ++i;
  if (i == common) return a.size() < b.size();
  // Back up to the start of the character that holds the first difference;
  // for valid UTF-8 it starts at the same offset in both strings because
  // the bytes before the difference are shared.
  std::size_t start = i;
  while (start > 0 && (IsContinuation(static_cast<unsigned char>(a[start])) ||
                       IsContinuation(static_cast<unsigned char>(b[start])))) {
    --start;
  }
  const Utf8Char char_a = DecodeUtf8At(a, start);
  const Utf8Char char_b = DecodeUtf8At(b, start);
  if (char_a.problem || char_b.problem) {
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return Utf16Rank(char_a.code_point) < Utf16Rank(char_b.code_point);
}

Result<std::string> WriteCanonicalJson(const nlohmann::json& value) {
  try {
    CanonicalWriter writer;
    HX_RETURN_IF_ERROR(writer.Write(value, 0));
    return std::move(writer.out());
  } catch (const std::exception& e) {
    // Only allocation can throw here; report it rather than let it escape.
    return InternalError(std::string("writing canonical JSON failed: ") + e.what());
  }
}

Result<nlohmann::json> ParseCanonicalJson(std::string_view text,
                                          const JsonReadOptions& options) {
  HX_ASSIGN_OR_RETURN(nlohmann::json value, ParseJson(text, options));
  HX_ASSIGN_OR_RETURN(const std::string canonical, WriteCanonicalJson(value));
  if (canonical == text) return value;
  const std::size_t common = std::min(canonical.size(), text.size());
  std::size_t offset = 0;
  while (offset < common && canonical[offset] == text[offset]) ++offset;
  std::string message = "JSON text is not in canonical form: at offset " + std::to_string(offset);
  if (offset == text.size()) {
    message += " the text ends where the canonical form continues with " +
               json_internal::DescribeByte(static_cast<unsigned char>(canonical[offset]));
  } else if (offset == canonical.size()) {
    message += " the canonical form ends but the text continues with " +
               json_internal::DescribeByte(static_cast<unsigned char>(text[offset]));
  } else {
    message += " found " + json_internal::DescribeByte(static_cast<unsigned char>(text[offset])) +
               " where the canonical form has " +
               json_internal::DescribeByte(static_cast<unsigned char>(canonical[offset]));
  }
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message))
      .With("offset", std::to_string(offset));
}

}  // namespace hx
