// What the target parser's three files share (target_uri.cc: folders, file
// URIs, the dispatch and redaction; target_uri_s3.cc: S3 targets and
// --endpoint; target_uri_hub.cc: hub targets). Internal to src/store: not a
// public header.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/hex.h"
#include "store/target_uri.h"

namespace hx::target_uri_internal {

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

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
inline bool IsUpperAlpha(char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsAlpha(char c) { return IsLowerAlpha(c) || IsUpperAlpha(c); }
inline bool IsHexDigit(char c) { return HexDigitValue(c) >= 0; }
inline bool IsControl(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b < 0x20 || b == 0x7F;
}

std::string ToLowerAscii(std::string_view text);
bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix);
// `text` made safe to put in a message (see target_uri.cc), cut after
// `max_bytes`.
std::string Printable(std::string_view text, std::size_t max_bytes);
Error TargetInvalid(std::string_view uri, std::string message);
Error TargetUnsupported(std::string_view uri, std::string message);
// True for four dot-separated groups of 1-3 digits ("192.168.5.4").
bool LooksLikeIpv4(std::string_view text);

// A host and port as written in an authority: "host", "host:port",
// "[v6]" or "[v6]:port". `host` is lowercased (an IPv6 address keeps its
// brackets); `port` is 0 when none is written.
struct HostPort {
  std::string host;
  int port = 0;
  bool ip_literal = false;
};
// Parses `authority` into `out`; on failure, what is wrong as a phrase that
// follows the thing's name ("has an invalid port (...)"). Host names are DNS
// labels of letters, digits, '-' and '_'; ports 1 to 65535.
std::optional<std::string> ParseHostPort(std::string_view authority, HostPort& out);

// `rest` is what follows "s3:" or "s3+endpoint:" (target_uri_s3.cc).
Result<Target> ParseS3Uri(std::string_view uri, std::string_view rest,
                          const TargetOptions& options, bool custom);
// `rest` is what follows "hx:" or "hxs:" (target_uri_hub.cc).
Result<Target> ParseHubUri(std::string_view uri, std::string_view rest,
                           const TargetOptions& options, bool tls);

}  // namespace hx::target_uri_internal
