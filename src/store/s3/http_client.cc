#include "store/s3/http_client.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include <curl/curl.h>

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

// Per-transfer state the callbacks write into.
struct Transfer {
  std::span<const std::uint8_t> body;
  std::size_t sent = 0;
  HttpResponse response;
  std::uint64_t max_ok_body = 0;
  bool over_limit = false;
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new response (after a 100 Continue or a redirect): start over.
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
    return n;
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

}  // namespace

void HttpClient::CurlDeleter::operator()(void* curl) const { curl_easy_cleanup(curl); }

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { GlobalInit(); }

HttpClient::~HttpClient() = default;

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
  CurlPtr handle = Acquire();
  CURL* curl = handle.get();
  if (curl == nullptr) return InternalError("curl_easy_init failed (out of memory?)");
  // Reset keeps the handle's open connections and DNS cache: the reuse we want.
  curl_easy_reset(curl);

  Transfer transfer;
  transfer.body = request.body;
  transfer.max_ok_body = request.max_response_bytes;

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
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes_per_second);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.low_speed_seconds);
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
  if (code != CURLE_OK) {
    return TransportError(code, error_text[0] != '\0' ? error_text : curl_easy_strerror(code),
                          request.url);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  transfer.response.status = status;
  Release(std::move(handle));
  return std::move(transfer.response);
}

}  // namespace hx::s3
