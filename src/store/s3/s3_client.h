// The S3 REST protocol under the S3 store: where a bucket and a key live on
// the wire (path-style or virtual-hosted-style URLs), signing every request
// with SigV4 (the real payload hash, always), and turning S3's error replies
// into hx Errors with the seed's codes and categories and a message that
// says what to check. It knows nothing of hx's keys or of the Store
// interface; S3Store (s3_store.h) builds on it.
//
// Error mapping (docs/ERRORS.md, "S3 errors"):
//   403, InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, expired or
//     invalid tokens, AuthorizationHeaderMalformed   KC_SYNC_AUTH_FAILED  auth
//   NoSuchBucket                                      KC_SYNC_TARGET_INVALID not_found
//   3xx but 304 (301 PermanentRedirect: another region; 307 to another
//     endpoint)                                       KC_SYNC_TARGET_INVALID invalid_input
//   NoSuchKey, NoSuchUpload, other 404s               KC_SYNC_STATE_FAILED  not_found
//   412 PreconditionFailed, 409 ConditionalRequestConflict
//                                                     KC_SYNC_STATE_FAILED  aborted
//   429, 503, SlowDown                                KC_SYNC_NETWORK_FAILED throttling
//   RequestTimeout, 408                               KC_SYNC_NETWORK_FAILED timeout
//   other 5xx, transport failures                     KC_SYNC_NETWORK_FAILED network
//   501 NotImplemented                                KC_SYNC_TARGET_UNSUPPORTED unsupported
//   other 4xx                                         KC_SYNC_STATE_FAILED  internal
// Every error carries details http_status and s3_code (when known); none
// carries a credential.
//
// Thread-safety: thread-safe (the HTTP client is; the rest is immutable).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "store/s3/http_client.h"
#include "store/s3/sigv4.h"

namespace hx::s3 {

struct S3Endpoint {
  // "http[s]://host[:port]", no trailing slash.
  std::string base_url;
  // Bucket in the path (https://host/bucket/key) instead of the host name.
  bool path_style = false;
  std::string region;
  std::string bucket;
};

struct S3Request {
  std::string method;
  // The object key, not encoded; "" for a bucket-level request.
  std::string key;
  // Decoded query parameters ("uploads" has an empty value).
  std::vector<std::pair<std::string, std::string>> query;
  // Extra headers to send and sign (Range, If-Match, ...).
  HttpHeaders headers;
  std::span<const std::uint8_t> body;
  std::uint64_t max_response_bytes = 1 << 20;
};

class S3Client {
 public:
  // Requests are signed with the wall time of http.clock (null: the real
  // clock; S3 refuses requests more than 15 minutes off), which also times
  // the HTTP client's deadlines.
  S3Client(S3Endpoint endpoint, AwsCredentials credentials, HttpOptions http = {});

  // Sends the request. A 2xx (or 304) reply is returned as is; any other
  // status becomes an Error as mapped at the top of this file, and so does a
  // 200 whose body is an <Error> document (CompleteMultipartUpload may
  // answer that way). Every request carries the current correlation id
  // (obs/log.h) in the unsigned header x-hx-correlation-id, is counted in
  // HttpOptions::meter and the process's metrics (a listing GET as LIST),
  // and logged at debug level (method, key, status, bytes; keys are hashes,
  // never file names); a failure is logged at warn level.
  Result<HttpResponse> Send(const S3Request& request) const;

  // The URL (without query) of a key, for messages: "s3+endpoint://..."-free,
  // the plain HTTP address.
  std::string UrlOf(const std::string& key) const;
  const S3Endpoint& endpoint() const { return endpoint_; }
  // Monotonic milliseconds of the HTTP client's clock.
  std::int64_t NowMs() const { return http_.NowMs(); }

 private:
  S3Endpoint endpoint_;
  AwsCredentials credentials_;
  std::string scheme_;  // "http" or "https"
  std::string host_;    // host[:port] of the endpoint
  mutable HttpClient http_;
  std::shared_ptr<obs::RequestMeter> meter_;

  Result<HttpResponse> SendOnce(const S3Request& request) const;
};

// Maps an S3 error reply (status, the <Code> and <Message> of its body) to an
// Error; `what` names the request for the message ("GET blobs/ab/..").
// `redirect_hint` (a redirect's region or Location, as the reply names them)
// goes into a redirect's message.
Error MapS3Error(long status, const std::string& s3_code, const std::string& s3_message,
                 const std::string& what, const S3Endpoint& endpoint,
                 const std::string& redirect_hint = "");

}  // namespace hx::s3
