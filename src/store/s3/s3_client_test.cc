// S3 replies become the seed's codes and categories. The mapping table is
// tested directly, and the transport side (throttling, 5xx, stalls, cut
// bodies, errors inside a 200) against a canned HTTP server on loopback
// that answers each connection with the next scripted reply.
#include "store/s3/s3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "obs/log.h"
#include "obs/usage.h"
#include "store/s3/s3_store.h"

namespace hx::s3 {
namespace {

const S3Endpoint kEndpoint{.base_url = "http://127.0.0.1:9", .path_style = true,
                           .region = "us-east-1", .bucket = "bkt"};

struct Case {
  long status;
  const char* code;
  SyncCode expected_code;
  Category expected_category;
};

TEST(MapS3Error, FollowsTheTable) {
  const Case cases[] = {
      {403, "SignatureDoesNotMatch", SyncCode::kAuthFailed, Category::kAuth},
      {403, "InvalidAccessKeyId", SyncCode::kAuthFailed, Category::kAuth},
      {403, "AccessDenied", SyncCode::kAuthFailed, Category::kAuth},
      {400, "ExpiredToken", SyncCode::kAuthFailed, Category::kAuth},
      {400, "AuthorizationHeaderMalformed", SyncCode::kAuthFailed, Category::kAuth},
      {401, "", SyncCode::kAuthFailed, Category::kAuth},
      {404, "NoSuchBucket", SyncCode::kTargetInvalid, Category::kNotFound},
      {301, "PermanentRedirect", SyncCode::kTargetInvalid, Category::kInvalidInput},
      {307, "TemporaryRedirect", SyncCode::kTargetInvalid, Category::kInvalidInput},
      {301, "", SyncCode::kTargetInvalid, Category::kInvalidInput},
      {404, "NoSuchKey", SyncCode::kStateFailed, Category::kNotFound},
      {404, "", SyncCode::kStateFailed, Category::kNotFound},
      {412, "PreconditionFailed", SyncCode::kStateFailed, Category::kAborted},
      {409, "ConditionalRequestConflict", SyncCode::kStateFailed, Category::kAborted},
      {503, "SlowDown", SyncCode::kNetworkFailed, Category::kThrottling},
      {429, "", SyncCode::kNetworkFailed, Category::kThrottling},
      {400, "RequestTimeout", SyncCode::kNetworkFailed, Category::kTimeout},
      {500, "InternalError", SyncCode::kNetworkFailed, Category::kNetwork},
      {502, "", SyncCode::kNetworkFailed, Category::kNetwork},
      {501, "NotImplemented", SyncCode::kTargetUnsupported, Category::kUnsupported},
      {400, "EntityTooLarge", SyncCode::kStateFailed, Category::kNoSpace},
      {400, "InvalidArgument", SyncCode::kStateFailed, Category::kInternal},
  };
  for (const Case& c : cases) {
    const Error error = MapS3Error(c.status, c.code, "server words", "GET k", kEndpoint);
    EXPECT_EQ(error.code, c.expected_code) << c.status << " " << c.code;
    EXPECT_EQ(error.category, c.expected_category) << c.status << " " << c.code;
    EXPECT_EQ(error.details.at("http_status"), std::to_string(c.status));
    EXPECT_NE(error.message.find("bkt"), std::string::npos);
  }
  EXPECT_TRUE(MapS3Error(503, "SlowDown", "", "x", kEndpoint).retryable);
  EXPECT_FALSE(MapS3Error(403, "AccessDenied", "", "x", kEndpoint).retryable);
  EXPECT_NE(MapS3Error(400, "AuthorizationHeaderMalformed", "", "x", kEndpoint)
                .message.find("--region"),
            std::string::npos);
}

// Answers each connection with the next scripted reply (raw HTTP), after
// reading the request. "STALL" keeps the connection open without replying
// until the server stops.
class CannedServer {
 public:
  CannedServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    stop_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  void Script(std::string reply) {
    std::lock_guard lock(mu_);
    replies_.push_back(std::move(reply));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  // The head (request line and headers) of the last request.
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void Serve() {
    while (!stop_.load()) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buf[4096];
      std::size_t need = std::string::npos;
      while (need == std::string::npos || request.size() < need) {
        const ssize_t n = ::read(client, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
        const std::size_t end = request.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          std::size_t length = 0;
          const std::size_t at = request.find("Content-Length: ");
          if (at != std::string::npos && at < end) length = std::stoul(request.substr(at + 16));
          need = end + 4 + length;
        }
      }
      requests_.fetch_add(1);
      std::string reply;
      {
        std::lock_guard lock(mu_);
        last_request_ = request.substr(0, request.find("\r\n\r\n"));
        if (!replies_.empty()) {
          reply = replies_.front();
          replies_.pop_front();
        }
      }
      if (reply == "STALL") {
        while (!stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      } else {
        (void)!::write(client, reply.data(), reply.size());
      }
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::deque<std::string> replies_;
  std::string last_request_;
};

std::string Reply(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

std::string ErrorBody(const std::string& code) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>m</Message></Error>";
}

// A fake clock for retries: their sleeps do not wait.
FakeClock& NoWaitClock() {
  static FakeClock* clock = new FakeClock();
  return *clock;
}

std::unique_ptr<S3Store> StoreOn(const CannedServer& server, HttpOptions http = {}) {
  S3StoreOptions options;
  options.http = http;
  options.multipart_threshold = 10;
  options.part_size = 10;
  options.part_retry.max_attempts = 2;
  options.part_retry.clock = &NoWaitClock();
  options.concurrency = 1;
  return std::make_unique<S3Store>(S3Endpoint{.base_url = server.url(), .path_style = true,
                                              .region = "us-east-1", .bucket = "bkt"},
                                   AwsCredentials{"AKID", "SECRET", ""}, "p", "s3", options);
}

TEST(S3Transport, SlowDownAndServerErrorsAreRetryable) {
  CannedServer server;
  server.Script(Reply(503, ErrorBody("SlowDown")));
  server.Script(Reply(500, ErrorBody("InternalError")));
  server.Script(Reply(429, ""));
  auto store = StoreOn(server);
  const Category expected[] = {Category::kThrottling, Category::kNetwork, Category::kThrottling};
  for (const Category category : expected) {
    auto got = store->Get("k", 100);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed);
    EXPECT_EQ(got.error().category, category);
    EXPECT_TRUE(got.error().retryable);
  }
}

TEST(S3Transport, ACutBodyIsARetryableNetworkFailure) {
  CannedServer server;
  server.Script("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nshort");
  auto got = StoreOn(server)->Get("k", 1000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed) << got.error().ToShortString();
  EXPECT_TRUE(got.error().retryable);
}

TEST(S3Transport, AStallPastTheLimitIsATimeout) {
  CannedServer server;
  server.Script("STALL");
  HttpOptions http;
  http.rate_window_seconds = 1;
  auto got = StoreOn(server, http)->Get("k", 1000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().category, Category::kTimeout) << got.error().ToShortString();
  EXPECT_EQ(got.error().code, SyncCode::kNetworkFailed);
}

TEST(S3Transport, AConnectionClosedWithoutAReplyIsRetryable) {
  CannedServer server;
  server.Script("");
  auto got = StoreOn(server)->Exists("k");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().retryable) << got.error().ToShortString();
}

TEST(S3Transport, AnErrorInsideA200CompleteIsRetriedInPlaceThenFailsTheUploadAndAbortsIt) {
  CannedServer server;
  server.Script(Reply(200, "<InitiateMultipartUploadResult><UploadId>u-1</UploadId>"
                           "</InitiateMultipartUploadResult>"));
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));
  server.Script(Reply(200, "", "ETag: \"e2\"\r\n"));
  server.Script(Reply(200, ErrorBody("InternalError")));  // CompleteMultipartUpload
  server.Script(Reply(200, ErrorBody("InternalError")));  // ... attempt 2
  server.Script(Reply(204, ""));                          // AbortMultipartUpload
  auto put = StoreOn(server)->Put("k", std::vector<std::uint8_t>(15, 'x'));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, SyncCode::kNetworkFailed) << put.error().ToShortString();
  EXPECT_TRUE(put.error().retryable);
  EXPECT_EQ(server.requests(), 6);  // create, 2 parts, complete twice, abort
}

