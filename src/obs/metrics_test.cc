#include "obs/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "obs/metrics_server.h"

namespace hx::obs {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndCumulativeHistogramsInTheTextFormat) {
  MetricsRegistry m;
  m.GetCounter("hx_requests_total", "Requests", {{"op", "get"}, {"outcome", "ok"}}).Inc(3);
  m.GetCounter("hx_requests_total", "Requests", {{"op", "put"}, {"outcome", "ok"}}).Inc();
  m.GetGauge("hx_depth", "Queue \\ depth\nnow").Set(-2);
  Histogram& h = m.GetHistogram("hx_seconds", "Latency", {{"op", "push"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // an upper bound is inclusive ("le")
  h.Observe(5);
  m.GetCounter("hx_odd", "Odd label", {{"v", "a\"b\\c\nd"}}).Inc();
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP hx_depth Queue \\\\ depth\\nnow\n"
            "# TYPE hx_depth gauge\n"
            "hx_depth -2\n"
            "# HELP hx_odd Odd label\n"
            "# TYPE hx_odd counter\n"
            "hx_odd{v=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP hx_requests_total Requests\n"
            "# TYPE hx_requests_total counter\n"
            "hx_requests_total{op=\"get\",outcome=\"ok\"} 3\n"
            "hx_requests_total{op=\"put\",outcome=\"ok\"} 1\n"
            "# HELP hx_seconds Latency\n"
            "# TYPE hx_seconds histogram\n"
            "hx_seconds_bucket{op=\"push\",le=\"0.10000000000000001\"} 2\n"
            "hx_seconds_bucket{op=\"push\",le=\"1\"} 2\n"
            "hx_seconds_bucket{op=\"push\",le=\"+Inf\"} 3\n"
            "hx_seconds_sum{op=\"push\"} 5.1500000000000004\n"
            "hx_seconds_count{op=\"push\"} 3\n");
}

// One HTTP exchange with the server, as a scraper does it.
std::string Fetch(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return "connect failed";
  }
  (void)!::write(fd, request.data(), request.size());
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, n);
  ::close(fd);
  return reply;
}

TEST(MetricsServerTest, ServesTheRegistryOnGetMetricsOnly) {
  MetricsRegistry m;
  m.GetCounter("hx_conflicts_total", "Conflicts").Inc(2);
  auto server = MetricsServer::Start({}, [&m] { return m.RenderPrometheus(); });
  ASSERT_TRUE(server.ok()) << server.error().ToHuman();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  const std::string ok = Fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_TRUE(ok.ends_with("\r\n\r\n" + m.RenderPrometheus())) << ok;
  EXPECT_TRUE(Fetch(port, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(Fetch(port, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
  EXPECT_EQ((*server)->served(), 3u);
  (*server)->Stop();
  (*server)->Stop();  // idempotent
}

TEST(MetricsServerTest, AStalledClientIsCutOffAtItsDeadlineAndOthersAreServed) {
  MetricsRegistry m;
  auto server = MetricsServer::Start({.io_timeout_ms = 200}, [&m] { return m.RenderPrometheus(); });
  ASSERT_TRUE(server.ok());
  // A client that connects and never sends its request.
  const int stalled = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>((*server)->port()));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(stalled, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  // The next scrape waits behind it at most its deadline, then is answered.
  EXPECT_TRUE(Fetch((*server)->port(), "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
  char byte;
  EXPECT_EQ(::read(stalled, &byte, 1), 0);  // closed by the server
  ::close(stalled);
}

TEST(MetricsServerTest, RefusesAddressesThatAreNotLoopback) {
  for (const char* address : {"0.0.0.0:9464", "10.1.2.3:1", "127.0.0.1", "127.0.0.1:99999",
                              "example.com:80"}) {
    auto server = MetricsServer::Start({.address = address}, [] { return std::string(); });
    ASSERT_FALSE(server.ok()) << address;
    EXPECT_EQ(server.error().code, SyncCode::kInputInvalid);
  }
  auto first = MetricsServer::Start({}, [] { return std::string(); });
  ASSERT_TRUE(first.ok());
  auto taken = MetricsServer::Start({.address = "127.0.0.1:" + std::to_string((*first)->port())},
                                    [] { return std::string(); });
  EXPECT_FALSE(taken.ok());
}

}  // namespace
}  // namespace hx::obs
