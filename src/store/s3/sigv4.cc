#include "store/s3/sigv4.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "base/hex.h"

namespace hx::s3 {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

std::string Encode(std::string_view text, bool keep_slash) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims the value and collapses each run of whitespace (folded lines
// included) into one space, as the canonical form requires.
std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (const char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 dot-segment removal plus dropping empty segments, keeping a
// trailing slash: what every service but S3 signs.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += segments[i];
  }
  if (!segments.empty() && path.size() > 1 && path.back() == '/') out.push_back('/');
  return out;
}

bool HasHeader(const HttpHeaders& headers, std::string_view lower_name) {
  return std::ranges::any_of(headers, [&](const auto& h) { return Lower(h.first) == lower_name; });
}

}  // namespace

std::string UriEncode(std::string_view text) { return Encode(text, /*keep_slash=*/false); }

std::string UriEncodePath(std::string_view path) { return Encode(path, /*keep_slash=*/true); }

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name), UriEncode(value));
  std::ranges::sort(encoded);
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

Sha256Digest SigningKey(std::string_view secret, std::string_view date_stamp,
                        std::string_view region, std::string_view service) {
  const std::string k_secret = "AWS4" + std::string(secret);
  const Sha256Digest k_date = HmacSha256(k_secret, date_stamp);
  const Sha256Digest k_region = HmacSha256(k_date, region);
  const Sha256Digest k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, std::string_view("aws4_request"));
}

std::string AmzDate(std::int64_t unix_seconds) {
  const auto seconds = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(text, n);
}

std::string PayloadSha256Hex(std::span<const std::uint8_t> body) { return ToHex(Sha256(body)); }

SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                      const SigV4Options& options) {
  SigV4Signature result;
  HttpHeaders headers = request.headers;
  auto add = [&](std::string name, std::string value) {
    headers.emplace_back(name, value);
    result.added_headers.emplace_back(std::move(name), std::move(value));
  };
  if (!HasHeader(headers, "x-amz-date")) add("X-Amz-Date", options.amz_date);
  if (options.add_content_sha256_header && !HasHeader(headers, "x-amz-content-sha256")) {
    add("x-amz-content-sha256", request.payload_sha256_hex);
  }
  const bool token = !credentials.session_token.empty();
  if (token && options.sign_session_token && !HasHeader(headers, "x-amz-security-token")) {
    add("X-Amz-Security-Token", credentials.session_token);
  }

  // Lowercase names, sorted; repeated names keep their order of appearance.
  std::map<std::string, std::string> canonical;
  for (const auto& [name, value] : headers) {
    auto [it, inserted] = canonical.try_emplace(Lower(name), CanonicalHeaderValue(value));
    if (!inserted) it->second += "," + CanonicalHeaderValue(value);
  }
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : canonical) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += name;
  }

  const std::string path = options.normalize_path ? NormalizePath(request.path) : request.path;
  result.canonical_request = request.method + "\n" + UriEncodePath(path) + "\n" +
                             CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                             signed_headers + "\n" + request.payload_sha256_hex;

  const std::string date_stamp = options.amz_date.substr(0, 8);
  const std::string scope =
      date_stamp + "/" + options.region + "/" + options.service + "/aws4_request";
  result.string_to_sign = "AWS4-HMAC-SHA256\n" + options.amz_date + "\n" + scope + "\n" +
                          ToHex(Sha256(result.canonical_request));
  const Sha256Digest key =
      SigningKey(credentials.secret_access_key, date_stamp, options.region, options.service);
  result.signature = ToHex(HmacSha256(key, result.string_to_sign));
  result.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                         ", SignedHeaders=" + signed_headers + ", Signature=" + result.signature;
  if (token && !options.sign_session_token && !HasHeader(headers, "x-amz-security-token")) {
    result.added_headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  result.added_headers.emplace_back("Authorization", result.authorization);
  return result;
}

}  // namespace hx::s3
