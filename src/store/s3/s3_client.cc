#include "store/s3/s3_client.h"

#include <algorithm>

#include "obs/log.h"
#include "obs/metrics.h"
#include "store/s3/xml.h"

namespace hx::s3 {
namespace {

bool IsAuthCode(const std::string& code) {
  return code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
         code == "AccessDenied" || code == "ExpiredToken" || code == "InvalidToken" ||
         code == "TokenRefreshRequired" || code == "AuthorizationHeaderMalformed" ||
         code == "InvalidClientTokenId" || code == "MissingSecurityHeader" ||
         code == "AllAccessDisabled" || code == "AccountProblem" ||
         code == "RequestTimeTooSkewed";
}

}  // namespace

Error MapS3Error(long status, const std::string& s3_code, const std::string& s3_message,
                 const std::string& what, const S3Endpoint& endpoint,
                 const std::string& redirect_hint) {
  const std::string where = " (bucket " + endpoint.bucket + " at " + endpoint.base_url + ")";
  // The server's own words help, but are cut: they come from the network.
  const std::string said = s3_message.empty() ? "" : ": " + s3_message.substr(0, 200);
  const std::string head = what + " failed with HTTP " + std::to_string(status) +
                           (s3_code.empty() ? "" : " " + s3_code.substr(0, 64)) + said;
  SyncCode code = SyncCode::kStateFailed;
  Category category = Category::kInternal;
  std::string advice;
  if (IsAuthCode(s3_code) || status == 401 || status == 403) {
    code = SyncCode::kAuthFailed;
    category = Category::kAuth;
    if (s3_code == "AuthorizationHeaderMalformed") {
      advice = "; check --region (the bucket's region)";
    } else if (s3_code == "RequestTimeTooSkewed") {
      advice = "; the computer's clock is off, fix it";
    } else {
      advice = "; check the access key and secret (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
               "the AWS profile) and that they may use this bucket";
    }
  } else if (s3_code == "NoSuchBucket") {
    code = SyncCode::kTargetInvalid;
    category = Category::kNotFound;
    advice = "; create the bucket or check its name, the endpoint and --region";
  } else if (s3_code == "PermanentRedirect" || s3_code == "TemporaryRedirect" ||
             s3_code == "Redirect" || (status >= 300 && status < 400 && status != 304)) {
    // Never "not found": the bucket is there, but it is answered elsewhere.
    code = SyncCode::kTargetInvalid;
    category = Category::kInvalidInput;
    advice = "; the bucket is answered by another region or endpoint" +
             (redirect_hint.empty() ? "" : " (" + redirect_hint + ")") +
             ": pass the bucket's region with --region, or its endpoint with --endpoint";
  } else if (status == 404) {
    category = Category::kNotFound;
  } else if (status == 412 || s3_code == "PreconditionFailed" ||
             s3_code == "ConditionalRequestConflict" || status == 409) {
    category = Category::kAborted;
  } else if (status == 429 || s3_code == "SlowDown" || s3_code == "Throttling" ||
             s3_code == "TooManyRequests" || status == 503) {
    code = SyncCode::kNetworkFailed;
    category = Category::kThrottling;
    advice = "; the server asked to slow down, retry later";
  } else if (status == 408 || s3_code == "RequestTimeout") {
    code = SyncCode::kNetworkFailed;
    category = Category::kTimeout;
    advice = "; check the network, then retry";
  } else if (status == 501 || s3_code == "NotImplemented") {
    code = SyncCode::kTargetUnsupported;
    category = Category::kUnsupported;
    advice = "; the server does not support this S3 feature";
  } else if (status >= 500) {
    code = SyncCode::kNetworkFailed;
    category = Category::kNetwork;
    advice = "; the server failed, retry later";
  } else if (s3_code == "EntityTooLarge" || s3_code == "QuotaExceeded") {
    category = Category::kNoSpace;
    advice = "; the bucket or the account is out of space";
  } else {
    advice = "; this is unexpected from an S3 server, check the endpoint";
  }
  Error error(code, category, head + where + advice);
  error.With("http_status", std::to_string(status)).With("bucket", endpoint.bucket);
  if (!s3_code.empty()) error.With("s3_code", s3_code.substr(0, 64));
  return error;
}

S3Client::S3Client(S3Endpoint endpoint, AwsCredentials credentials, HttpOptions http)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      http_(http),
      meter_(std::move(http.meter)) {
  const std::size_t sep = endpoint_.base_url.find("://");
  scheme_ = endpoint_.base_url.substr(0, sep);
  host_ = endpoint_.base_url.substr(sep + 3);
}

std::string S3Client::UrlOf(const std::string& key) const {
  if (endpoint_.path_style) {
    return scheme_ + "://" + host_ + "/" + endpoint_.bucket + "/" + UriEncodePath(key);
  }
  return scheme_ + "://" + endpoint_.bucket + "." + host_ + "/" + UriEncodePath(key);
}

Result<HttpResponse> S3Client::Send(const S3Request& request) const {
  // S3 bills a listing as LIST, whatever its HTTP method.
  bool listing = false;
  for (const auto& [name, value] : request.query) listing = listing || name == "list-type";
  const obs::Method method = listing                     ? obs::Method::kList
                             : request.method == "PUT"    ? obs::Method::kPut
                             : request.method == "POST"   ? obs::Method::kPost
                             : request.method == "DELETE" ? obs::Method::kDelete
                             : request.method == "HEAD"   ? obs::Method::kHead
                                                          : obs::Method::kGet;
  Result<HttpResponse> response = SendOnce(request);
  const std::uint64_t down = response.ok() ? response->body.size() : 0;
  if (meter_) meter_->Record(method, response.ok(), request.body.size(), down);
  obs::RecordS3Request(obs::MethodName(method), response.ok());
  if (response.ok()) {
    if (obs::LogEnabled(obs::LogLevel::kDebug)) {
      obs::Log(obs::LogLevel::kDebug, "s3.request",
               {{"method", std::string(obs::MethodName(method))},
                {"key", request.key},
                {"status", response->status},
                {"bytes_up", request.body.size()},
                {"bytes_down", down}});
    }
  } else {
    obs::LogError(obs::LogLevel::kWarn, "s3.request_failed", response.error(),
                  {{"method", std::string(obs::MethodName(method))}, {"key", request.key}});
  }
  return response;
}

Result<HttpResponse> S3Client::SendOnce(const S3Request& request) const {
  const std::string host = endpoint_.path_style ? host_ : endpoint_.bucket + "." + host_;
  std::string path = endpoint_.path_style ? "/" + endpoint_.bucket : "";
  if (!request.key.empty() || !endpoint_.path_style) path += "/" + request.key;

  SigV4Request to_sign{.method = request.method,
                       .path = path,
                       .query = request.query,
                       .headers = request.headers,
                       .payload_sha256_hex = PayloadSha256Hex(request.body)};
  to_sign.headers.emplace_back("Host", host);
  const std::int64_t now_seconds = http_.clock().WallMs() / 1000;
  const SigV4Signature signature =
      SignV4(to_sign, credentials_,
             {.region = endpoint_.region, .service = "s3", .amz_date = AmzDate(now_seconds)});

  HttpRequest http{.method = request.method,
                   .url = scheme_ + "://" + host + UriEncodePath(path),
                   .headers = request.headers,
                   .body = request.body,
                   .max_response_bytes = request.max_response_bytes};
  // The wire query is the canonical one: what is signed is what is sent.
  const std::string query = CanonicalQuery(request.query);
  if (!query.empty()) http.url += "?" + query;
  // curl sends Host itself from the URL; the signed value is the same.
  for (const auto& header : signature.added_headers) http.headers.push_back(header);
  // Unsigned (S3 ignores it; a proxy or server log can match it to ours).
  if (std::string cid = obs::CurrentCorrelationId(); !cid.empty()) {
    http.headers.emplace_back("x-hx-correlation-id", std::move(cid));
  }

  const std::string what = request.method + " " + (request.key.empty() ? "/" : request.key);
  HX_ASSIGN_OR_RETURN(HttpResponse response, http_.Perform(http));
  if ((response.status >= 200 && response.status < 300) || response.status == 304) {
    // CompleteMultipartUpload may fail after a 200 status line: the body is
    // an <Error>. Only small bodies are looked at; objects are never XML-sniffed.
    if (request.method == "POST" && response.body.size() < 64 * 1024) {
      const std::string_view text(reinterpret_cast<const char*>(response.body.data()),
                                  response.body.size());
      if (text.find("<Error>") != std::string_view::npos) {
        auto parsed = ParseXml(text);
        if (parsed.ok() && parsed->name == "Error") {
          Error error = MapS3Error(500, parsed->ChildText("Code"), parsed->ChildText("Message"),
                                   what, endpoint_);
          return error;
        }
      }
    }
    return response;
  }
  std::string s3_code;
  std::string s3_message;
  std::string redirect_to;
  if (!response.body.empty()) {
    auto parsed = ParseXml(std::string_view(reinterpret_cast<const char*>(response.body.data()),
                                            response.body.size()));
    if (parsed.ok()) {
      s3_code = parsed->ChildText("Code");
      s3_message = parsed->ChildText("Message");
      redirect_to = parsed->ChildText("Endpoint");
    }
  }
  if (response.status < 300 || response.status >= 400) {
    return MapS3Error(response.status, s3_code, s3_message, what, endpoint_);
  }
  // A redirect: what the server says about where the bucket is. It comes
  // from the network, so it is cut, and the Location loses its query.
  const std::string region = response.Header("x-amz-bucket-region").substr(0, 64);
  std::string location = response.Header("location");
  location = location.substr(0, std::min<std::size_t>(location.find('?'), 200));
  if (location.empty()) location = redirect_to.substr(0, 200);
  std::string hint = region.empty() ? "" : "the server names region " + region;
  if (!location.empty()) hint += (hint.empty() ? "it points to " : ", it points to ") + location;
  Error error = MapS3Error(response.status, s3_code, s3_message, what, endpoint_, hint);
  if (!region.empty()) error.With("bucket_region", region);
  return error;
}

}  // namespace hx::s3
