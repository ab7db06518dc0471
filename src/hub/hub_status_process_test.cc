// The hub's checkpoints, SSE feed, admin tokens and status JSON through a
// real `hx serve` process on loopback, with the hx command as the devices
// and the administrator, and raw sockets as the apps:
//   - a device's feed poll with after=<head> is its checkpoint, shown by
//     `hx serve devices` (and the global flags may follow that command);
//   - GET .../feed/stream sends an event when another device pushes,
//     heartbeats, counts in hx_hub_open_feeds and ends after its lifetime;
//   - `hx serve admin-token` makes a token that opens /v1/_admin/status (the
//     devices, the pushes, the errors) and no vault's objects.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"
#include "hub/testing/hub_process.h"
#include "hub/testing/raw_http_test_util.h"
#include "os/env.h"
#include "os/real_clock.h"
#include "store/hub/device_credential.h"

namespace hx::hub {
namespace {

namespace fs = std::filesystem;
using hx::testing::ProcessRun;
using hx::testing::RunProcess;
using hx::testing::TempDir;
using testing::BodyOf;
using testing::HubProcess;
using testing::HxBinary;
using testing::RawConnection;
using testing::StatusOf;

constexpr auto kDeadline = std::chrono::seconds(60);

std::string Request(const std::string& path, const std::string& bearer) {
  std::string out = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!bearer.empty()) out += "Authorization: Bearer " + bearer + "\r\n";
  return out + "\r\n";
}

// The value of header `name` (as the hub spells it) in a raw reply.
std::string HeaderOf(const std::string& reply, const std::string& name) {
  const std::size_t at = reply.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  const std::size_t start = at + name.size() + 4;
  return reply.substr(start, reply.find("\r\n", start) - start);
}

// The ids of the SSE head events in `text`, in order.
std::vector<std::string> EventIds(const std::string& text) {
  std::vector<std::string> ids;
  for (std::size_t at = text.find("id: "); at != std::string::npos;
       at = text.find("id: ", at + 1)) {
    ids.push_back(text.substr(at + 4, text.find('\n', at) - at - 4));
  }
  return ids;
}

class HubStatusProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = (dir_.path() / "store").string();
    fs::create_directories(store_);
    Result<std::unique_ptr<HubProcess>> hub =
        HubProcess::Start({"--store", store_, "--insecure-listen", "127.0.0.1:0"},
                          {{"HX_TEST_HUB_SSE_HEARTBEAT_MS", "200"}});
    ASSERT_TRUE(hub.ok()) << hub.error().ToShortString();
    hub_ = std::move(hub).value();
    target_ = "hx://" + hub_->address() + "/notes";
  }

  ProcessRun Hx(std::vector<std::string> args) {
    return RunProcess(HxBinary(), args, {"HX_PASSPHRASE="});
  }
  static std::string LastLine(std::string out) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out.substr(out.rfind('\n') + 1);
  }
  std::string Vault(const std::string& name) { return (dir_.path() / name).string(); }

  // Enrolls a writer named `name` with a vault folder of that name.
  void InitDevice(const std::string& name) {
    const ProcessRun code =
        Hx({"serve", "enroll", "--store", store_, "--vault", "notes", "--role", "writer"});
    ASSERT_EQ(code.exit_code, 0) << code.output;
    const ProcessRun init = Hx({"sync", "init", Vault(name), target_, "--enroll",
                                LastLine(code.output), "--device-name", name, "--no-encryption"});
    ASSERT_EQ(init.exit_code, 0) << init.output;
  }
  void Push(const std::string& name, const std::string& file) {
    std::ofstream(fs::path(Vault(name)) / file) << file;
    const ProcessRun push = Hx({"sync", "push", Vault(name)});
    ASSERT_EQ(push.exit_code, 0) << push.output;
  }
  // A fresh access token of device `name`, as its hub store would get one
  // (from `hub`, else the fixture's).
  std::string TokenOf(const std::string& name, const HubProcess* hub = nullptr) {
    Result<DeviceCredential> credential = ReadDeviceCredential(
        Env::Default(), fs::path(Vault(name)) / ".hx" / std::string(kHubCredentialFileName));
    EXPECT_TRUE(credential.ok()) << credential.error().ToShortString();
    DeviceTokenSource source(std::move(credential).value(),
                             MakeHttpHubAuthTransport((hub ? hub : hub_.get())->url()));
    Result<std::string> token = source.Token(RealClock::Get().WallMs(), false);
    EXPECT_TRUE(token.ok()) << token.error().ToShortString();
    return token.ok() ? *token : "";
  }
  std::string Get(const std::string& path, const std::string& bearer) {
    RawConnection connection(hub_->port(), Request(path, bearer));
    connection.ReadToEnd();
    return connection.received();
  }
  std::string HeadVersion(const std::string& bearer) {
    return HeaderOf(Get("/v1/notes/o/head.json?max=1048576&versioned=1", bearer), "X-Hx-Version");
  }
  // The gauge hx_hub_open_feeds in /metrics ("" if absent).
  std::string OpenFeeds() {
    const std::string body = BodyOf(Get("/metrics", ""));
    const std::size_t at = body.find("\nhx_hub_open_feeds ");
    if (at == std::string::npos) return "";
    return body.substr(at + 19, body.find('\n', at + 1) - at - 19);
  }
  bool WaitFor(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  // Opens a feed stream of device "a" on a hub of its own over the same
  // store, started with `env` (the token from that hub), and expects the hub
  // to end it by itself: a 200 whose first piece was the retry hint.
  void ExpectTheHubEndsAStream(std::vector<std::pair<std::string, std::string>> env) {
    env.emplace_back("HX_TEST_HUB_SSE_HEARTBEAT_MS", "200");
    Result<std::unique_ptr<HubProcess>> hub =
        HubProcess::Start({"--store", store_, "--insecure-listen", "127.0.0.1:0"}, env);
    ASSERT_TRUE(hub.ok()) << hub.error().ToShortString();
    InitDevice("a");
    RawConnection stream((*hub)->port(),
                         Request("/v1/notes/feed/stream", TokenOf("a", hub->get())));
    ASSERT_TRUE(stream.ReadToEnd()) << stream.received();
    EXPECT_EQ(StatusOf(stream.received()), 200);
    EXPECT_NE(stream.received().find("retry: 3000"), std::string::npos) << stream.received();
  }

  TempDir dir_{"hub_status_process"};
  std::string store_;
  std::unique_ptr<HubProcess> hub_;
  std::string target_;
};

