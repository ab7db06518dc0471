// The fault proxy does what S3 tests rely on: it forwards and counts, and
// each fault kind really happens on the wire, reproducibly from its seed.
#include "store/s3/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hx::testing {
namespace {

using std::chrono::milliseconds;

// A one-request-per-connection HTTP server on a loopback thread (the proxy
// always asks for Connection: close upstream). GET /bytes/<n> answers n bytes
// of 'x'; any other request answers 200 with "ok:<body size>". It counts the
// requests it served, so tests can tell whether a fault reached the server.
class TestUpstream {
 public:
  TestUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A cast the socket API requires.
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, sa, len) != 0 || ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, sa, &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestUpstream() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int served() const { return served_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Answer(fd);
      ::close(fd);
    }
  }
  void Answer(int fd) {
    std::string raw;
    char buffer[65536];
    std::size_t head_end = std::string::npos;
    std::size_t want = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = raw.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          const auto cl = raw.find("Content-Length: ");
          if (cl != std::string::npos && cl < head_end) want = std::stoull(raw.substr(cl + 16));
        }
      }
      if (head_end != std::string::npos && raw.size() >= head_end + 4 + want) break;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      raw.append(buffer, static_cast<std::size_t>(n));
    }
    std::string body;
    if (raw.starts_with("GET /bytes/")) {
      body.assign(std::stoull(raw.substr(11)), 'x');
    } else {
      body = "ok:" + std::to_string(want);
    }
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    ++served_;
    (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = FaultProxy::Start(upstream_.endpoint());
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToShortString();
    proxy_ = std::move(proxy).value();
  }
  void SetFault(const std::string& kind, double rate = 1.0) {
    ProxyFaultConfig config;
    config.rates[kind] = rate;
    config.stall_seconds = 30;
    ASSERT_TRUE(proxy_->Configure(config).ok());
  }
  Result<HttpReply> Get(const std::string& target, milliseconds timeout = milliseconds(10000)) {
    return HttpExchange(proxy_->port(), "GET", target, {}, timeout);
  }

  TestUpstream upstream_;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, PassThroughForwardsRequestsAndBodiesAndCountsThem) {
  auto got = Get("/bucket/vault/blobs/aa/bytes-ignored");
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  auto big = Get("/bytes/300000");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 200);
  EXPECT_EQ(big->body, std::string(300000, 'x'));
  EXPECT_TRUE(big->complete);
  auto put = HttpExchange(proxy_->port(), "PUT", "/bucket/vault/head.json?x=1",
                          std::string(70000, 'p'));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->body, "ok:70000");
  EXPECT_EQ(upstream_.served(), 3);

  auto log = proxy_->Requests();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);  // control requests are not logged
  EXPECT_EQ((*log)[0].method, "GET");
  EXPECT_EQ(KeyUnder((*log)[0], "/bucket/vault/"), "blobs/aa/bytes-ignored");
  EXPECT_EQ((*log)[1].bytes_down, 300000u);
  EXPECT_EQ((*log)[2].method, "PUT");
  EXPECT_EQ((*log)[2].query, "x=1");
  EXPECT_EQ((*log)[2].bytes_up, 70000u);
  EXPECT_EQ((*log)[2].status, 200);
  EXPECT_EQ((*log)[2].fault, "");

  ASSERT_TRUE(proxy_->Reset().ok());
  auto empty = proxy_->Requests();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(FaultProxyTest, ErrorStatusFaultsAnswerWithS3ErrorsWithoutReachingTheServer) {
  struct Case {
    std::string kind;
    int status;
    std::string code;
  };
  for (const Case& c : {Case{"500", 500, "InternalError"}, Case{"503", 503, "ServiceUnavailable"},
                        Case{"slowdown", 503, "SlowDown"}, Case{"429", 429, "TooManyRequests"}}) {
    SCOPED_TRACE(c.kind);
    SetFault(c.kind);
    auto reply = Get("/bucket/key");
    ASSERT_TRUE(reply.ok()) << reply.error().ToShortString();
    EXPECT_EQ(reply->status, c.status);
    EXPECT_NE(reply->body.find("<Code>" + c.code + "</Code>"), std::string::npos) << reply->body;
  }
  EXPECT_EQ(upstream_.served(), 0);
}

