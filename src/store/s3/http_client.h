// A small blocking HTTP/1.1 client over libcurl, for the S3 store: one call
// sends one request and returns the status, the headers and a bounded body.
// It keeps a pool of curl handles, so concurrent calls each get their own
// handle and a finished handle (with its open connection) is reused by the
// next call: connection reuse without a shared-connection lock.
//
// Every wait is bounded, and so is every allocation a server can cause
// (docs/ERRORS.md, "Network bounds"):
//   connect     connect_timeout_ms to establish TCP (and TLS)
//   rate        a transfer averaging below min_bytes_per_second over
//               rate_window_seconds is a stall (a silent or trickling server)
//   deadline    each request ends by request_base_ms + (bytes sent + bytes
//               announced in the reply) / min_bytes_per_second, so a small
//               object is never allowed the time of a large one
//   command     past command_deadline_ms after the client was made, every
//               request fails at once, and one in flight is cut off
//   bodies      a 2xx body stops at the request's max_response_bytes (an
//               error), an error body at 64 KiB (the transfer is aborted,
//               the status and the first 64 KiB are the reply)
//
// Transport failures are Errors with retryable categories: kTimeout for a
// connect timeout, a stall or a passed request deadline, kNetwork for refused
// or reset connections, replies cut inside their headers and bodies cut
// short. A passed command deadline is kTimeout marked not retryable (the
// retry policy returns it at once). Any HTTP status is a successful call
// here; mapping statuses to errors is the S3 client's job.
//
// HTTPS verifies the server against the system CA store (libcurl's default
// bundle, /etc/ssl/certs on Debian); ca_file overrides it.
//
// Time (the deadlines) comes from the injected Clock (base/clock.h); libcurl's
// own connect timeout and rate window use libcurl's clock.
//
// Thread-safety: thread-safe; Perform may be called from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "base/mutex.h"
#include "obs/usage.h"
#include "store/s3/sigv4.h"

namespace hx::s3 {

struct HttpOptions {
  // Time to establish a TCP (and TLS) connection.
  long connect_timeout_ms = 10'000;
  // A hard limit on any one request, whatever its size; 0: none (the
  // size-scaled deadline below applies anyway).
  long request_timeout_ms = 0;
  // The minimum transfer rate: a transfer averaging less than this over
  // rate_window_seconds is a stall (kTimeout). It also scales each
  // request's deadline.
  long min_bytes_per_second = 1024;
  long rate_window_seconds = 30;
  // Each request's deadline: this plus its bytes (sent, and announced by
  // the reply's Content-Length or received) at min_bytes_per_second.
  long request_base_ms = 60'000;
  // The whole client's time: past this many milliseconds after it was made,
  // every request fails at once (0: no bound).
  std::int64_t command_deadline_ms = 0;
  // A CA bundle to trust instead of the system store ("" = system).
  std::string ca_file;
  // The clock of the deadlines (monotonic). Null: the real clock. Must
  // outlive the client.
  Clock* clock = nullptr;
  // Where the S3 client counts each request it sends (method, outcome,
  // bytes: the command's store usage, obs/usage.h). Null: nowhere.
  std::shared_ptr<obs::RequestMeter> meter;
};

struct HttpRequest {
  std::string method;  // GET PUT POST HEAD DELETE
  std::string url;     // already percent-encoded
  HttpHeaders headers;
  // Sent as the body (PUT and POST); must outlive the call.
  std::span<const std::uint8_t> body;
  // A 2xx body longer than this fails the call (Category::kCorrupt, detail
  // "max_size") as soon as the bound is crossed; the rest is not read.
  // Error bodies (status >= 300) end at 64 KiB: the rest is not read either.
  std::uint64_t max_response_bytes = 1 << 20;
};

struct HttpResponse {
  long status = 0;
  // Names lowercased, in order of arrival.
  HttpHeaders headers;
  std::vector<std::uint8_t> body;

  // The first header of that (lowercase) name, or "".
  std::string Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and waits for the whole response. Errors: transport
  // failures and passed deadlines as described at the top (details "url"
  // without query, "curl_error" or "deadline"); a 2xx body over
  // max_response_bytes (kCorrupt).
  Result<HttpResponse> Perform(const HttpRequest& request);

  // Monotonic milliseconds from the injected clock.
  std::int64_t NowMs() const;
  Clock& clock() const { return *options_.clock; }

 private:
  // A CURL easy handle (CURL is void in libcurl's API).
  struct CurlDeleter {
    void operator()(void* curl) const;
  };
  using CurlPtr = std::unique_ptr<void, CurlDeleter>;

  CurlPtr Acquire();
  void Release(CurlPtr handle);

  HttpOptions options_;
  // When the command deadline passes (monotonic ms), or INT64_MAX.
  std::int64_t command_deadline_ = 0;
  Mutex mu_;
  std::vector<CurlPtr> idle_ HX_GUARDED_BY(mu_);
};

}  // namespace hx::s3