TEST_F(HubStatusProcessTest, AFeedPollWithTheHeadIsTheDevicesCheckpointShownByServeDevices) {
  InitDevice("a");
  Push("a", "one.txt");
  const std::string token = TokenOf("a");
  const std::string head = HeadVersion(token);
  ASSERT_FALSE(head.empty());
  const std::string poll = Get("/v1/notes/feed?after=" + head + "&wait_ms=0", token);
  ASSERT_EQ(StatusOf(poll), 200) << poll;
  // The checkpoint is written off the poll's thread: wait for it. The global
  // flag follows the command (it used to be refused).
  nlohmann::json listed;
  ASSERT_TRUE(WaitFor([&] {
    const ProcessRun devices =
        Hx({"serve", "devices", "--store", store_, "--vault", "notes", "--json"});
    if (devices.exit_code != 0) return false;
    listed = nlohmann::json::parse(devices.output);
    return listed["devices"].size() == 1 && listed["devices"][0]["acked_head"] == head;
  })) << listed.dump();
  EXPECT_GT(listed["devices"][0]["last_seen_ms"].get<std::int64_t>(), 0);
  const ProcessRun table = Hx({"serve", "devices", "--store", store_, "--vault", "notes"});
  EXPECT_NE(table.output.find(head), std::string::npos) << table.output;
}

