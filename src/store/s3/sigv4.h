// AWS Signature Version 4 (header signing), written from the published
// specification: the canonical request, the string to sign, the signing-key
// chain of HMAC-SHA256s and the Authorization header. The S3 store signs every
// request with it; it is proved against the AWS test suites in
// ../shared/vectors (sigv4/, sigv4_crt/v4/, s3_sigv4_examples.json).
//
// S3 differs from other services in two ways that are options here: the path
// is encoded once and never normalized (normalize_path = false), and the
// payload hash is sent as x-amz-content-sha256 and signed
// (add_content_sha256_header = true). hx always signs the real payload hash;
// it never sends UNSIGNED-PAYLOAD.
//
// Secrets: the secret key only enters HMAC computations; nothing this file
// returns contains it. The session token does appear in the headers to send
// (x-amz-security-token), as AWS requires.
//
// Thread-safety: pure functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hash/sha256.h"

namespace hx::s3 {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  // Empty for long-term keys; set for temporary (STS) credentials.
  std::string session_token;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The request to sign, as the caller will send it.
struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // The path, NOT percent-encoded ("/bucket/my key"): the signer encodes it
  // (UriEncodePath) exactly as it must be sent on the wire.
  std::string path;
  // Query parameters, decoded, in any order; a parameter without a value
  // ("?uploads") has an empty value.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to send and sign, names in any case; repeated names are allowed
  // (their values are joined with ',' in order). Must include Host.
  HttpHeaders headers;
  // Lowercase hex SHA-256 of the body (PayloadSha256Hex).
  std::string payload_sha256_hex;
};

struct SigV4Options {
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
  // The request time, "YYYYMMDDTHHMMSSZ" (AmzDate). An input, never read
  // from a clock here.
  std::string amz_date;
  // Remove "." and ".." segments and empty segments from the path before
  // signing (every service but S3).
  bool normalize_path = false;
  // Add x-amz-content-sha256 (S3 requires it).
  bool add_content_sha256_header = true;
  // Sign the session token (x-amz-security-token); when false it is added
  // to the request after signing (a few services want that).
  bool sign_session_token = true;
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the value of the Authorization header
  // Headers the signer added (x-amz-date, x-amz-content-sha256,
  // x-amz-security-token, and Authorization last): send them too.
  HttpHeaders added_headers;
};

// Signs `request`. Headers named x-amz-date, x-amz-content-sha256 or
// x-amz-security-token already in the request are kept and not added again.
SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                      const SigV4Options& options);

// RFC 3986 percent-encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ kept,
// every other byte %XX (uppercase). UriEncodePath also keeps '/'.
std::string UriEncode(std::string_view text);
std::string UriEncodePath(std::string_view path);

// The canonical query string of decoded parameters: each name and value
// UriEncoded, sorted by name then value, joined as "a=1&b=2".
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// kSecret = "AWS4" + secret; HMAC chain over date ("YYYYMMDD"), region,
// service, "aws4_request".
Sha256Digest SigningKey(std::string_view secret, std::string_view date_stamp,
                        std::string_view region, std::string_view service);

// "YYYYMMDDTHHMMSSZ" for a Unix time in seconds (UTC).
std::string AmzDate(std::int64_t unix_seconds);

// Lowercase hex SHA-256 of a body.
std::string PayloadSha256Hex(std::span<const std::uint8_t> body);

}  // namespace hx::s3
