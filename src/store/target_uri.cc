#include "store/target_uri.h"

#include <optional>
#include <string>
#include <vector>

namespace hx {
namespace {

// Bounds. A target is typed by a person; 8 KiB is generous and keeps the work
// on hostile input small. Folder paths follow Linux's PATH_MAX (4096 with the
// terminating NUL) and NAME_MAX, so a path we accept can actually be opened.
constexpr std::size_t kMaxUriBytes = 8192;
constexpr std::size_t kMaxPathBytes = 4095;
constexpr std::size_t kMaxSegmentBytes = 255;
constexpr std::size_t kMaxEndpointBytes = 2048;
constexpr std::size_t kMaxRegionBytes = 63;
constexpr std::size_t kMaxHostBytes = 253;
constexpr std::size_t kMaxHostLabelBytes = 63;
constexpr std::size_t kMaxShownBytes = 256;

constexpr std::string_view kSupportedForms =
    "use a plain path, file:///abs/path, s3://bucket/prefix, "
    "s3+endpoint://bucket/prefix with --endpoint, or hxs://host:port/vault";
constexpr std::string_view kCredentialsHint =
    "provide credentials through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "or AWS_PROFILE";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpperAlpha(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsLowerAlpha(c) || IsUpperAlpha(c); }
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsControl(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b < 0x20 || b == 0x7F;
}
char ToLowerAscii(char c) { return IsUpperAlpha(c) ? static_cast<char>(c - 'A' + 'a') : c; }
std::string ToLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         ToLowerAscii(text.substr(0, prefix.size())) == prefix;
}
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return ToLowerAscii(c) - 'a' + 10;
}
std::string HexByte(unsigned char b) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  return {kHex[b >> 4], kHex[b & 0xF]};
}

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return 0;
  }
  return length;
}

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// `text` made safe to put in a message: control characters and bytes that are
// not well-formed UTF-8 become \xNN, and it is cut at a character boundary
// after `max_bytes`. The result is always valid UTF-8, which the JSON writer
// of Error requires.
std::string Printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const std::size_t length = IsControl(text[i]) ? 0 : Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\\x";
      out += HexByte(static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

// The scheme of `uri` per RFC 3986 (ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")
// followed by ':'), or nullopt when `uri` does not start with one and is
// therefore a plain path.
std::optional<std::string_view> SchemeOf(std::string_view uri) {
  if (uri.empty() || !IsAlpha(uri[0])) return std::nullopt;
  for (std::size_t i = 1; i < uri.size(); ++i) {
    const char c = uri[i];
    if (c == ':') return uri.substr(0, i);
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') break;
  }
  return std::nullopt;
}

Error TargetInvalid(std::string_view uri, std::string message) {
  return Error(SyncCode::kTargetInvalid, Category::kInvalidInput, std::move(message))
      .With("uri", RedactTargetUri(uri));
}

Error TargetUnsupported(std::string_view uri, std::string message) {
  return Error(SyncCode::kTargetUnsupported, Category::kUnsupported, std::move(message))
      .With("uri", RedactTargetUri(uri));
}

// A message if `text` holds a control character or is not UTF-8. Control
// characters are refused everywhere: they cannot be typed on purpose, they
// corrupt terminals and logs, and NUL would silently cut a path short.
std::optional<std::string> TextProblem(std::string_view what, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (IsControl(text[i])) {
      return std::string(what) + " contains a control character (byte 0x" +
             HexByte(static_cast<unsigned char>(text[i])) + " at offset " +
             std::to_string(i) + "); control characters are never valid in a target";
    }
  }
  if (!IsValidUtf8(text)) {
    return std::string(what) + " is not valid UTF-8; hx records targets as UTF-8 text";
  }
  return std::nullopt;
}

// True for four dot-separated groups of 1-3 digits ("192.168.5.4"): S3 refuses
// such bucket names, and such a host cannot take a bucket as a subdomain.
bool LooksLikeIpv4(std::string_view text) {
  int groups = 0;
  std::size_t digits = 0;
  for (const char c : text) {
    if (IsDigit(c)) {
      if (++digits > 3) return false;
    } else if (c == '.') {
      if (digits == 0) return false;
      ++groups;
      digits = 0;
    } else {
      return false;
    }
  }
  return digits > 0 && groups == 3;
}

