// Target URIs: the one place where the text a user types to name a store
// (`--store`, the seed's `target_uri`) becomes a typed, validated Target.
//
// Accepted forms (the full grammar and every rule: docs/FORMAT.md, "Target URIs"):
//   /abs/path, rel/path          a folder store (relative to a caller-given cwd)
//   file:///abs/path             a folder store (percent-encoded)
//   s3://bucket/prefix           AWS S3 (region from --region, default us-east-1)
//   s3+endpoint://bucket/prefix  any S3-compatible server (--endpoint required)
//   hxs://host[:port]/vault      a vault on an hx hub over HTTPS (hx serve)
//   hx://host[:port]/vault       the same over plain HTTP, loopback only (tests)
// Any other scheme is KC_SYNC_TARGET_UNSUPPORTED; a malformed target of a
// supported scheme is KC_SYNC_TARGET_INVALID. Parsing is pure: no file system,
// network or environment access, so it is deterministic and safe on untrusted
// input (bounded work, no crash).
//
// A Target has one canonical text form, ToUri() plus Options(), which hx
// records at `sync init`: parsing it again gives an equal Target.
//
// Thread-safety: plain values and pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hx {

// The region used for s3:// and s3+endpoint:// when --region is not given.
inline constexpr std::string_view kDefaultS3Region = "us-east-1";
// The longest S3 prefix accepted, in bytes: "<prefix>/" plus a key name of up
// to 255 bytes (hx's own names are at most ~120) stays within S3's 1024-byte
// key limit, with room for future layouts.
inline constexpr std::size_t kMaxS3PrefixBytes = 768;

// The settings of an S3 target that the URI does not carry (CLI flags
// --endpoint, --path-style, --region). All empty/false for a folder target.
struct TargetOptions {
  // s3+endpoint:// only: "http://host[:port]" or "https://host[:port]".
  std::string endpoint;
  // Address the bucket in the path (https://host/bucket/key) instead of the
  // host name (https://bucket.host/key). Needed by most self-hosted servers.
  bool path_style = false;
  // The SigV4 signing region; empty means kDefaultS3Region.
  std::string region;

  bool operator==(const TargetOptions&) const = default;
};

enum class TargetKind { kFolder, kS3, kHub };

// A validated store location. Construct only through ParseTargetUri; every
// field is then in canonical form.
struct Target {
  TargetKind kind = TargetKind::kFolder;
  // kFolder: absolute, lexically normalized ("/" never; no trailing slash,
  // no empty, "." or ".." segments), valid UTF-8.
  std::string path;
  // kS3: a valid bucket name, and a prefix without leading or trailing '/'
  // (may be empty) made of safe key characters.
  std::string bucket;
  std::string prefix;
  // kS3: "" for AWS, else the canonical "http[s]://host[:port]" (lowercase
  // host, no default port, no trailing slash).
  std::string endpoint;
  // kS3: the user's --path-style, or true where virtual-hosted addressing
  // cannot work (see docs/FORMAT.md, "Target URIs").
  bool path_style = false;
  // kS3: the signing region, never empty.
  std::string region;
  // kHub: "host:port" (lowercase host name or IP literal, IPv6 in brackets;
  // the port always given: 443 for hxs, 80 for hx when the URI has none),
  // the vault's name on the hub (1 to 63 of [a-z0-9-], not starting with
  // '-'), and whether the hub is reached over TLS (hxs://).
  std::string hub_host;
  std::string vault;
  bool hub_tls = false;

  bool operator==(const Target&) const = default;

  // The canonical URI: "file:///abs/path" (ASCII characters that are not
  // RFC 3986 path characters percent-encoded, UTF-8 kept as is),
  // "s3://bucket[/prefix]", "s3+endpoint://bucket[/prefix]" or
  // "hx[s]://host:port/vault". For every
  // Target t and any cwd: ParseTargetUri(t.ToUri(), t.Options(), cwd) == t.
  std::string ToUri() const;
  // The options that, with ToUri(), reproduce this Target.
  TargetOptions Options() const;
  // Where the store-relative `name` lives: "<path>/<name>" for a folder,
  // the object key "<prefix>/<name>" (or "<name>" if the prefix is empty) for
  // S3, "<vault>/<name>" (the key in the hub's backing store) for a hub. Precondition: `name` is a non-empty relative key chosen by hx
  // ("head.json", "blobs/ab/cd/<id>"), not user input.
  std::string KeyFor(std::string_view name) const;
};

// Parses `uri` (what the user typed, untrusted) with the S3 settings in
// `options`. `cwd` is the absolute directory a relative plain path is
// resolved against (the caller passes the process's working directory; the
// parser never reads it itself); it is only used for relative plain paths.
// On failure returns an Error with code KC_SYNC_TARGET_UNSUPPORTED (category
// unsupported) for a scheme hx does not handle, or KC_SYNC_TARGET_INVALID
// (category invalid_input) for anything malformed, with a message that says
// what is wrong and what a valid form looks like, and details {"uri":
// RedactTargetUri(uri)} (plus "endpoint" when the endpoint is at fault).
// Messages and details never contain credentials found in the input.
Result<Target> ParseTargetUri(std::string_view uri, const TargetOptions& options,
                              std::string_view cwd);

// `uri` made safe to show or log: user information ("user:secret@") and any
// query or fragment replaced by "***", control characters
// and invalid UTF-8 bytes written as \xNN, and cut (at a character boundary)
// after 256 bytes with "...". Always valid UTF-8.
std::string RedactTargetUri(std::string_view uri);

}  // namespace hx
