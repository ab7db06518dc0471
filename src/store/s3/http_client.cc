#include "store/s3/http_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>

#include <curl/curl.h>

#include "store/retry_policy.h"

namespace hx::s3 {
namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;
// Handles kept for reuse; more concurrent calls than this still work, their
// extra handles are closed after use.
constexpr std::size_t kMaxIdleHandles = 64;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The URL without its query: the query may carry an upload id or a
// continuation token, which are not secret but are noise in messages.
std::string UrlForMessages(const std::string& url) { return url.substr(0, url.find('?')); }

std::int64_t MonotonicMs(Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             clock.Monotonic().time_since_epoch())
      .count();
}

enum class Cut : std::uint8_t {
  kNone,
  kRequestDeadline,  // the size-scaled deadline of this request passed
  kCommandDeadline,  // the whole client's time is up
};

// Per-transfer state the callbacks write into.
struct Transfer {
  std::span<const std::uint8_t> body;
  std::size_t sent = 0;
  HttpResponse response;
  std::uint64_t max_ok_body = 0;
  bool over_limit = false;
  // The error body reached its cap and the transfer was aborted there.
  bool error_body_capped = false;
  // The blank line that ends the final response's headers arrived.
  bool headers_complete = false;
  // Deadlines (monotonic ms) and what cut the transfer, if anything.
  Clock* clock = nullptr;
  std::int64_t start_ms = 0;
  std::int64_t base_ms = 0;
  std::int64_t min_rate = 1;
  std::int64_t command_deadline = 0;
  std::int64_t deadline_ms = 0;  // the request deadline last computed
  Cut cut = Cut::kNone;
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) {
    // The end of a response's headers; a 1xx (100 Continue) is not the final one.
    transfer.headers_complete = transfer.response.status >= 200;
    return n;
  }
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue or a redirect): start over.
    transfer.headers_complete = false;
    transfer.response.headers.clear();
    const std::size_t space = line.find(' ');
    transfer.response.status =
        space == std::string_view::npos ? 0 : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || transfer.response.headers.size() > 256) return n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  transfer.response.headers.emplace_back(std::move(name), std::string(value.substr(0, 8192)));
  return n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  auto& body = transfer.response.body;
  if (transfer.response.status >= 300 || transfer.response.status < 200) {
    const std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, body.size());
    body.insert(body.end(), data, data + std::min(n, room));
    if (n <= room) return n;
    // An error body has said what it has to say by now; a server that keeps
    // sending must not keep the call busy: abort, keep the status.
    transfer.error_body_capped = true;
    return 0;
  }
  if (body.size() + n > transfer.max_ok_body) {
    transfer.over_limit = true;
    return 0;  // aborts the transfer: the rest is never read
  }
  body.insert(body.end(), data, data + n);
  return n;
}

std::size_t OnRead(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = std::min(size * count, transfer.body.size() - transfer.sent);
  std::memcpy(buffer, transfer.body.data() + transfer.sent, n);
  transfer.sent += n;
  return n;
}

// libcurl calls this about once a second, and on every transfer of data:
// the deadlines are checked here. Nonzero aborts the transfer.
int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::int64_t now = MonotonicMs(*transfer.clock);
  if (now >= transfer.command_deadline) {
    transfer.cut = Cut::kCommandDeadline;
    return 1;
  }
  // The bytes this request may take time for: what it sends, and what the
  // reply announces (or has sent, without a length), up to what it may hold.
  const auto cap = static_cast<curl_off_t>(
      std::min<std::uint64_t>(std::max<std::uint64_t>(transfer.max_ok_body, kMaxErrorBody),
                              std::uint64_t{1} << 50));
  const curl_off_t down = std::min(std::max(dltotal, dlnow), cap);
  const curl_off_t up = std::min(std::max(ultotal, ulnow), curl_off_t{1} << 50);
  transfer.deadline_ms =
      transfer.start_ms + transfer.base_ms +
      static_cast<std::int64_t>((up + down) * 1000 / std::max<std::int64_t>(transfer.min_rate, 1));
  if (now >= transfer.deadline_ms) {
    transfer.cut = Cut::kRequestDeadline;
    return 1;
  }
  return 0;
}

// curl may rewind the body to resend it (after a redirect or an auth retry).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > transfer.body.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  transfer.sent = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Error TransportError(CURLcode code, const char* detail, const std::string& url) {
  Category category = Category::kNetwork;
  std::string what;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      category = Category::kTimeout;
      what = "timed out or stalled";
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      what = "could not resolve the host name";
      break;
    case CURLE_COULDNT_CONNECT:
      what = "could not connect";
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Error(SyncCode::kTargetInvalid, Category::kAuth,
                   "the server's TLS certificate is not trusted (" + std::string(detail) +
                       "); check the endpoint URL and the system CA store")
          .With("url", UrlForMessages(url));
    case CURLE_PARTIAL_FILE:
      what = "the response was cut short";
      break;
    default:
      what = "the connection failed";
      break;
  }
  return Error(SyncCode::kNetworkFailed, category,
               "request to " + UrlForMessages(url) + ": " + what + " (" + detail +
                   "); check the network and the endpoint, then retry")
      .With("url", UrlForMessages(url))
      .With("curl_error", curl_easy_strerror(code));
}