// ---------------------------------------------------------------- folders

// Lexical normalization of an absolute path: empty and "." segments are
// dropped and ".." removes the previous segment (at the root it stays at the
// root, as the kernel does). Lexical, like `cd -L` and `realpath -s`: the
// parser never touches the file system, so "/a/link/.." is "/a" even when
// "link" is a symbolic link.
Result<std::string> NormalizeAbsolutePath(std::string_view uri, std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    start = end + 1;
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    if (segment.size() > kMaxSegmentBytes) {
      return TargetInvalid(uri, "a folder name in the path is " +
                                    std::to_string(segment.size()) +
                                    " bytes long; file systems allow at most 255");
    }
    segments.push_back(segment);
  }
  if (segments.empty()) {
    return TargetInvalid(uri,
                         "the target is the file system root '/'; name a folder "
                         "for the store, e.g. /mnt/backup/hx-store");
  }
  std::string normalized;
  for (const std::string_view segment : segments) {
    normalized += '/';
    normalized.append(segment);
  }
  if (normalized.size() > kMaxPathBytes) {
    return TargetInvalid(uri, "the folder path is " + std::to_string(normalized.size()) +
                                  " bytes long; at most 4095 are allowed");
  }
  return normalized;
}

// S3 settings given with a folder target are refused rather than ignored:
// "hx sync init --store bucket/prefix --region eu-west-1" almost certainly
// meant s3://bucket/prefix, and would otherwise create a local folder.
Status CheckNoS3Options(std::string_view uri, const TargetOptions& options) {
  std::vector<std::string_view> given;
  if (!options.endpoint.empty()) given.push_back("--endpoint");
  if (options.path_style) given.push_back("--path-style");
  if (!options.region.empty()) given.push_back("--region");
  if (given.empty()) return OkStatus();
  std::string flags;
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (i > 0) flags += i + 1 == given.size() ? " and " : ", ";
    flags.append(given[i]);
  }
  return TargetInvalid(uri, flags + (given.size() == 1 ? " applies" : " apply") +
                                " only to S3 targets, but this target is a local folder; "
                                "for S3 write s3://bucket/prefix or "
                                "s3+endpoint://bucket/prefix");
}

Result<Target> FolderTarget(std::string_view uri, std::string_view absolute_path,
                            const TargetOptions& options) {
  HX_RETURN_IF_ERROR(CheckNoS3Options(uri, options));
  Target target;
  target.kind = TargetKind::kFolder;
  HX_ASSIGN_OR_RETURN(target.path, NormalizeAbsolutePath(uri, absolute_path));
  return target;
}

Result<Target> ParsePlainPath(std::string_view uri, const TargetOptions& options,
                              std::string_view cwd) {
  if (uri[0] == '~') {
    return TargetInvalid(uri,
                         "'~' is not expanded in a target; write the full path "
                         "(e.g. /home/me/store), or ./~name for a folder really "
                         "named so");
  }
  if (uri[0] == '/') return FolderTarget(uri, uri, options);
  if (cwd.empty() || cwd[0] != '/') {
    return TargetInvalid(uri,
                         "a relative path needs an absolute working directory to "
                         "resolve against, and none was given; write an absolute "
                         "path");
  }
  if (auto problem = TextProblem("the working directory", cwd)) {
    return TargetInvalid(uri, *problem);
  }
  std::string joined(cwd);
  joined += '/';
  joined.append(uri);
  return FolderTarget(uri, joined, options);
}