TEST(S3Transport, CreateAndCompleteAreRetriedInPlaceLikeParts) {
  CannedServer server;
  server.Script(Reply(503, ErrorBody("SlowDown")));  // CreateMultipartUpload
  server.Script(Reply(200, "<R><UploadId>u-3</UploadId></R>"));
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));
  server.Script(Reply(200, "", "ETag: \"e2\"\r\n"));
  server.Script(Reply(500, ErrorBody("InternalError")));  // CompleteMultipartUpload
  server.Script(Reply(200, "<CompleteMultipartUploadResult/>"));
  ASSERT_TRUE(StoreOn(server)->Put("k", std::vector<std::uint8_t>(15, 'x')).ok());
  EXPECT_EQ(server.requests(), 6);
}

// The completion took effect but its reply was lost; sent again, the server
// no longer knows the upload. The object is read back: our bytes, our upload.
TEST(S3Transport, ACompletionAnsweredNoSuchUploadIsReadBackAndOursIsSuccess) {
  CannedServer server;
  const std::string bytes(15, 'x');
  server.Script(Reply(200, "<R><UploadId>u-4</UploadId></R>"));
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));
  server.Script(Reply(200, "", "ETag: \"e2\"\r\n"));
  server.Script("");                                     // complete: the reply is lost
  server.Script(Reply(404, ErrorBody("NoSuchUpload")));  // complete, sent again
  server.Script(Reply(200, bytes, "ETag: \"m-2\"\r\n"));  // GET k
  auto put = StoreOn(server)->Put("k", std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
  ASSERT_TRUE(put.ok()) << put.error().ToShortString();
  EXPECT_EQ(server.requests(), 6);
}