Error CommandDeadlineError(const std::string& url, std::int64_t deadline_ms) {
  Error error(SyncCode::kNetworkFailed, Category::kTimeout,
              "request to " + UrlForMessages(url) + ": the command's time for the network is up (" +
                  std::to_string(deadline_ms) +
                  " ms, HX_S3_COMMAND_DEADLINE_MS); check the network, then run the command "
                  "again");
  // Retrying within this command cannot help: its time is up.
  error.retryable = false;
  error.With("url", UrlForMessages(url)).With("deadline", "command");
  return error;
}

}  // namespace

void HttpClient::CurlDeleter::operator()(void* curl) const { curl_easy_cleanup(curl); }

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
  GlobalInit();
  options_.clock = &ClockOrReal(options_.clock);
  command_deadline_ = options_.command_deadline_ms > 0
                          ? NowMs() + options_.command_deadline_ms
                          : std::numeric_limits<std::int64_t>::max();
}

HttpClient::~HttpClient() = default;

std::int64_t HttpClient::NowMs() const { return MonotonicMs(*options_.clock); }

HttpClient::CurlPtr HttpClient::Acquire() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      CurlPtr handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  return CurlPtr(curl_easy_init());
}

void HttpClient::Release(CurlPtr handle) {
  MutexLock lock(mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

Result<HttpResponse> HttpClient::Perform(const HttpRequest& request) {
  const std::int64_t start = NowMs();
  if (start >= command_deadline_) {
    return CommandDeadlineError(request.url, options_.command_deadline_ms);
  }
  CurlPtr handle = Acquire();
  CURL* curl = handle.get();
  if (curl == nullptr) return InternalError("curl_easy_init failed (out of memory?)");
  // Reset keeps the handle's open connections and DNS cache: the reuse we want.
  curl_easy_reset(curl);

  Transfer transfer;
  transfer.body = request.body;
  transfer.max_ok_body = request.max_response_bytes;
  transfer.clock = options_.clock;
  transfer.start_ms = start;
  transfer.base_ms = options_.request_base_ms;
  transfer.min_rate = options_.min_bytes_per_second;
  transfer.command_deadline = command_deadline_;

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // No "Expect: 100-continue" round trip, and no default Content-Type that
  // would not be signed.
  headers = curl_slist_append(headers, "Expect:");
  const bool has_content_type = std::ranges::any_of(request.headers, [](const auto& header) {
    std::string name = header.first;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name == "content-type";
  });
  if (!has_content_type) headers = curl_slist_append(headers, "Content-Type:");

  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.min_bytes_per_second);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.rate_window_seconds);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());

  const bool has_body = request.method == "PUT" || request.method == "POST";
  if (has_body) {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
    const auto size = static_cast<curl_off_t>(request.body.size());
    if (request.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, size);
    } else {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
    }
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (transfer.over_limit) {
    // The connection is mid-response; a fresh handle avoids reusing it.
    return Error(SyncCode::kStateFailed, Category::kCorrupt,
                 "the object at " + UrlForMessages(request.url) + " is larger than the " +
                     std::to_string(request.max_response_bytes) + " bytes expected")
        .With("url", UrlForMessages(request.url))
        .With("max_size", std::to_string(request.max_response_bytes));
  }
  if (transfer.cut == Cut::kCommandDeadline) {
    return CommandDeadlineError(request.url, options_.command_deadline_ms);
  }
  if (transfer.cut == Cut::kRequestDeadline) {
    const std::string url = UrlForMessages(request.url);
    const std::int64_t allowed = transfer.deadline_ms - transfer.start_ms;
    return Error(SyncCode::kNetworkFailed, Category::kTimeout,
                 "request to " + url + ": no complete reply within its deadline (" +
                     std::to_string(allowed) +
                     " ms for its size: HX_S3_REQUEST_BASE_MS plus its bytes at "
                     "HX_S3_MIN_RATE); check the network and the endpoint, then retry")
        .With("url", url)
        .With("deadline", "request")
        .With("deadline_ms", std::to_string(allowed));
  }
  if (transfer.error_body_capped) {
    // Cut on purpose: the status and the body's first 64 KiB are the reply.
    // The connection is mid-response, so the handle is not reused.
    return std::move(transfer.response);
  }
  if (code != CURLE_OK) {
    return TransportError(code, error_text[0] != '\0' ? error_text : curl_easy_strerror(code),
                          request.url);
  }
  if (!transfer.headers_complete) {
    // A reply that ended inside its headers is a lost reply, not an answer.
    const std::string url = UrlForMessages(request.url);
    return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                 "request to " + url +
                     ": the reply ended inside its headers; check the network and the endpoint, "
                     "then retry")
        .With("url", url);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = status;
  Release(std::move(handle));
  return std::move(transfer.response);
}

}  // namespace hx::s3