// Percent-decoding of a file URI path (RFC 3986 section 2.1). A decoded '/'
// would be a slash inside a file name, which no POSIX file system allows, and
// a decoded control character is as invalid as a literal one.
Result<std::string> PercentDecodePath(std::string_view uri, std::string_view path) {
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded += path[i];
      continue;
    }
    if (path.size() - i < 3 || !IsHexDigit(path[i + 1]) || !IsHexDigit(path[i + 2])) {
      return TargetInvalid(uri,
                           "a '%' in a file URI must start a percent-encoded byte "
                           "such as %20; write a literal '%' as %25");
    }
    const auto byte = static_cast<unsigned char>(HexValue(path[i + 1]) * 16 +
                                                 HexValue(path[i + 2]));
    if (IsControl(static_cast<char>(byte))) {
      return TargetInvalid(uri, "the file URI encodes a control character (%" +
                                    HexByte(byte) +
                                    "), which is never valid in a path");
    }
    if (byte == '/') {
      return TargetInvalid(uri,
                           "%2F in a file URI would put a '/' inside a folder "
                           "name; separate folders with a literal '/'");
    }
    decoded += static_cast<char>(byte);
    i += 2;
  }
  if (!IsValidUtf8(decoded)) {
    return TargetInvalid(uri, "the file URI's path does not decode to valid UTF-8");
  }
  return decoded;
}

// `rest` is what follows "file:".
Result<Target> ParseFileUri(std::string_view uri, std::string_view rest,
                            const TargetOptions& options) {
  if (!rest.starts_with("//")) {
    return TargetInvalid(uri,
                         "a file URI is written file:///abs/path (with three "
                         "slashes); or write the plain path");
  }
  rest.remove_prefix(2);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return TargetInvalid(uri,
                         "a file URI takes no query ('?') or fragment ('#'); in a "
                         "folder name write them as %3F and %23");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return TargetInvalid(uri,
                         "a file URI takes no user name or password; write "
                         "file:///abs/path");
  }
  if (!authority.empty() && ToLowerAscii(authority) != "localhost") {
    if (path.empty()) {
      return TargetInvalid(uri, "file://" + Printable(authority, 64) +
                                    " has no absolute path (the path starts at the "
                                    "third slash); write file:///abs/path, or a "
                                    "plain relative path");
    }
    return TargetInvalid(uri, "file URIs naming a host ('" + Printable(authority, 64) +
                                  "') are not supported; mount the share and "
                                  "write file:///mount/point/path");
  }
  if (path.empty()) {
    return TargetInvalid(uri, "the file URI has no path; write file:///abs/path");
  }
  HX_ASSIGN_OR_RETURN(const std::string decoded, PercentDecodePath(uri, path));
  return FolderTarget(uri, decoded, options);
}

// ---------------------------------------------------------------- S3

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

// Validates a host name (DNS labels of letters, digits, '-' and '_' -- the
// latter for container names such as "minio_1").
bool IsValidHostName(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    const std::string_view label = host.substr(start, end - start);
    start = end + 1;
    if (label.empty() || label.size() > kMaxHostLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_') return false;
    }
  }
  return true;
}

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
  if (authority.empty()) return fail("names no host");

  std::string_view host;
  std::string_view port_part;  // what follows the host: "" or ":digits"
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    const std::string_view inside =
        close == std::string_view::npos ? std::string_view() : authority.substr(1, close - 1);
    bool valid = !inside.empty() && inside.find(':') != std::string_view::npos;
    for (const char c : inside) valid = valid && (IsHexDigit(c) || c == ':' || c == '.');
    if (!valid) return fail("has an invalid IPv6 address (write it as [::1])");
    host = authority.substr(0, close + 1);
    port_part = authority.substr(close + 1);
    endpoint.ip_literal = true;
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    port_part = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (!IsValidHostName(host)) {
      return fail("has an invalid host name '" + Printable(host, 64) + "'");
    }
    endpoint.ip_literal = LooksLikeIpv4(host);
  }
  int port = 0;
  if (!port_part.empty()) {
    const std::string_view digits = port_part.substr(1);
    bool valid = port_part.front() == ':' && !digits.empty() && digits.size() <= 5;
    for (const char c : digits) {
      valid = valid && IsDigit(c);
      if (valid) port = port * 10 + (c - '0');
    }
    if (!valid || port < 1 || port > 65535) {
      return fail("has an invalid port (write host:port with a port from 1 to 65535)");
    }
  }
  endpoint.canonical = endpoint.tls ? "https://" : "http://";
  endpoint.canonical += ToLowerAscii(host);
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

