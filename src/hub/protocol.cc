#include "hub/protocol.h"

#include <charconv>
#include <optional>

#include "base/hex.h"

namespace hx::hub {
namespace {

Error Invalid(std::string message) {
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message));
}

// A decimal in [0, max], or nullopt.
std::optional<std::uint64_t> ParseNumber(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

Result<std::uint64_t> NumberParam(const HubRequest& request, std::string_view name,
                                  std::uint64_t max) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) return Invalid("the query parameter '" + std::string(name) + "' is missing");
  const std::optional<std::uint64_t> value = ParseNumber(*text, max);
  if (!value) {
    return Invalid("the query parameter '" + std::string(name) +
                   "' must be a decimal number up to " + std::to_string(max));
  }
  return *value;
}

Result<StoreVersion> VersionParam(const HubRequest& request, std::string_view name) {
  const std::optional<std::string> text = request.Query(name);
  if (!text) return Invalid("the query parameter '" + std::string(name) + "' is malformed");
  return DecodeVersion(*text);
}

}  // namespace

bool StoreRequest::writes() const {
  return op == StoreOp::kPut || op == StoreOp::kPutIfAbsent || op == StoreOp::kPutIfMatch ||
         op == StoreOp::kDelete;
}

std::string StoreRequest::BackingKey() const { return vault + "/" + key; }

Status ValidateVaultName(std::string_view vault) {
  if (vault.empty() || vault.size() > kMaxVaultNameBytes) {
    return Invalid("a vault name on a hub is 1 to 63 characters long");
  }
  for (std::size_t i = 0; i < vault.size(); ++i) {
    const char c = vault[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i > 0)) {
      return Invalid(
          "a vault name on a hub is made of a-z, 0-9 and '-' (not first); rename the target's "
          "vault, e.g. hxs://host:8443/team-notes");
    }
  }
  return {};
}

std::string EncodeVersion(std::string_view version) { return StringToHex(version); }

Result<StoreVersion> DecodeVersion(std::string_view hex) {
  if (hex.size() % 2 != 0 || hex.size() > 2 * kMaxVersionBytes) {
    return Invalid("a version is an even number of hex digits, at most " +
                   std::to_string(2 * kMaxVersionBytes));
  }
  std::optional<std::string> version = LowerHexToString(hex, 2 * kMaxVersionBytes);
  if (!version) return Invalid("a version is lowercase hex digits");
  return *std::move(version);
}

Result<StoreRequest> ParseStoreRequest(const HubRequest& request, std::uint64_t max_object_bytes) {
  const std::string_view rest = request.rest;
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return Invalid("the path names no operation; use /v1/<vault>/o/<key>, /v1/<vault>/list or "
                   "/v1/<vault>/feed");
  }
  StoreRequest out;
  out.vault = std::string(rest.substr(0, slash));
  HX_RETURN_IF_ERROR(ValidateVaultName(out.vault));
  const std::string_view route = rest.substr(slash + 1);
  const std::string& method = request.method;
  if (route == "list" || route == "feed" || route == "feed/stream") {
    if (method != "GET") return Invalid("/" + std::string(route) + " takes GET");
    if (!request.body.empty()) return Invalid("a GET request has no body");
    if (route == "list") {
      out.op = StoreOp::kList;
      const std::optional<std::string> prefix = request.Query("prefix");
      if (request.query.find("prefix") != std::string::npos && !prefix) {
        return Invalid("the query parameter 'prefix' is malformed");
      }
      out.key = prefix.value_or("");
      const Status valid = ValidateStorePrefix(out.key);
      if (!valid.ok()) return Invalid("the list prefix is not a valid key prefix");
      return out;
    }
    out.op = route == "feed" ? StoreOp::kFeed : StoreOp::kFeedStream;
    if (request.Query("after")) {
      HX_ASSIGN_OR_RETURN(out.version, VersionParam(request, "after"));
    } else if (out.op == StoreOp::kFeedStream && !request.Header("last-event-id").empty()) {
      // A reconnecting EventSource names the last event's id, the head's hex.
      HX_ASSIGN_OR_RETURN(out.version, DecodeVersion(request.Header("last-event-id")));
    }
    if (request.Query("wait_ms")) {
      HX_ASSIGN_OR_RETURN(const std::uint64_t wait,
                          NumberParam(request, "wait_ms", kMaxFeedWaitMs));
      out.wait_ms = static_cast<std::int64_t>(wait);
    }
    return out;
  }
  if (!route.starts_with("o/")) {
    return Invalid("no such operation; use /v1/<vault>/o/<key>, /v1/<vault>/list or "
                   "/v1/<vault>/feed");
  }
  out.key = std::string(route.substr(2));
  if (!IsValidStoreKey(out.key)) {
    return Invalid("the key is not a valid store key (segments of a-z 0-9 . _ -, no '.' or '..', "
                   "at most 255 bytes)");
  }
  if (method == "GET" || method == "HEAD") {
    if (!request.body.empty()) return Invalid("a " + method + " request has no body");
    if (method == "HEAD") {
      out.op = StoreOp::kExists;
      return out;
    }
    if (request.Query("offset") || request.Query("length")) {
      out.op = StoreOp::kGetRange;
      // Any range parses; one beyond the bound is refused by the service as
      // beyond the end (Category::kCorrupt), as every store does.
      HX_ASSIGN_OR_RETURN(out.range.offset, NumberParam(request, "offset", ~std::uint64_t{0}));
      HX_ASSIGN_OR_RETURN(out.range.length, NumberParam(request, "length", ~std::uint64_t{0}));
      return out;
    }
    HX_ASSIGN_OR_RETURN(out.max_size, NumberParam(request, "max", ~std::uint64_t{0}));
    out.max_size = std::min(out.max_size, max_object_bytes);
    if (request.Query("if-none-match")) {
      out.op = StoreOp::kGetIfNoneMatch;
      HX_ASSIGN_OR_RETURN(out.version, VersionParam(request, "if-none-match"));
      return out;
    }
    out.op = request.Query("versioned") ? StoreOp::kGetVersioned : StoreOp::kGet;
    return out;
  }
  if (method == "PUT") {
    const bool absent = request.Query("if-absent").has_value();
    const bool match = request.Query("if-match").has_value();
    if (absent && match) return Invalid("give if-absent or if-match, not both");
    if (absent) {
      out.op = StoreOp::kPutIfAbsent;
    } else if (match) {
      out.op = StoreOp::kPutIfMatch;
      HX_ASSIGN_OR_RETURN(out.version, VersionParam(request, "if-match"));
    } else {
      out.op = StoreOp::kPut;
    }
    return out;
  }
  if (method == "DELETE") {
    if (!request.body.empty()) return Invalid("a DELETE request has no body");
    out.op = StoreOp::kDelete;
    return out;
  }
  return Invalid("the method " + method.substr(0, 16) + " is not part of the store protocol");
}

}  // namespace hx::hub