TEST_F(HubStatusProcessTest, AWatchingAgentsCheckpointFollowsTheHead) {
  InitDevice("a");
  InitDevice("b");
  Push("a", "one.txt");
  const pid_t watch = hx::testing::StartProcess(HxBinary(), {"sync", "watch", Vault("b")},
                                                {"HX_PASSPHRASE="}, dir_.path() / "watch.log");
  // The agent's notifier long-polls with the head it last saw: that head
  // becomes b's checkpoint, and follows a's next push.
  auto acked_head_of_b = [&] {
    const ProcessRun devices =
        Hx({"--json", "serve", "devices", "--store", store_, "--vault", "notes"});
    if (devices.exit_code != 0) return std::string("<error>");
    const nlohmann::json listed = nlohmann::json::parse(devices.output);
    for (const nlohmann::json& device : listed["devices"]) {
      if (device["name"] == "b") return device["acked_head"].get<std::string>();
    }
    return std::string("<none>");
  };
  const std::string token = TokenOf("a");
  std::string head = HeadVersion(token);
  EXPECT_TRUE(WaitFor([&] { return acked_head_of_b() == head; })) << acked_head_of_b();
  Push("a", "two.txt");
  head = HeadVersion(token);
  EXPECT_TRUE(WaitFor([&] { return acked_head_of_b() == head; })) << acked_head_of_b();
  kill(watch, SIGTERM);
  int status = 0;
  waitpid(watch, &status, 0);
}