TEST(S3Transport, ACompletionAnsweredNoSuchUploadWithOtherBytesThereFails) {
  CannedServer server;
  server.Script(Reply(200, "<R><UploadId>u-5</UploadId></R>"));
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));
  server.Script(Reply(200, "", "ETag: \"e2\"\r\n"));
  server.Script(Reply(404, ErrorBody("NoSuchUpload")));      // complete
  server.Script(Reply(200, std::string(15, 'y'), "ETag: \"o\"\r\n"));  // GET k: not ours
  server.Script(Reply(404, ErrorBody("NoSuchUpload")));      // abort
  auto put = StoreOn(server)->Put("k", std::vector<std::uint8_t>(15, 'x'));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().category, Category::kNotFound) << put.error().ToShortString();
  EXPECT_EQ(server.requests(), 6);
}

TEST(S3Transport, APartIsRetriedInPlaceThenTheUploadIsAborted) {
  CannedServer server;
  server.Script(Reply(200, "<R><UploadId>u-2</UploadId></R>"));
  server.Script(Reply(500, ErrorBody("InternalError")));  // part 1, attempt 1
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));      // part 1, attempt 2
  server.Script(Reply(503, ErrorBody("SlowDown")));       // part 2, attempt 1
  server.Script(Reply(503, ErrorBody("SlowDown")));       // part 2, attempt 2
  server.Script(Reply(204, ""));                          // abort
  auto put = StoreOn(server)->Put("k", std::vector<std::uint8_t>(15, 'x'));
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().category, Category::kThrottling);
  EXPECT_EQ(server.requests(), 6);
}

// Retries in place wait as RetryingStore's do: one policy (retry_policy.h),
// not an immediate resend.
TEST(S3Transport, MultipartRetriesInPlaceBackOffUnderTheSharedRetryPolicy) {
  CannedServer server;
  server.Script(Reply(503, ErrorBody("SlowDown")));  // CreateMultipartUpload
  server.Script(Reply(200, "<R><UploadId>u-6</UploadId></R>"));
  server.Script(Reply(500, ErrorBody("InternalError")));  // part 1
  server.Script(Reply(200, "", "ETag: \"e1\"\r\n"));
  server.Script(Reply(200, "", "ETag: \"e2\"\r\n"));
  server.Script(Reply(200, "<CompleteMultipartUploadResult/>"));
  FakeClock clock;
  S3StoreOptions options;
  options.multipart_threshold = 10;
  options.part_size = 10;
  options.concurrency = 1;
  options.part_retry.clock = &clock;
  options.part_retry.random = [] { return ~std::uint64_t{0}; };  // the top of each range
  S3Store store(S3Endpoint{.base_url = server.url(), .path_style = true, .region = "us-east-1",
                           .bucket = "bkt"},
                AwsCredentials{"AKID", "SECRET", ""}, "p", "s3", options);
  ASSERT_TRUE(store.Put("k", std::vector<std::uint8_t>(15, 'x')).ok());
  EXPECT_EQ(server.requests(), 6);
  // Two first retries, each after the first delay's cap (200 ms).
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(400));
}

TEST(S3Transport, AGetLargerThanTheBoundIsCorruptAndNotReadToTheEnd) {
  CannedServer server;
  server.Script(Reply(200, std::string(5000, 'x'), "ETag: \"e\"\r\n"));
  auto got = StoreOn(server)->Get("k", 100);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().category, Category::kCorrupt);
}

