#include "store/target_uri.h"

#include <optional>
#include <string>
#include <vector>

#include "base/hex.h"
#include "store/target_uri_internal.h"

namespace hx {
namespace target_uri_internal {
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

std::optional<std::string> ParseHostPort(std::string_view authority, HostPort& out) {
  out = HostPort();
  if (authority.empty()) return "names no host";
  std::string_view host;
  std::string_view port_part;  // what follows the host: "" or ":digits"
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    const std::string_view inside =
        close == std::string_view::npos ? std::string_view() : authority.substr(1, close - 1);
    bool valid = !inside.empty() && inside.find(':') != std::string_view::npos;
    for (const char c : inside) valid = valid && (IsHexDigit(c) || c == ':' || c == '.');
    if (!valid) return "has an invalid IPv6 address (write it as [::1])";
    host = authority.substr(0, close + 1);
    port_part = authority.substr(close + 1);
    out.ip_literal = true;
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    port_part = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    if (!IsValidHostName(host)) return "has an invalid host name '" + Printable(host, 64) + "'";
    out.ip_literal = LooksLikeIpv4(host);
  }
  if (!port_part.empty()) {
    const std::string_view digits = port_part.substr(1);
    bool valid = port_part.front() == ':' && !digits.empty() && digits.size() <= 5;
    int port = 0;
    for (const char c : digits) {
      valid = valid && IsDigit(c);
      if (valid) port = port * 10 + (c - '0');
    }
    if (!valid || port < 1 || port > 65535) {
      return "has an invalid port (write host:port with a port from 1 to 65535)";
    }
    out.port = port;
  }
  out.host = ToLowerAscii(host);
  return std::nullopt;
}

}  // namespace target_uri_internal

using target_uri_internal::HexByte;
using target_uri_internal::IsAlpha;
using target_uri_internal::IsControl;
using target_uri_internal::IsDigit;
using target_uri_internal::IsHexDigit;
using target_uri_internal::IsValidUtf8;
using target_uri_internal::kMaxPathBytes;
using target_uri_internal::kMaxSegmentBytes;
using target_uri_internal::kMaxShownBytes;
using target_uri_internal::kMaxUriBytes;
using target_uri_internal::kSupportedForms;
using target_uri_internal::ParseHubUri;
using target_uri_internal::ParseS3Uri;
using target_uri_internal::Printable;
using target_uri_internal::SchemeOf;
using target_uri_internal::TargetInvalid;
using target_uri_internal::TargetUnsupported;
using target_uri_internal::TextProblem;
using target_uri_internal::ToLowerAscii;

namespace {

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
    const auto byte = static_cast<unsigned char>(HexDigitValue(path[i + 1]) * 16 +
                                                 HexDigitValue(path[i + 2]));
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

// Characters kept as-is in a canonical file URI path: RFC 3986 pchar without
// '%' (unreserved, sub-delims, ':' and '@') plus '/', and every non-ASCII
// byte (UTF-8 stays readable, as in an IRI, RFC 3987).
bool IsFileUriPathChar(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) return true;
  if (IsAlpha(c) || IsDigit(c)) return true;
  return std::string_view("-._~!$&'()*+,;=:@/").find(c) != std::string_view::npos;
}

}  // namespace

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
