// A small blocking HTTP/1.1 client over libcurl, for the S3 store: one call
// sends one request and returns the status, the headers and a bounded body.
// It keeps a pool of curl handles, so concurrent calls each get their own
// handle and a finished handle (with its open connection) is reused by the
// next call: connection reuse without a shared-connection lock.
//
// Transport failures are Errors with retryable categories: kTimeout for a
// connect timeout, a request timeout or a stall (less than
// low_speed_bytes_per_second for low_speed_seconds), kNetwork for refused or
// reset connections and bodies cut short. Any HTTP status is a successful
// call here; mapping statuses to errors is the S3 client's job.
//
// HTTPS verifies the server against the system CA store (libcurl's default
// bundle, /etc/ssl/certs on Debian); ca_file overrides it.
//
// Thread-safety: thread-safe; Perform may be called from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/mutex.h"
#include "store/s3/sigv4.h"

namespace hx::s3 {

struct HttpOptions {
  // Time to establish a TCP (and TLS) connection.
  long connect_timeout_ms = 10'000;
  // Whole-request limit; 0: none (large uploads take as long as they take,
  // and stalls are caught by the low-speed limit instead).
  long request_timeout_ms = 0;
  // A transfer slower than this for low_speed_seconds is a stall (kTimeout).
  long low_speed_bytes_per_second = 1;
  long low_speed_seconds = 30;
  // A CA bundle to trust instead of the system store ("" = system).
  std::string ca_file;
};

struct HttpRequest {
  std::string method;  // GET PUT POST HEAD DELETE
  std::string url;     // already percent-encoded
  HttpHeaders headers;
  // Sent as the body (PUT and POST); must outlive the call.
  std::span<const std::uint8_t> body;
  // A 2xx body longer than this fails the call (Category::kCorrupt, detail
  // "max_size") as soon as the bound is crossed; the rest is not read.
  // Error bodies (status >= 300) are cut silently at 64 KiB.
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
  // failures as described at the top (details "url" without query,
  // "curl_error"); a 2xx body over max_response_bytes (kCorrupt).
  Result<HttpResponse> Perform(const HttpRequest& request);

 private:
  // A CURL easy handle (CURL is void in libcurl's API).
  struct CurlDeleter {
    void operator()(void* curl) const;
  };
  using CurlPtr = std::unique_ptr<void, CurlDeleter>;

  CurlPtr Acquire();
  void Release(CurlPtr handle);

  const HttpOptions options_;
  Mutex mu_;
  std::vector<CurlPtr> idle_ HX_GUARDED_BY(mu_);
};

}  // namespace hx::s3
