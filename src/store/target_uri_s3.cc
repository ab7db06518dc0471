// S3 targets: s3://bucket/prefix and s3+endpoint://bucket/prefix with
// --endpoint, --region and --path-style (docs/FORMAT.md, "Targets").
#include <optional>
#include <string>

#include "store/target_uri_internal.h"

namespace hx::target_uri_internal {
namespace {

// Why `bucket` is not a valid bucket name, or nullopt. `aws` adds the names
// AWS reserves for its own features; other servers do not reserve them.
std::optional<std::string> BucketProblem(std::string_view bucket, bool aws) {
  if (bucket.size() < 3 || bucket.size() > 63) {
    return "it must be 3 to 63 characters long";
  }
  for (const char c : bucket) {
    if (IsUpperAlpha(c)) return "it must be lowercase";
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '.' && c != '-') {
      return "only lowercase letters, digits, '.' and '-' are allowed";
    }
  }
  const auto alnum = [](char c) { return IsLowerAlpha(c) || IsDigit(c); };
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return "it must begin and end with a letter or digit";
  }
  if (bucket.find("..") != std::string_view::npos) {
    return "it must not contain two adjacent periods";
  }
  if (LooksLikeIpv4(bucket)) return "it must not be formatted as an IP address";
  if (bucket.starts_with("xn--")) {
    return "the prefix 'xn--' is reserved for internationalized domain names";
  }
  if (!aws) return std::nullopt;
  for (const std::string_view reserved : {"sthree-", "amzn-s3-demo-"}) {
    if (bucket.starts_with(reserved)) {
      return "the prefix '" + std::string(reserved) + "' is reserved by AWS";
    }
  }
  for (const std::string_view reserved :
       {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    if (bucket.ends_with(reserved)) {
      return "the suffix '" + std::string(reserved) + "' is reserved by AWS";
    }
  }
  return std::nullopt;
}

// The characters allowed in an S3 prefix: RFC 3986 unreserved characters
// without '~'. They need no percent-encoding in a URL, in a SigV4 canonical
// request or in an XML listing, so every server and every client agrees on
// the key. '+', '%', spaces and non-ASCII are signed inconsistently by some
// S3-compatible servers, and AWS lists '~' among the characters to avoid.
bool IsPrefixChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.';
}

std::string DescribeChar(char c) {
  const auto b = static_cast<unsigned char>(c);
  if (b >= 0x80) return "a non-ASCII character";
  if (c == ' ') return "a space";
  return "'" + std::string(1, c) + "'";
}

// Why `prefix` (without leading and trailing '/') cannot be used, or nullopt.
std::optional<std::string> PrefixProblem(std::string_view prefix) {
  if (prefix.size() > kMaxS3PrefixBytes) {
    return "the prefix is " + std::to_string(prefix.size()) +
           " bytes long; at most 768 are allowed so that hx's object keys stay "
           "within S3's 1024-byte limit";
  }
  if (prefix.empty()) return std::nullopt;
  std::size_t start = 0;
  while (start <= prefix.size()) {
    std::size_t end = prefix.find('/', start);
    if (end == std::string_view::npos) end = prefix.size();
    const std::string_view segment = prefix.substr(start, end - start);
    start = end + 1;
    if (segment.empty()) {
      return std::string(
          "the prefix has an empty segment ('//'); separate its parts with "
          "single slashes");
    }
    if (segment == "." || segment == "..") {
      return std::string(
          "the prefix has a '.' or '..' segment; S3 keeps such keys literally "
          "while tools resolve them, so name the folder plainly");
    }
    for (const char c : segment) {
      if (!IsPrefixChar(c)) {
        return "the prefix contains " + DescribeChar(c) +
               "; an S3 prefix may use only letters, digits, '-', '_', '.' and "
               "'/' (other characters are signed inconsistently by some S3 "
               "servers)";
      }
    }
  }
  return std::nullopt;
}

struct Endpoint {
  std::string canonical;
  bool tls = false;
  bool ip_literal = false;
};