TEST_F(FaultProxyTest, AStallHoldsTheRequestPastTheClientsTimeout) {
  SetFault("stall");
  auto reply = Get("/bytes/10", milliseconds(300));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().category, Category::kTimeout);
  EXPECT_EQ(upstream_.served(), 0);
}

TEST_F(FaultProxyTest, AResetLosesTheRequestBeforeTheServerSeesIt) {
  SetFault("reset");
  auto reply = Get("/bytes/10");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().category, Category::kNetwork);
  EXPECT_EQ(upstream_.served(), 0);
}

TEST_F(FaultProxyTest, ADropLosesTheReplyAfterTheServerActed) {
  SetFault("drop");
  auto reply = HttpExchange(proxy_->port(), "PUT", "/bucket/key", "payload");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().category, Category::kNetwork);
  EXPECT_EQ(upstream_.served(), 1);
}

TEST_F(FaultProxyTest, ADropMidBodyCutsTheReplyAfterTheHeaders) {
  SetFault("drop_mid_body");
  auto reply = Get("/bytes/100000");
  ASSERT_TRUE(reply.ok()) << reply.error().ToShortString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_FALSE(reply->complete);
  EXPECT_LT(reply->body.size(), 100000u);
  EXPECT_EQ(upstream_.served(), 1);
}

TEST_F(FaultProxyTest, ATruncatedBodyIsShorterThanItsContentLength) {
  SetFault("truncate");
  auto reply = Get("/bytes/100000");
  ASSERT_TRUE(reply.ok()) << reply.error().ToShortString();
  EXPECT_EQ(reply->headers.at("content-length"), "100000");
  EXPECT_EQ(reply->body.size(), 50000u);
  EXPECT_FALSE(reply->complete);
  // Even an empty body is announced as at least one byte.
  auto put = HttpExchange(proxy_->port(), "PUT", "/bucket/key", "");
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->complete);
}

// Which of 40 distinct requests fault under `config`.
std::vector<bool> FaultPattern(FaultProxy& proxy, const ProxyFaultConfig& config) {
  EXPECT_TRUE(proxy.Configure(config).ok());
  EXPECT_TRUE(proxy.Reset().ok());
  std::vector<bool> pattern;
  for (int i = 0; i < 40; ++i) {
    auto reply = HttpExchange(proxy.port(), "GET", "/bucket/obj-" + std::to_string(i));
    pattern.push_back(!reply.ok() || reply->status != 200);
  }
  return pattern;
}

TEST_F(FaultProxyTest, FaultsAtARateAreReproducibleFromTheSeed) {
  ProxyFaultConfig config;
  config.rates["503"] = 0.5;
  config.seed = 7;
  const auto first = FaultPattern(*proxy_, config);
  const auto again = FaultPattern(*proxy_, config);
  EXPECT_EQ(first, again);
  const auto faults = std::count(first.begin(), first.end(), true);
  EXPECT_GT(faults, 5);
  EXPECT_LT(faults, 35);
  config.seed = 8;
  EXPECT_NE(FaultPattern(*proxy_, config), first);
}

TEST_F(FaultProxyTest, ARetriedRequestDrawsAgain) {
  ProxyFaultConfig config;
  config.rates["500"] = 0.5;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  // The same request repeated does not fault forever at rate 0.5.
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    auto reply = Get("/bucket/same-key");
    ok += reply.ok() && reply->status == 200;
  }
  EXPECT_GT(ok, 0);
  EXPECT_LT(ok, 20);
}

