#include "hub/router.h"

#include "base/hex.h"

namespace hx::hub {
namespace {

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexDigitValue(text[i + 1]);
      const int lo = HexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string_view HubRequest::Header(std::string_view lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view HubRequest::Bearer() const {
  const std::string_view value = Header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char a = value[i];
    const char b = kScheme[i];
    if ((a | 0x20) != (b | 0x20)) return {};
  }
  return value.substr(kScheme.size());
}

std::optional<std::string> HubRequest::Query(std::string_view name) const {
  std::string_view left = query;
  while (!left.empty()) {
    const std::size_t amp = left.find('&');
    const std::string_view pair = left.substr(0, amp);
    left = amp == std::string_view::npos ? std::string_view() : left.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return PercentDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

HubResponse HubResponse::Json(int status, std::string json) {
  HubResponse response;
  response.status = status;
  response.body = std::move(json);
  return response;
}

HubResponse HubResponse::FromError(const Error& error) {
  return Json(HttpStatusFor(error), "{\"error\":" + error.ToJson() + "}");
}

int HttpStatusFor(const Error& error) {
  if (const auto it = error.details.find("http_status"); it != error.details.end()) {
    const std::string& text = it->second;
    if (text.size() == 3 && (text[0] == '4' || text[0] == '5') && text[1] >= '0' &&
        text[1] <= '9' && text[2] >= '0' && text[2] <= '9') {
      return std::stoi(text);
    }
  }
  return HttpStatusForCategory(error.category);
}

HubResponse HubResponse::BadRequest(std::string message) {
  return FromError(Error(SyncCode::kInputInvalid, Category::kInvalidInput, std::move(message)));
}

int HttpStatusForCategory(Category category) {
  switch (category) {
    case Category::kInvalidInput:
      return 400;
    case Category::kUnsupported:
      return 400;
    case Category::kAuth:
      return 401;
    case Category::kNotFound:
      return 404;
    case Category::kThrottling:
      return 429;
    case Category::kTimeout:
      return 504;
    case Category::kNetwork:
      return 502;
    case Category::kCorrupt:
    case Category::kHashMismatch:
      return 422;
    case Category::kConflict:
      return 409;
    case Category::kLocked:
      return 423;
    case Category::kAborted:
      return 412;
    case Category::kNoSpace:
      return 507;
    case Category::kIo:
    case Category::kInternal:
      return 500;
  }
  return 500;
}

void Router::Handle(std::string method, std::string prefix, Handler handler,
                    std::uint64_t max_body_bytes, Admission admit) {
  HandleAsync(
      std::move(method), std::move(prefix),
      [handler = std::move(handler)](HubRequest request, Responder respond) {
        respond(handler(request));
      },
      max_body_bytes, std::move(admit));
}

void Router::HandleAsync(std::string method, std::string prefix, AsyncHandler handler,
                         std::uint64_t max_body_bytes, Admission admit) {
  routes_.push_back(Route{std::move(method), std::move(prefix), std::move(handler),
                          max_body_bytes, std::move(admit)});
}

void Router::HandleExact(std::string method, std::string path, Handler handler) {
  Handle(std::move(method), std::move(path), std::move(handler));
  routes_.back().exact = true;
}

std::optional<Router::Match> Router::Find(std::string_view method, std::string_view path,
                                          bool* method_allowed) const {
  const Route* best = nullptr;
  bool other_method = false;
  for (const Route& route : routes_) {
    if (!path.starts_with(route.prefix)) continue;
    if (route.exact && path.size() != route.prefix.size()) continue;
    if (route.method != method) {
      other_method = true;
      continue;
    }
    if (best == nullptr || route.exact || route.prefix.size() > best->prefix.size()) best = &route;
    if (route.exact) break;
  }
  if (method_allowed != nullptr) *method_allowed = other_method;
  if (best == nullptr) return std::nullopt;
  return Match{&best->handler, best->prefix, path.substr(best->prefix.size()),
               best->max_body_bytes, best->admit ? &best->admit : nullptr};
}

}  // namespace hx::hub
