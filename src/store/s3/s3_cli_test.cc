// hx end to end over S3: the real hx binary runs `sync init`, `push` and
// `pull` against a moto_server bucket (signature checking on), with
// credentials from the environment for one device and from an AWS
// credentials file and profile for the other. Also: a wrong secret fails
// with KC_SYNC_AUTH_FAILED and the secret appears nowhere in the output.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/process_test_util.h"
#include "base/temp_dir_test_util.h"
#include "store/s3/testing/moto_server.h"

namespace hx::s3 {
namespace {

namespace fs = std::filesystem;

using hx::testing::TempDir;

using HxRun = hx::testing::ProcessRun;

// Runs hx with `args` and exactly the environment `env` (plus PATH).
HxRun RunHx(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  return hx::testing::RunProcess(HX_BINARY, args, env, hx::testing::EnvBase::kPathOnly);
}

void WriteFile(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << contents;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class S3CliTest : public ::testing::Test {
 protected:
  testing::MotoServer& moto = testing::SharedMotoServer();
  TempDir dir;
  std::string bucket = moto.NewBucket();
  std::string target = "s3+endpoint://" + bucket + "/vaults/family";

  std::vector<std::string> TargetArgs() const {
    return {target, "--endpoint", moto.endpoint(), "--path-style"};
  }
  // An environment with no AWS settings but a home of its own.
  std::vector<std::string> BaseEnv(const std::string& home) const {
    return {"HOME=" + (dir.path() / home).string(), "HX_PASSPHRASE=s3 round trip passphrase"};
  }
  std::vector<std::string> KeyEnv(const std::string& home) const {
    auto env = BaseEnv(home);
    env.push_back("AWS_ACCESS_KEY_ID=" + moto.credentials().access_key_id);
    env.push_back("AWS_SECRET_ACCESS_KEY=" + moto.credentials().secret_access_key);
    return env;
  }
};

TEST_F(S3CliTest, InitPushPullRoundTripThroughS3) {
  const fs::path a = dir.path() / "a";
  const fs::path b = dir.path() / "b";
  std::vector<std::string> init_a = {"--json", "sync", "init", a.string()};
  for (const auto& arg : TargetArgs()) init_a.push_back(arg);
  HxRun run = RunHx(init_a, KeyEnv("home-a"));
  ASSERT_EQ(run.exit_code, 0) << run.output;

  WriteFile(a / "notes/todo.txt", "buy milk\n");
  WriteFile(a / "big.bin", std::string(3 << 20, 'x') + "end");
  run = RunHx({"--json", "sync", "push", a.string()}, KeyEnv("home-a"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // The cost report: S3 requests by method, priced at AWS's list prices.
  const nlohmann::json pushed = nlohmann::json::parse(run.output, nullptr, false);
  ASSERT_TRUE(pushed.is_object()) << run.output;
  const nlohmann::json& usage = pushed["store_usage"];
  EXPECT_EQ(usage["prices"], "aws_s3_standard_us_east_1_list");
  EXPECT_GE(usage["requests"]["PUT"].get<int>(), 3);  // pack, snapshot, head, manifest, lock
  EXPECT_GE(usage["bytes_up"].get<std::uint64_t>(), pushed["bytes_uploaded"].get<std::uint64_t>());
  ASSERT_TRUE(usage["estimated_cost_usd"].is_string());
  EXPECT_GT(std::stod(usage["estimated_cost_usd"].get<std::string>()), 0.0);

  // Device b reads its key from ~/.aws/credentials, profile "hx".
  WriteFile(dir.path() / "home-b/.aws/credentials",
            "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = x\n\n"
            "[hx]\naws_access_key_id = " + moto.credentials().access_key_id +
                "\naws_secret_access_key = " + moto.credentials().secret_access_key + "\n");
  auto env_b = BaseEnv("home-b");
  env_b.push_back("AWS_PROFILE=hx");
  std::vector<std::string> init_b = {"--json", "sync", "init", b.string()};
  for (const auto& arg : TargetArgs()) init_b.push_back(arg);
  run = RunHx(init_b, env_b);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // Prices overridden (here: free): the same requests at zero.
  auto env_b_free = env_b;
  env_b_free.push_back("HX_S3_PRICES=put=0,get=0,egress_gb=0");
  run = RunHx({"--json", "sync", "pull", b.string()}, env_b_free);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json pulled = nlohmann::json::parse(run.output, nullptr, false);
  ASSERT_TRUE(pulled.is_object()) << run.output;
  EXPECT_EQ(pulled["store_usage"]["prices"], "custom");
  EXPECT_EQ(pulled["store_usage"]["estimated_cost_usd"], "0.000000");
  EXPECT_GE(pulled["store_usage"]["bytes_down"].get<std::uint64_t>(),
            pulled["bytes_fetched"].get<std::uint64_t>());
  EXPECT_EQ(ReadFile(b / "notes/todo.txt"), "buy milk\n");
  EXPECT_EQ(ReadFile(b / "big.bin"), std::string(3 << 20, 'x') + "end");

  // And back: b edits, a pulls.
  WriteFile(b / "notes/todo.txt", "buy milk\nand bread\n");
  run = RunHx({"--json", "sync", "push", b.string()}, env_b);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = RunHx({"--json", "sync", "pull", a.string()}, KeyEnv("home-a"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(ReadFile(a / "notes/todo.txt"), "buy milk\nand bread\n");
}

TEST_F(S3CliTest, AWrongSecretIsAuthFailedAndTheSecretIsNeverPrinted) {
  const std::string secret = "NotTheRightSecretAtAll0123456789abcdefgh";
  auto env = BaseEnv("home-c");
  env.push_back("AWS_ACCESS_KEY_ID=" + moto.credentials().access_key_id);
  env.push_back("AWS_SECRET_ACCESS_KEY=" + secret);
  for (const bool json : {true, false}) {
    std::vector<std::string> args = {"sync", "init", (dir.path() / "c").string()};
    if (json) args.insert(args.begin(), "--json");
    for (const auto& arg : TargetArgs()) args.push_back(arg);
    HxRun run = RunHx(args, env);
    EXPECT_NE(run.exit_code, 0);
    EXPECT_NE(run.output.find("KC_SYNC_AUTH_FAILED"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find(secret), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find(moto.credentials().secret_access_key), std::string::npos);
  }
}

TEST_F(S3CliTest, MissingCredentialsSayWhereTheyAreLookedFor) {
  std::vector<std::string> args = {"--json", "sync", "init", (dir.path() / "d").string()};
  for (const auto& arg : TargetArgs()) args.push_back(arg);
  HxRun run = RunHx(args, BaseEnv("home-d"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("KC_SYNC_AUTH_FAILED"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("AWS_ACCESS_KEY_ID"), std::string::npos) << run.output;
}

TEST_F(S3CliTest, AMissingBucketIsTargetInvalid) {
  std::vector<std::string> args = {"--json", "sync", "init", (dir.path() / "e").string(),
                                   "s3+endpoint://hx-no-such-bucket/v", "--endpoint",
                                   moto.endpoint(), "--path-style"};
  HxRun run = RunHx(args, KeyEnv("home-e"));
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("KC_SYNC_TARGET_INVALID"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace hx::s3