TEST_F(FaultProxyTest, TheFilterChoosesWhichRequestsMayFault) {
  ProxyFaultConfig config;
  config.rates["500"] = 1.0;
  config.methods = {"PUT"};
  config.path_regex = "partNumber=";
  config.skip = 1;
  config.max_faults = 2;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  EXPECT_EQ(Get("/bucket/k?partNumber=1")->status, 200);  // not a PUT
  EXPECT_EQ(HttpExchange(proxy_->port(), "PUT", "/bucket/k", "x")->status, 200);  // no match
  std::vector<int> statuses;
  for (int part = 1; part <= 5; ++part) {
    auto reply = HttpExchange(proxy_->port(), "PUT",
                              "/bucket/k?partNumber=" + std::to_string(part) + "&uploadId=u", "x");
    ASSERT_TRUE(reply.ok());
    statuses.push_back(reply->status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 500, 500, 200, 200}));  // skip 1, then 2 faults
  auto log = proxy_->Requests();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)[2].fault, "");
  EXPECT_EQ((*log)[3].fault, "500");
}

TEST_F(FaultProxyTest, AStreakLimitMakesEveryFaultTransient) {
  ProxyFaultConfig config;
  config.rates["503"] = 1.0;
  config.max_streak = 2;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  std::vector<int> same, other;
  for (int i = 0; i < 6; ++i) same.push_back(Get("/bucket/same-key")->status);
  other.push_back(Get("/bucket/other-key")->status);
  // Two faults in a row, then one request gets through, for each identity.
  EXPECT_EQ(same, (std::vector<int>{503, 503, 200, 503, 503, 200}));
  EXPECT_EQ(other, (std::vector<int>{503}));
}

TEST_F(FaultProxyTest, AnInvalidConfigurationIsRefused) {
  ProxyFaultConfig config;
  config.rates["500"] = 0.7;
  config.rates["503"] = 0.7;
  EXPECT_FALSE(proxy_->Configure(config).ok());
  config.rates = {{"teapot", 0.1}};
  EXPECT_FALSE(proxy_->Configure(config).ok());
  auto unknown = HttpExchange(proxy_->port(), "GET", "/__hxproxy/nothing");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 404);
  // The previous configuration (none) still holds.
  EXPECT_EQ(Get("/bytes/3")->status, 200);
}

// ------------------------------------------------------- deterministic schedule

// The statuses of `n` GETs of /bucket/<name>-<i> (0 for a failed exchange).
std::vector<int> Statuses(FaultProxy& proxy, const std::string& name, int n) {
  std::vector<int> statuses;
  for (int i = 0; i < n; ++i) {
    auto reply = HttpExchange(proxy.port(), "GET", "/bucket/" + name + "-" + std::to_string(i));
    statuses.push_back(reply.ok() ? reply->status : 0);
  }
  return statuses;
}

TEST_F(FaultProxyTest, AScheduleFaultsEveryKthRequestWhateverKeysTheRequestsName) {
  ProxyFaultConfig config;
  config.rates["500"] = 1.0;
  config.every = 3;
  config.seed = 0;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  const std::vector<int> expected = {200, 200, 500, 200, 200, 500, 200, 200, 500};
  EXPECT_EQ(Statuses(*proxy_, "run-one-key", 9), expected);
  // Other keys (as another run's random object names would be): the same faults.
  ASSERT_TRUE(proxy_->Configure(config).ok());
  EXPECT_EQ(Statuses(*proxy_, "a-different-random-key", 9), expected);
  // The seed shifts the phase: seed 1 faults the second request first.
  config.seed = 1;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  EXPECT_EQ(Statuses(*proxy_, "k", 5), (std::vector<int>{200, 500, 200, 200, 500}));
}

TEST_F(FaultProxyTest, AResetOfTheLogDoesNotRestartTheSchedule) {
  ProxyFaultConfig config;
  config.rates["500"] = 1.0;
  config.every = 4;
  config.seed = 0;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  // Steps of three requests, the log reset between them, as the sync tests
  // do: still one fault every four requests across the steps.
  std::vector<int> statuses;
  for (int step = 0; step < 4; ++step) {
    for (int status : Statuses(*proxy_, "step" + std::to_string(step), 3)) {
      statuses.push_back(status);
    }
    ASSERT_TRUE(proxy_->Reset().ok());
  }
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 500), 3);
  EXPECT_EQ(statuses[3], 500);
  EXPECT_EQ(statuses[7], 500);
  EXPECT_EQ(statuses[11], 500);
}