TEST(S3Transport, EveryRequestCarriesTheCorrelationIdAndIsCountedByMethod) {
  CannedServer server;
  server.Script(Reply(200, "abc"));
  server.Script(Reply(200, "", "ETag: \"e\"\r\n"));
  server.Script(Reply(404, ErrorBody("NoSuchKey")));
  server.Script(Reply(200, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"));
  auto meter = std::make_shared<obs::RequestMeter>();
  HttpOptions http;
  http.meter = meter;
  auto store = StoreOn(server, http);
  obs::CorrelationScope scope("c0ffee0000000001");
  ASSERT_TRUE(store->Get("k", 100).ok());
  EXPECT_NE(server.last_request().find("x-hx-correlation-id: c0ffee0000000001"), std::string::npos)
      << server.last_request();
  ASSERT_TRUE(store->Put("k", std::vector<std::uint8_t>{1, 2, 3, 4, 5}).ok());
  EXPECT_NE(server.last_request().find("x-hx-correlation-id: c0ffee0000000001"), std::string::npos);
  EXPECT_FALSE(store->Get("missing", 100).ok());
  ASSERT_TRUE(store->List("").ok());
  const obs::RequestUsage usage = meter->Read();
  EXPECT_EQ(usage[obs::Method::kGet], 2u);
  EXPECT_EQ(usage[obs::Method::kPut], 1u);
  EXPECT_EQ(usage[obs::Method::kList], 1u);  // a listing GET is billed as LIST
  EXPECT_EQ(usage.total(), 4u);
  EXPECT_EQ(usage.failed, 1u);
  EXPECT_EQ(usage.bytes_up, 5u);
  EXPECT_GE(usage.bytes_down, 3u);
}

TEST(S3Transport, AMalformedListingIsAnError) {
  CannedServer server;
  server.Script(Reply(200, "<ListBucketResult><Contents><Key>p/a</Key><Size>x</Size></Contents>"
                           "</ListBucketResult>"));
  server.Script(Reply(200, "not xml"));
  server.Script(Reply(200, "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
  auto store = StoreOn(server);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(store->List("").ok());
}

TEST(S3Transport, NotImplementedConditionalWritesSwitchToEmulation) {
  CannedServer server;
  server.Script(Reply(501, ErrorBody("NotImplemented")));  // PUT If-None-Match
  server.Script(Reply(404, ""));                           // HEAD: absent
  server.Script(Reply(200, "", "ETag: \"v1\"\r\n"));        // PUT
  auto store = StoreOn(server);
  EXPECT_TRUE(store->capabilities().atomic_create);
  auto created = store->PutIfAbsent("lock", std::vector<std::uint8_t>{1});
  ASSERT_TRUE(created.ok()) << created.error().ToShortString();
  EXPECT_EQ(*created, "\"v1\"");
  EXPECT_TRUE(store->emulating_conditional_writes());
  EXPECT_FALSE(store->capabilities().atomic_create);
  EXPECT_FALSE(store->capabilities().atomic_compare_and_swap);
}

}  // namespace
}  // namespace hx::s3

namespace hx::s3 {
namespace {

TEST(S3Addressing, PathStyleNamesTheBucketInThePath) {
  CannedServer server;
  server.Script(Reply(200, "", "ETag: \"e\"\r\n"));
  ASSERT_TRUE(StoreOn(server)->Put("a/b", std::vector<std::uint8_t>{1}).ok());
  const std::string head = server.last_request();
  EXPECT_TRUE(head.starts_with("PUT /bkt/p/a/b HTTP/1.1")) << head;
  EXPECT_NE(head.find("Host: 127.0.0.1:" + std::to_string(server.port())), std::string::npos);
  EXPECT_NE(head.find("x-amz-content-sha256: 4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"),
            std::string::npos)
      << head;  // SHA-256 of the byte 0x01: the real payload is signed
  EXPECT_NE(head.find("Authorization: AWS4-HMAC-SHA256 Credential=AKID/"), std::string::npos);
  EXPECT_EQ(head.find("SECRET"), std::string::npos);
}

TEST(S3Addressing, VirtualHostedStyleNamesTheBucketInTheHost) {
  CannedServer server;
  server.Script(Reply(200, "<ListBucketResult><IsTruncated>false</IsTruncated>"
                           "<Contents><Key>p/x</Key><Size>3</Size></Contents></ListBucketResult>"));
  // curl resolves *.localhost to the loopback address itself.
  const S3Endpoint endpoint{.base_url = "http://localhost:" + std::to_string(server.port()),
                            .path_style = false, .region = "us-east-1", .bucket = "bkt"};
  S3Store store(endpoint, {"AKID", "SECRET", ""}, "p", "s3");
  auto listed = store.List("");
  ASSERT_TRUE(listed.ok()) << listed.error().ToShortString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "x");
  const std::string head = server.last_request();
  EXPECT_TRUE(head.starts_with("GET /?list-type=2&prefix=p%2F HTTP/1.1")) << head;
  EXPECT_NE(head.find("Host: bkt.localhost:" + std::to_string(server.port())), std::string::npos)
      << head;
  S3Client client(endpoint, {"AKID", "SECRET", ""});
  EXPECT_EQ(client.UrlOf("p/a b"),
            "http://bkt.localhost:" + std::to_string(server.port()) + "/p/a%20b");
}

}  // namespace
}  // namespace hx::s3

namespace hx::s3 {
namespace {

TEST(S3Retries, TransientFailuresAreRetriedWithJitteredBackoffUntilSuccess) {
  CannedServer server;
  server.Script(Reply(503, ErrorBody("SlowDown")));
  server.Script("");  // a connection closed without a reply
  server.Script(Reply(500, ErrorBody("InternalError")));
  server.Script(Reply(200, "hello", "ETag: \"e\"\r\n"));
  FakeClock clock;
  RetryOptions retry;
  retry.clock = &clock;
  retry.random = [] { return ~std::uint64_t{0}; };  // the top of each jitter range
  RetryingStore store(StoreOn(server), retry);
  auto got = store.Get("k", 100);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(std::string(got->begin(), got->end()), "hello");
  // Full jitter under a cap that doubles from 200 ms: 200 + 400 + 800.
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(1400));
  EXPECT_EQ(server.requests(), 4);
}

TEST(S3Retries, AuthFailuresAreNotRetried) {
  CannedServer server;
  server.Script(Reply(403, ErrorBody("SignatureDoesNotMatch")));
  FakeClock clock;
  RetryOptions retry;
  retry.clock = &clock;
  RetryingStore store(StoreOn(server), retry);
  auto got = store.Get("k", 100);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(0));
  EXPECT_EQ(server.requests(), 1);
}

TEST(S3Retries, TheEnvironmentTunesOpenStoresRetriesAndTimeouts) {
  CredentialEnvironment env;
  env.variables = {{"HX_S3_MAX_ATTEMPTS", "3"}, {"HX_S3_MAX_RETRY_MS", "5000"},
                   {"HX_S3_STALL_SECONDS", "2"}, {"HX_S3_CONCURRENCY", "999"},
                   {"HX_S3_PART_SIZE", "junk"}, {"HX_S3_CONDITIONAL_WRITES", "emulated"}};
  const RetryOptions retry = S3RetryOptionsFromEnvironment(env);
  EXPECT_EQ(retry.max_attempts, 3);
  EXPECT_EQ(retry.max_total, std::chrono::milliseconds(5000));
  const S3StoreOptions options = S3StoreOptionsFromEnvironment(env);
  EXPECT_EQ(options.http.rate_window_seconds, 2);
  EXPECT_EQ(options.concurrency, 64);  // capped
  EXPECT_EQ(options.part_size, S3StoreOptions{}.part_size);  // junk ignored
  EXPECT_EQ(options.conditional_writes, ConditionalWrites::kEmulated);
  const RetryOptions defaults = S3RetryOptionsFromEnvironment({});
  EXPECT_EQ(defaults.max_attempts, 5);
  EXPECT_EQ(defaults.max_total, std::chrono::milliseconds(60'000));
}

}  // namespace
}  // namespace hx::s3

namespace hx::s3 {
namespace {

TEST(S3Transport, AServerThatIgnoresRangeIsUnsupportedNotRetried) {
  CannedServer server;
  server.Script(Reply(200, std::string(1000, 'x'), "ETag: \"e\"\r\n"));
  auto got = StoreOn(server)->GetRange("k", {10, 20});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kTargetUnsupported) << got.error().ToShortString();
  EXPECT_FALSE(got.error().retryable);
}

TEST(S3Transport, ARangeReplyOfTheWrongLengthIsCorrupt) {
  CannedServer server;
  server.Script(Reply(206, "short", "Content-Range: bytes 10-14/100\r\n"));
  auto got = StoreOn(server)->GetRange("k", {10, 20});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().category, Category::kCorrupt) << got.error().ToShortString();
}

}  // namespace
}  // namespace hx::s3