// Characters kept as-is in a canonical file URI path: RFC 3986 pchar without
// '%' (unreserved, sub-delims, ':' and '@') plus '/', and every non-ASCII
// byte (UTF-8 stays readable, as in an IRI, RFC 3987).
bool IsFileUriPathChar(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) return true;
  if (IsAlpha(c) || IsDigit(c)) return true;
  return std::string_view("-._~!$&'()*+,;=:@/").find(c) != std::string_view::npos;
}

}  // namespace

// hxs://host[:port]/vault and hx://host[:port]/vault (docs/FORMAT.md).
Result<Target> ParseHubUri(std::string_view uri, std::string_view rest,
                           const TargetOptions& options, bool tls) {
  const std::string scheme = tls ? "hxs" : "hx";
  const std::string form = "write " + scheme + "://host[:port]/vault, e.g. " + scheme +
                           "://hub.example.com:8443/team-notes";
  if (!options.endpoint.empty() || options.path_style || !options.region.empty()) {
    return TargetInvalid(uri, "--endpoint, --path-style and --region are for S3 targets; a hub "
                              "target needs none of them");
  }
  if (!rest.starts_with("//")) return TargetInvalid(uri, "a hub target starts with " + scheme + "://; " + form);
  rest.remove_prefix(2);
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return TargetInvalid(uri, "a hub target has no user, query or fragment (give a pinned "
                              "certificate with HX_HUB_CA, a token by enrolling); " + form);
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return TargetInvalid(uri, "the hub target names no vault; " + form);
  std::string_view authority = rest.substr(0, slash);
  std::string_view vault = rest.substr(slash + 1);
  if (!vault.empty() && vault.back() == '/') vault.remove_suffix(1);
  if (vault.empty() || vault.size() > 63 || vault.front() == '-') {
    return TargetInvalid(uri, "the vault name must be 1 to 63 characters of a-z, 0-9 and '-' "
                              "(not first); " + form);
  }
  for (const char c : vault) {
    if (!IsLowerAlpha(c) && !IsDigit(c) && c != '-') {
      return TargetInvalid(uri, "the vault name must be 1 to 63 characters of a-z, 0-9 and '-' "
                                "(not first); " + form);
    }
  }
  std::string host;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return TargetInvalid(uri, "the hub's IPv6 address has no ']'; " + form);
    host = ToLowerAscii(authority.substr(0, close + 1));
    for (const char c : host.substr(1, host.size() - 2)) {
      if (!IsHexDigit(c) && c != ':' && c != '.') return TargetInvalid(uri, "the hub's IPv6 address is malformed; " + form);
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return TargetInvalid(uri, "the hub's address is malformed; " + form);
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = ToLowerAscii(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty() || host.size() > kMaxHostBytes) return TargetInvalid(uri, "the hub target names no host; " + form);
    for (const char c : host) {
      if (!IsLowerAlpha(c) && !IsDigit(c) && c != '-' && c != '.') {
        return TargetInvalid(uri, "the hub's host name has a character other than a-z, 0-9, '-' and '.'; " + form);
      }
    }
  }
  unsigned port_value = tls ? 443 : 80;
  if (has_port) {
    if (port.empty() || port.size() > 5) return TargetInvalid(uri, "the hub's port must be 1 to 65535; " + form);
    port_value = 0;
    for (const char c : port) {
      if (!IsDigit(c)) return TargetInvalid(uri, "the hub's port must be 1 to 65535; " + form);
      port_value = port_value * 10 + static_cast<unsigned>(c - '0');
    }
    if (port_value == 0 || port_value > 65535) return TargetInvalid(uri, "the hub's port must be 1 to 65535; " + form);
  }
  Target target;
  target.kind = TargetKind::kHub;
  target.hub_host = host + ":" + std::to_string(port_value);
  target.vault = std::string(vault);
  target.hub_tls = tls;
  return target;
}