TEST_F(FaultProxyTest, AScheduleCyclesThroughTheKindsInProportionToTheirRates) {
  ProxyFaultConfig config;
  config.rates["500"] = 0.75;
  config.rates["429"] = 0.25;
  config.every = 1;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  const std::vector<int> statuses = Statuses(*proxy_, "k", 8);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 500), 6);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 429), 2);
  // A fixed order: the second four repeat the first four.
  EXPECT_EQ(std::vector<int>(statuses.begin(), statuses.begin() + 4),
            std::vector<int>(statuses.begin() + 4, statuses.end()));
}

TEST_F(FaultProxyTest, AScheduledFaultHeldBackByTheStreakLimitFallsOnTheNextRequest) {
  ProxyFaultConfig config;
  config.rates["503"] = 1.0;
  config.every = 1;
  config.max_streak = 2;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  std::vector<int> same;
  for (int i = 0; i < 6; ++i) same.push_back(Get("/bucket/same-key")->status);
  EXPECT_EQ(same, (std::vector<int>{503, 503, 200, 503, 503, 200}));
  // The fault the streak limit held back is due: the next request takes it.
  EXPECT_EQ(Get("/bucket/other-key")->status, 503);
}

// ------------------------------------------------------- hostile endpoints

// Sends a raw GET of `target` and reads at most `max_bytes` of the reply, or
// until the server closes or `timeout` passes; then closes the connection.
std::string ReadSomeOfAReply(int port, const std::string& target, std::size_t max_bytes,
                             milliseconds timeout = milliseconds(10000)) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A cast the socket API requires.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw;
  char buffer[65536];
  while (raw.size() < max_bytes) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return raw;
}

ProxyRequest OnlyRequest(FaultProxy& proxy) {
  auto log = proxy.Requests();
  EXPECT_TRUE(log.ok());
  EXPECT_EQ(log.ok() ? log->size() : 0u, 1u);
  return log.ok() && !log->empty() ? log->front() : ProxyRequest{};
}

TEST_F(FaultProxyTest, ATrickleSendsTheHeadersThenTheBodyOneByteAtATime) {
  ProxyFaultConfig config;
  config.rates["trickle"] = 1.0;
  config.trickle_seconds = 0.01;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  auto small = Get("/bytes/20");
  ASSERT_TRUE(small.ok()) << small.error().ToShortString();
  EXPECT_EQ(small->body, std::string(20, 'x'));
  EXPECT_TRUE(small->complete);

  // At half a second a byte, 1000 bytes take over eight minutes: a client
  // that waits a second has the headers and a few bytes.
  config.trickle_seconds = 0.5;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  ASSERT_TRUE(proxy_->Reset().ok());
  auto slow = Get("/bytes/1000", milliseconds(1000));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().category, Category::kTimeout);
  const ProxyRequest request = OnlyRequest(*proxy_);
  EXPECT_EQ(request.fault, "trickle");
  EXPECT_EQ(request.status, 200);
  EXPECT_LT(request.bytes_down, 1000u);
  EXPECT_EQ(upstream_.served(), 2);
}

TEST_F(FaultProxyTest, ASilentEndpointNeverAnswersAndNeverForwards) {
  SetFault("silent");
  auto reply = Get("/bytes/10", milliseconds(300));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().category, Category::kTimeout);
  EXPECT_EQ(upstream_.served(), 0);
  // The proxy itself is still there for the next request.
  ASSERT_TRUE(proxy_->PassThrough().ok());
  EXPECT_EQ(Get("/bytes/3")->status, 200);
}

