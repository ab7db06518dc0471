// The hub holds no plaintext, in its logs too (issue 16, "must show"): a real
// `hx serve` with auth, logging at trace (the most verbose level) once to a
// --log-file and once to stderr, both captured, while two enrolled devices
// init, push and pull an encrypted vault holding a marker file. Then the
// backing store, the log file and stderr are searched for the marker's name
// and content, and for every credential that crossed the hub: bearer tokens
// ("hxt1." texts), enrollment codes ("hxe1-"), the devices' key seeds and the
// passphrase. The logs must also show the requests (one hub.request line
// each), so the search is over a log that says something.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/process_test_util.h"
#include "hub/testing/hub_process.h"
#include "store/store_test_util.h"

namespace hx::hub {
namespace {

namespace fs = std::filesystem;
using store_testing::TempFolder;
using testing::HubProcess;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Every file or folder under `root` whose path below root, or whose bytes,
// contain `needle`.
std::vector<std::string> FilesContaining(const fs::path& root, const std::string& needle) {
  std::vector<std::string> out;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
    const bool in_name =
        fs::relative(entry.path(), root).string().find(needle) != std::string::npos;
    if (in_name || (entry.is_regular_file() &&
                    ReadAll(entry.path()).find(needle) != std::string::npos)) {
      out.push_back(entry.path().string());
    }
  }
  return out;
}

struct LogSink {
  std::string name;
  bool to_file;  // --log-file; else the logger writes to stderr
};

class HubLogsTest : public ::testing::TestWithParam<LogSink> {};

TEST_P(HubLogsTest, AtTraceTheHubsLogsAndStoreHoldNoPlaintextAndNoCredential) {
  TempFolder dir;
  const fs::path store = dir.Join("store");
  const fs::path log_file = dir.Join("hub.log");
  const fs::path stderr_file = dir.Join("hub.stderr");
  fs::create_directories(store);
  std::vector<std::string> args = {"--log-level", "trace"};
  if (GetParam().to_file) args.insert(args.end(), {"--log-file", log_file.string()});
  args.insert(args.end(), {"--store", store.string(), "--insecure-listen", "127.0.0.1:0"});
  Result<std::unique_ptr<HubProcess>> hub = HubProcess::Start(args, {}, stderr_file.string());
  ASSERT_TRUE(hub.ok()) << hub.error().ToShortString();

  const std::string passphrase = "hub logs passphrase 3c9e";
  const std::vector<std::string> env = {"HOME=" + dir.path(), "HX_PASSPHRASE=" + passphrase};
  auto hx = [&](const std::vector<std::string>& hx_args) {
    return hx::testing::RunProcess(testing::HxBinary(), hx_args, env);
  };
  std::vector<std::string> codes;
  auto enroll = [&] {
    auto run = hx({"serve", "enroll", "--store", store.string(), "--vault", "notes", "--role",
                   "writer"});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    std::string out = run.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    codes.push_back(out.substr(out.rfind('\n') + 1));
    return codes.back();
  };
  const std::string target = "hx://" + (*hub)->address() + "/notes";
  const std::string a = dir.Join("a");
  const std::string b = dir.Join("b");
  auto run = hx({"sync", "init", a, target, "--enroll", enroll(), "--device-name", "a"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string marker_name = "marker-name-4be1d7.txt";
  const std::string marker_text = "marker content 90c2aa17 stays on the devices";
  store_testing::WriteFileOrDie(a + "/" + marker_name, marker_text);
  run = hx({"sync", "push", a});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = hx({"sync", "init", b, target, "--enroll", enroll(), "--device-name", "b"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = hx({"sync", "pull", b});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(store_testing::ReadFileOrEmpty(b + "/" + marker_name), marker_text);
  (*hub)->StopWith(SIGTERM);  // flushes and closes the logs

  // The logs are verbose: they hold a line for the requests of the flow.
  const std::string log =
      GetParam().to_file ? ReadAll(log_file) : ReadAll(stderr_file);
  EXPECT_NE(log.find("\"event\":\"hub.request\""), std::string::npos) << log.substr(0, 2000);
  EXPECT_NE(log.find("/v1/notes/"), std::string::npos);
  EXPECT_NE(log.find("/v1/_auth/notes/token"), std::string::npos);

  std::vector<std::string> secrets = {marker_name, "marker content", passphrase, "hxt1.",
                                      "Bearer", "hxe1-"};
  for (const std::string& code : codes) secrets.push_back(code.substr(5));
  for (const std::string& device : {a, b}) {
    const std::string credential = ReadAll(fs::path(device) / ".hx" / "hub-credential.json");
    const std::string seed = nlohmann::json::parse(credential)["seed"].get<std::string>();
    ASSERT_GE(seed.size(), 32u);
    secrets.push_back(seed);
  }
  for (const std::string& secret : secrets) {
    for (const fs::path& where : {log_file, stderr_file}) {
      if (!fs::exists(where)) continue;
      EXPECT_EQ(ReadAll(where).find(secret), std::string::npos)
          << where << " holds \"" << secret << "\"";
    }
    // The backing store: the marker in neither name nor bytes. (It does hold
    // the enrollment records, named by the codes' BLAKE3 only.)
    if (secret == "hxe1-" || secret == "Bearer") continue;
    EXPECT_TRUE(FilesContaining(store, secret).empty()) << "the store holds \"" << secret << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(Sinks, HubLogsTest,
                         ::testing::Values(LogSink{"file", true}, LogSink{"stderr", false}),
                         [](const ::testing::TestParamInfo<LogSink>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace hx::hub
