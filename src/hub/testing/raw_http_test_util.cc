#include "hub/testing/raw_http_test_util.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hx::hub::testing {

RawConnection::RawConnection(int port, const std::string& request) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (!connected_) return;
  std::size_t at = 0;
  while (at < request.size()) {
    const ssize_t n = send(fd_, request.data() + at, request.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return;
    at += static_cast<std::size_t>(n);
  }
  sent_ = true;
}

RawConnection::~RawConnection() { close(fd_); }

void RawConnection::FinishSending() { shutdown(fd_, SHUT_WR); }

bool RawConnection::ReadUntil(const std::function<bool(const std::string&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done(received_)) {
    if (!connected_ || closed_ || std::chrono::steady_clock::now() >= deadline) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      continue;
    }
    received_.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::ReadToEnd() {
  return ReadUntil([this](const std::string&) { return closed_; });
}

std::string RawExchange(int port, const std::string& bytes) {
  RawConnection connection(port, bytes);
  if (!connection.connected()) return "<connect failed>";
  // A request the hub stopped reading early still has its reply to read.
  connection.FinishSending();
  connection.ReadToEnd();
  return connection.received();
}

int StatusOf(const std::string& reply) {
  return reply.starts_with("HTTP/1.1 ") ? std::atoi(reply.c_str() + 9) : 0;
}

std::string BodyOf(const std::string& reply) {
  const std::size_t end = reply.find("\r\n\r\n");
  return end == std::string::npos ? "" : reply.substr(end + 4);
}

void ExpectRawErrors(int port, const std::vector<RawCase>& cases, const std::string& code) {
  for (const RawCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string reply = RawExchange(port, c.request);
    EXPECT_EQ(StatusOf(reply), c.status) << reply.substr(0, 300);
    const nlohmann::json body = nlohmann::json::parse(BodyOf(reply), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << reply.substr(0, 300);
    ASSERT_TRUE(body.contains("error"));
    const std::string got = body["error"]["code"].get<std::string>();
    if (code.empty()) {
      EXPECT_THAT(got, ::testing::HasSubstr("KC_SYNC_"));
    } else {
      EXPECT_EQ(got, code);
    }
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
}

}  // namespace hx::hub::testing