TEST_F(FaultProxyTest, AnEndlessErrorBodyKeepsComingUntilTheClientCloses) {
  SetFault("endless_error");
  const std::string raw = ReadSomeOfAReply(proxy_->port(), "/bucket/key", 4u << 20);
  ASSERT_GE(raw.size(), 4u << 20) << raw.substr(0, 200);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 503 ")) << raw.substr(0, 200);
  EXPECT_NE(raw.find("Content-Length: 1099511627776"), std::string::npos);
  EXPECT_NE(raw.find("<Code>SlowDown</Code>"), std::string::npos);
  const ProxyRequest request = OnlyRequest(*proxy_);
  EXPECT_EQ(request.fault, "endless_error");
  EXPECT_EQ(request.status, 503);
  EXPECT_EQ(upstream_.served(), 0);
}

TEST_F(FaultProxyTest, CyclingListTokensComeBackToTheFirstAndOtherRequestsPass) {
  ProxyFaultConfig config;
  config.rates["cycle_list"] = 1.0;
  ASSERT_TRUE(proxy_->Configure(config).ok());
  std::vector<std::string> tokens;
  std::string token;
  for (int page = 0; page < 3; ++page) {
    auto reply = Get("/bucket?list-type=2&prefix=vault%2F" +
                     (token.empty() ? "" : "&continuation-token=" + token));
    ASSERT_TRUE(reply.ok());
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->body.find("<IsTruncated>true</IsTruncated>"), std::string::npos);
    EXPECT_NE(reply->body.find("<Key>vault/blobs/cy/"), std::string::npos) << reply->body;
    const auto start = reply->body.find("<NextContinuationToken>");
    ASSERT_NE(start, std::string::npos);
    const auto end = reply->body.find("</NextContinuationToken>");
    token = reply->body.substr(start + 23, end - start - 23);
    tokens.push_back(token);
  }
  EXPECT_EQ(tokens, (std::vector<std::string>{"hxcycle-0", "hxcycle-1", "hxcycle-0"}));
  EXPECT_EQ(upstream_.served(), 0);
  // Not a listing: passed through, not a fault.
  EXPECT_EQ(Get("/bytes/3")->status, 200);
  auto log = proxy_->Requests();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->back().fault, "");
}

TEST_F(FaultProxyTest, AReplyCutInsideItsHeadersHasAStatusLineAndNoEndOfHeaders) {
  SetFault("cut_headers");
  const std::string raw = ReadSomeOfAReply(proxy_->port(), "/bytes/100", 1 << 20);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 ")) << raw;
  EXPECT_EQ(raw.find("\r\n\r\n"), std::string::npos) << raw;
  EXPECT_EQ(OnlyRequest(*proxy_).fault, "cut_headers");
  EXPECT_EQ(upstream_.served(), 1);  // the server acted; the reply was lost
}

TEST_F(FaultProxyTest, RedirectsNameAnotherRegionOrEndpointWithoutForwarding) {
  SetFault("redirect");
  auto permanent = Get("/bucket/key");
  ASSERT_TRUE(permanent.ok());
  EXPECT_EQ(permanent->status, 301);
  EXPECT_EQ(permanent->headers.at("x-amz-bucket-region"), "eu-west-3");
  EXPECT_NE(permanent->body.find("<Code>PermanentRedirect</Code>"), std::string::npos);
  SetFault("redirect_307");
  auto temporary = Get("/bucket/key?x=1");
  ASSERT_TRUE(temporary.ok());
  EXPECT_EQ(temporary->status, 307);
  EXPECT_EQ(temporary->headers.at("location"), "http://127.0.0.1:1/bucket/key?x=1");
  EXPECT_EQ(upstream_.served(), 0);
}