Result<Target> ParseTargetUri(std::string_view uri, const TargetOptions& options,
                              std::string_view cwd) {
  if (uri.empty()) {
    return TargetInvalid(uri, "the target is empty; " + std::string(kSupportedForms));
  }
  if (uri.size() > kMaxUriBytes) {
    return TargetInvalid(uri, "the target is " + std::to_string(uri.size()) +
                                  " bytes long; at most 8192 are accepted");
  }
  // Checked before control characters so that a pasted "\n" gets this message.
  constexpr std::string_view kWhitespace = " \t\n\r\v\f";
  if (kWhitespace.find(uri.front()) != std::string_view::npos ||
      kWhitespace.find(uri.back()) != std::string_view::npos) {
    return TargetInvalid(uri,
                         "the target starts or ends with whitespace; remove it "
                         "(a folder name with a leading or trailing space is "
                         "written percent-encoded, file:///a/%20b)");
  }
  if (auto problem = TextProblem("the target", uri)) return TargetInvalid(uri, *problem);

  const std::optional<std::string_view> scheme = SchemeOf(uri);
  if (!scheme) return ParsePlainPath(uri, options, cwd);
  // Schemes are case-insensitive (RFC 3986 section 3.1).
  const std::string lower = ToLowerAscii(*scheme);
  const std::string_view rest = uri.substr(scheme->size() + 1);
  if (lower == "file") return ParseFileUri(uri, rest, options);
  if (lower == "s3") return ParseS3Uri(uri, rest, options, /*custom=*/false);
  if (lower == "s3+endpoint") return ParseS3Uri(uri, rest, options, /*custom=*/true);
  if (lower == "hx" || lower == "hxs") return ParseHubUri(uri, rest, options, lower == "hxs");
  std::string message = "the scheme '" + Printable(*scheme, 32) +
                        ":' is not supported; " + std::string(kSupportedForms);
  if (!rest.starts_with("//")) {
    // "backup:2024" is read as a scheme; say how to mean the folder.
    message += " (for a local folder whose name has a ':', write ./" +
               Printable(*scheme, 32) + ":...)";
  }
  return TargetUnsupported(uri, std::move(message));
}

std::string RedactTargetUri(std::string_view uri) {
  const std::optional<std::string_view> scheme = SchemeOf(uri);
  if (!scheme) return Printable(uri, kMaxShownBytes);
  std::string_view rest = uri.substr(scheme->size() + 1);
  std::string shown(*scheme);
  shown += ':';
  // A query or fragment may carry a token (a presigned URL's signature).
  const std::size_t query = rest.find_first_of("?#");
  std::string tail;
  if (query != std::string_view::npos) {
    tail = std::string(1, rest[query]) + "***";
    rest = rest.substr(0, query);
  }
  if (rest.starts_with("//")) {
    shown += "//";
    rest.remove_prefix(2);
  }
  // User information ends at the last '@'. For a non-file URI the whole rest
  // is searched, since a secret may contain '/' and end the authority early;
  // a file URI's path may hold '@' legitimately, so only its authority is.
  const bool is_file = ToLowerAscii(*scheme) == "file";
  const std::size_t at = is_file ? rest.substr(0, rest.find('/')).rfind('@') : rest.rfind('@');
  if (at != std::string_view::npos) {
    shown += "***";
    rest.remove_prefix(at);
  }
  shown.append(rest);
  shown += tail;
  return Printable(shown, kMaxShownBytes);
}

std::string Target::ToUri() const {
  if (kind == TargetKind::kHub) return (hub_tls ? "hxs://" : "hx://") + hub_host + "/" + vault;
  if (kind == TargetKind::kFolder) {
    std::string uri = "file://";
    for (const char c : path) {
      if (IsFileUriPathChar(c)) {
        uri += c;
      } else {
        uri += '%';
        uri += HexByte(static_cast<unsigned char>(c));
      }
    }
    return uri;
  }
  std::string uri = endpoint.empty() ? "s3://" : "s3+endpoint://";
  uri += bucket;
  if (!prefix.empty()) {
    uri += '/';
    uri += prefix;
  }
  return uri;
}

TargetOptions Target::Options() const {
  TargetOptions options;
  if (kind == TargetKind::kS3) {
    options.endpoint = endpoint;
    options.path_style = path_style;
    options.region = region;
  }
  return options;
}

std::string Target::KeyFor(std::string_view name) const {
  const std::string& base =
      kind == TargetKind::kFolder ? path : kind == TargetKind::kHub ? vault : prefix;
  if (base.empty()) return std::string(name);
  std::string key = base;
  key += '/';
  key.append(name);
  return key;
}

}  // namespace hx