// Parses --endpoint into "http[s]://host[:port]": the scheme must be explicit
// (so whether TLS is used is visible), there is no path (the S3 API lives at
// the root of its host), the host is lowercased and a default port dropped,
// so equal endpoints have equal text.
Result<Endpoint> ParseEndpoint(std::string_view uri, std::string_view text) {
  const auto fail = [&](std::string message) {
    return TargetInvalid(uri, "--endpoint " + message)
        .With("endpoint", RedactTargetUri(text));
  };
  if (text.size() > kMaxEndpointBytes) return fail("is too long");
  for (const char c : text) {
    if (IsControl(c) || c == ' ') {
      return fail("contains a space or control character");
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return fail("must be ASCII; write an internationalized host name in "
                  "punycode (xn--...)");
    }
  }
  if (text.find('@') != std::string_view::npos) {
    return fail("must not contain credentials ('user:secret@'); " +
                std::string(kCredentialsHint));
  }
  Endpoint endpoint;
  std::string_view rest;
  if (StartsWithIgnoreCase(text, "https://")) {
    endpoint.tls = true;
    rest = text.substr(8);
  } else if (StartsWithIgnoreCase(text, "http://")) {
    rest = text.substr(7);
  } else {
    return fail("must start with http:// or https://, e.g. http://localhost:9000");
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view after =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (!after.empty() && after != "/") {
    return fail("must be just http[s]://host[:port], without a path, query or "
                "fragment");
  }
  HostPort host_port;
  if (auto problem = ParseHostPort(authority, host_port)) return fail(std::move(*problem));
  endpoint.ip_literal = host_port.ip_literal;
  const int port = host_port.port;
  const std::string& host = host_port.host;
  endpoint.canonical = endpoint.tls ? "https://" : "http://";
  endpoint.canonical += host;
  if (port != 0 && port != (endpoint.tls ? 443 : 80)) {
    endpoint.canonical += ':' + std::to_string(port);
  }
  return endpoint;
}

Result<std::string> ParseRegion(std::string_view uri, std::string_view region) {
  if (region.empty()) return std::string(kDefaultS3Region);
  bool valid = region.size() <= kMaxRegionBytes;
  for (const char c : region) {
    valid = valid && (IsLowerAlpha(c) || IsDigit(c) || c == '-');
  }
  valid = valid && region.front() != '-' && region.back() != '-';
  if (!valid) {
    return TargetInvalid(uri, "--region '" + Printable(region, 64) +
                                  "' is not a region name (lowercase letters, "
                                  "digits and '-', e.g. us-east-1)");
  }
  return std::string(region);
}

}  // namespace

// `rest` is what follows "s3:" or "s3+endpoint:".
Result<Target> ParseS3Uri(std::string_view uri, std::string_view rest,
                          const TargetOptions& options, bool custom) {
  const std::string form = custom ? "s3+endpoint://bucket/prefix" : "s3://bucket/prefix";
  if (!rest.starts_with("//")) {
    return TargetInvalid(uri, "write the S3 target as " + form + " (with two slashes)");
  }
  rest.remove_prefix(2);
  // Looked for anywhere, not only before the first '/': a secret may itself
  // contain '/', which ends the authority early.
  if (rest.find('@') != std::string_view::npos) {
    return TargetInvalid(uri,
                         "credentials do not belong in the target URI (it is "
                         "saved and shown); remove the 'user:secret@' part and " +
                             std::string(kCredentialsHint));
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return TargetInvalid(uri,
                         "an S3 target takes no query ('?') or fragment ('#'); S3 "
                         "settings go in --region, --endpoint and --path-style");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view bucket = rest.substr(0, slash);
  std::string_view prefix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.find(':') != std::string_view::npos) {
    return TargetInvalid(uri,
                         "the bucket must not carry a port; for another server "
                         "write s3+endpoint://bucket/prefix with --endpoint "
                         "http://host:port");
  }
  if (bucket.empty()) {
    return TargetInvalid(uri, "the S3 target names no bucket; write " + form);
  }
  if (auto problem = BucketProblem(bucket, !custom)) {
    return TargetInvalid(uri, "invalid bucket name '" + Printable(bucket, 80) +
                                  "': " + *problem);
  }
  // One trailing slash is tolerated ("s3://b/p/" names the same place as
  // "s3://b/p"); "s3://b//" keeps its empty segment and is refused.
  if (prefix.size() > 1 && prefix.ends_with('/')) prefix.remove_suffix(1);
  if (auto problem = PrefixProblem(prefix)) return TargetInvalid(uri, *problem);

  Target target;
  target.kind = TargetKind::kS3;
  target.bucket = std::string(bucket);
  target.prefix = std::string(prefix);
  HX_ASSIGN_OR_RETURN(target.region, ParseRegion(uri, options.region));
  bool tls = true;  // AWS is always reached over HTTPS
  bool ip_literal = false;
  if (!custom) {
    if (!options.endpoint.empty()) {
      return TargetInvalid(uri,
                           "--endpoint is only used with "
                           "s3+endpoint://bucket/prefix; write that form for a "
                           "non-AWS server, or drop --endpoint for AWS");
    }
  } else {
    if (options.endpoint.empty()) {
      return TargetInvalid(uri,
                           "s3+endpoint:// needs --endpoint with the server's "
                           "URL, e.g. --endpoint http://localhost:9000");
    }
    HX_ASSIGN_OR_RETURN(const Endpoint endpoint, ParseEndpoint(uri, options.endpoint));
    target.endpoint = endpoint.canonical;
    tls = endpoint.tls;
    ip_literal = endpoint.ip_literal;
  }
  // Virtual-hosted addressing cannot work in two cases, so path style is
  // forced there: a host that is an IP address cannot take the bucket as a
  // subdomain, and a dotted bucket as a subdomain breaks TLS, whose wildcard
  // certificate (*.s3.amazonaws.com) covers one label only.
  const bool dotted = bucket.find('.') != std::string_view::npos;
  target.path_style = options.path_style || ip_literal || (dotted && tls);
  return target;
}

}  // namespace hx::target_uri_internal