TEST_F(HubStatusProcessTest, TheSseStreamSendsAnEventWhenAnotherDevicePushes) {
  InitDevice("a");
  InitDevice("b");
  Push("a", "one.txt");
  RawConnection stream(hub_->port(), Request("/v1/notes/feed/stream", TokenOf("b")));
  ASSERT_TRUE(stream.sent());
  // The head it starts from (it differs from "none seen").
  ASSERT_TRUE(stream.ReadUntil([](const std::string& r) { return EventIds(r).size() >= 1; }))
      << stream.received();
  EXPECT_EQ(StatusOf(stream.received()), 200);
  EXPECT_NE(stream.received().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(stream.received().find("retry: 3000"), std::string::npos);
  const std::string first = EventIds(stream.received()).front();
  EXPECT_TRUE(WaitFor([&] { return OpenFeeds() == "1"; })) << OpenFeeds();
  // Another device pushes: one more event, with the new head.
  Push("a", "two.txt");
  ASSERT_TRUE(stream.ReadUntil([&](const std::string& r) { return EventIds(r).size() >= 2; }))
      << stream.received();
  EXPECT_NE(EventIds(stream.received())[1], first);
  EXPECT_EQ(EventIds(stream.received())[1], HeadVersion(TokenOf("b")));
  // Heartbeats keep it alive.
  ASSERT_TRUE(stream.ReadUntil(
      [](const std::string& r) { return r.find(": heartbeat\n\n") != std::string::npos; }));
  EXPECT_EQ(stream.received().find("Content-Length"), std::string::npos);
  // A reader's token is enough; no token is not.
  EXPECT_EQ(StatusOf(Get("/v1/notes/feed/stream", "")), 401);
}

TEST_F(HubStatusProcessTest, AStreamWhoseClientWentAwayIsDroppedFromTheOpenFeeds) {
  InitDevice("a");
  {
    RawConnection stream(hub_->port(), Request("/v1/notes/feed/stream", TokenOf("a")));
    ASSERT_TRUE(stream.ReadUntil(
        [](const std::string& r) { return r.find("retry: 3000") != std::string::npos; }));
    EXPECT_TRUE(WaitFor([&] { return OpenFeeds() == "1"; })) << OpenFeeds();
  }
  // The next heartbeats fail to write: the stream is cancelled and dropped.
  EXPECT_TRUE(WaitFor([&] { return OpenFeeds() == "0"; })) << OpenFeeds();
}

TEST_F(HubStatusProcessTest, AStreamEndsAfterItsLifetime) {
  // Streams live 1 s.
  ExpectTheHubEndsAStream({{"HX_TEST_HUB_SSE_LIFETIME_MS", "1000"}});
}

TEST_F(HubStatusProcessTest, AStreamNeverOutlivesTheTokenThatOpenedIt) {
  // Tokens live 2 s; streams would live 10 min. The hub ends the stream when
  // the token expires (a revoked device's stream too, within a token
  // lifetime); the client reconnects with a fresh token.
  ExpectTheHubEndsAStream({{"HX_TEST_HUB_TOKEN_LIFETIME_MS", "2000"}});
}

// A PUT of an object and an envelope's POST take bodies of up to their
// route's bound (megabytes): without a valid token they are refused on
// their headers, and the hub never reads, holds or waits for the body. The
// client here never sends it: a hub that waited for it would answer only
// once its body deadline passed, and not with 401.
TEST_F(HubStatusProcessTest, AWriteWithoutAValidTokenIsRefusedBeforeItsBodyIsRead) {
  InitDevice("a");
  for (const std::string target :
       {"PUT /v1/notes/o/blobs/x", "POST /v1/_envelope/notes/envelopes"}) {
    for (const std::string bearer : {"", "forged.token"}) {
      SCOPED_TRACE(target + " with bearer \"" + bearer + "\"");
      std::string request = target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n";
      if (!bearer.empty()) request += "Authorization: Bearer " + bearer + "\r\n";
      RawConnection connection(hub_->port(), request + "\r\n");
      ASSERT_TRUE(connection.ReadToEnd());  // the hub closes: the body is not awaited
      EXPECT_EQ(StatusOf(connection.received()), 401) << connection.received();
      EXPECT_NE(connection.received().find("KC_SYNC_AUTH_FAILED"), std::string::npos);
    }
  }
  // Counted as every reply is (the status page's error ring reads the same).
  const std::string metrics = BodyOf(Get("/metrics", ""));
  EXPECT_NE(metrics.find("hx_hub_requests_total{route=\"/v1/\",status=\"401\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("hx_hub_requests_total{route=\"/v1/_envelope/\",status=\"401\"} 2"),
            std::string::npos)
      << metrics;
  // With a writer's token the same PUT is admitted, and its body read.
  const std::string body = "bytes";
  RawConnection admitted(hub_->port(), "PUT /v1/notes/o/blobs/x HTTP/1.1\r\nHost: x\r\n"
                                       "Connection: close\r\nContent-Length: " +
                                           std::to_string(body.size()) +
                                           "\r\nAuthorization: Bearer " + TokenOf("a") +
                                           "\r\n\r\n" + body);
  ASSERT_TRUE(admitted.ReadToEnd());
  EXPECT_EQ(StatusOf(admitted.received()), 200) << admitted.received();
}

TEST_F(HubStatusProcessTest, AnAdminTokenOpensTheStatusJsonAndNoVault) {
  InitDevice("a");
  Push("a", "one.txt");
  const ProcessRun made =
      Hx({"serve", "admin-token", "--store", store_, "--expires", "1h", "--json"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string admin = nlohmann::json::parse(made.output)["token"];
  ASSERT_TRUE(admin.starts_with("hxt1.")) << made.output;
  // An error reply for the ring: a vault read without a token.
  EXPECT_EQ(StatusOf(Get("/v1/notes/list?prefix=", "")), 401);
  // The admin token does not open a vault.
  EXPECT_EQ(StatusOf(Get("/v1/notes/list?prefix=", admin)), 401);
  const std::string reply = Get("/v1/_admin/status", admin);
  ASSERT_EQ(StatusOf(reply), 200) << reply;
  const nlohmann::json status = nlohmann::json::parse(BodyOf(reply));
  ASSERT_EQ(status["vaults"].size(), 1u) << reply;
  EXPECT_EQ(status["vaults"][0]["devices"][0]["name"], "a");
  ASSERT_GE(status["vaults"][0]["pushes"].size(), 1u) << reply;
  EXPECT_EQ(status["vaults"][0]["pushes"][0]["device_name"], "a");
  EXPECT_EQ(status["vaults"][0]["pushes"][0]["head"], HeadVersion(TokenOf("a")));
  ASSERT_GE(status["errors"].size(), 2u) << reply;
  EXPECT_EQ(status["errors"][0]["code"], "KC_SYNC_AUTH_FAILED");
  EXPECT_EQ(status["errors"][0]["vault"], "notes");
  // The init and the push asked for objects that were not there yet (404s):
  // answers, not errors.
  for (const nlohmann::json& error : status["errors"]) {
    EXPECT_FALSE(error["status"] == 404 && error["route"] == "/v1/") << error.dump();
  }
  // A device's token is refused; the page itself needs no token.
  EXPECT_EQ(StatusOf(Get("/v1/_admin/status", TokenOf("a"))), 401);
  const std::string page = Get("/", "");
  EXPECT_EQ(StatusOf(page), 200);
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
}

}  // namespace
}  // namespace hx::hub