// Shaping is asserted through the proxy's own accounting, never the clock:
// what each message was charged follows from the configuration and the bytes.
TEST_F(FaultProxyTest, ShapingChargesEachMessageItsLatencyAndItsBytesOnTheLink) {
  ProxyFaultConfig config;
  config.latency_ms = 30;
  config.rate_mbit = 8;  // 1 byte per microsecond
  ASSERT_TRUE(proxy_->Configure(config).ok());
  auto big = Get("/bytes/300000");
  ASSERT_TRUE(big.ok()) << big.error().ToShortString();
  EXPECT_EQ(big->body, std::string(300000, 'x'));  // paced in pieces, whole
  EXPECT_TRUE(big->complete);
  auto put = HttpExchange(proxy_->port(), "PUT", "/bucket/key", std::string(70000, 'p'));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->body, "ok:70000");

  auto log = proxy_->Requests();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  for (const ProxyRequest& r : *log) {
    SCOPED_TRACE(r.method);
    EXPECT_TRUE(r.handshake);  // HttpExchange opens a connection per request
    EXPECT_DOUBLE_EQ(r.latency_ms_up, 30 + 2 * 30);
    EXPECT_DOUBLE_EQ(r.latency_ms_down, 30);
  }
  // The reply's body and headers on the down link; the request's on the up link.
  EXPECT_NEAR((*log)[0].link_ms_down, 300.0, 1.0);
  EXPECT_GT((*log)[0].link_ms_down, 300.0);
  EXPECT_LT((*log)[0].link_ms_up, 1.0);
  EXPECT_NEAR((*log)[1].link_ms_up, 70.0, 1.0);
  EXPECT_GT((*log)[1].link_ms_up, 70.0);
}

TEST_F(FaultProxyTest, ShapingJitterIsDrawnFromTheSeedInRequestOrder) {
  ProxyFaultConfig config;
  config.seed = 7;
  config.latency_ms = 5;
  config.jitter_ms = 20;
  auto delays = [&](std::uint64_t seed) {
    config.seed = seed;
    std::vector<double> out;
    // Configuring restarts the draws; a reset forgets the log.
    if (!proxy_->Configure(config).ok() || !proxy_->Reset().ok()) return out;
    for (int i = 0; i < 4; ++i) {
      if (!Get("/bytes/10").ok()) return out;
    }
    auto log = proxy_->Requests();
    if (!log.ok()) return out;
    for (const ProxyRequest& r : *log) {
      out.push_back(r.latency_ms_up);
      out.push_back(r.latency_ms_down);
    }
    return out;
  };
  const std::vector<double> first = delays(7);
  ASSERT_EQ(first.size(), 8u);
  for (std::size_t i = 0; i < first.size(); ++i) {
    const double handshake = i % 2 == 0 ? 2 * 5 : 0;  // up: a new connection each time
    EXPECT_GE(first[i], 5 + handshake);
    EXPECT_LT(first[i], 5 + handshake + 20);
  }
  EXPECT_EQ(delays(7), first);  // same seed, same order: same delays
  EXPECT_NE(delays(8), first);
  EXPECT_GT(*std::max_element(first.begin(), first.end()) -
                *std::min_element(first.begin(), first.end()),
            0.0);
}

TEST_F(FaultProxyTest, WithoutShapingNothingIsCharged) {
  ASSERT_TRUE(Get("/bytes/1000").ok());
  auto log = proxy_->Requests();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].latency_ms_up, 0);
  EXPECT_EQ((*log)[0].latency_ms_down, 0);
  EXPECT_EQ((*log)[0].link_ms_down, 0);
  EXPECT_FALSE((*log)[0].handshake);
}

TEST_F(FaultProxyTest, ANegativeOrNonNumericShapingIsRejected) {
  ProxyFaultConfig config;
  config.latency_ms = -1;
  EXPECT_FALSE(proxy_->Configure(config).ok());
  config.latency_ms = 0;
  config.rate_mbit = -5;
  EXPECT_FALSE(proxy_->Configure(config).ok());
  auto raw = HttpExchange(proxy_->port(), "POST", "/__hxproxy/config", R"({"jitter_ms": "x"})");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->status, 400);
}

TEST(FaultProxyStartTest, AProxyInFrontOfNothingAnswersWithAConnectionFailure) {
  // Port 1 on loopback: nothing listens there.
  auto proxy = FaultProxy::Start("http://127.0.0.1:1");
  ASSERT_TRUE(proxy.ok()) << proxy.error().ToShortString();
  auto reply = HttpExchange((*proxy)->port(), "GET", "/bucket/key");
  EXPECT_FALSE(reply.ok() && reply->status == 200);
}

}  // namespace
}  // namespace hx::testing
