// Credentials and region are found where the AWS CLI finds them, and no
// error ever shows a secret.
#include "store/s3/credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace hx::s3 {
namespace {

using store_testing::TempFolder;

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

class CredentialsTest : public ::testing::Test {
 protected:
  TempFolder home;
  CredentialEnvironment env{{}, home.path()};
  std::string credentials_file = home.Join(".aws/credentials");
  std::string config_file = home.Join(".aws/config");
};

TEST_F(CredentialsTest, EnvironmentVariablesComeFirst) {
  Write(credentials_file, "[default]\naws_access_key_id = FILE\naws_secret_access_key = FILE\n");
  env.variables = {{"AWS_ACCESS_KEY_ID", "ENVID"},
                   {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                   {"AWS_SESSION_TOKEN", "ENVTOKEN"}};
  auto credentials = LoadCredentials(env);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "ENVID");
  EXPECT_EQ(credentials->secret_access_key, "ENVSECRET");
  EXPECT_EQ(credentials->session_token, "ENVTOKEN");
}

TEST_F(CredentialsTest, TheDefaultProfileOfTheCredentialsFile) {
  Write(credentials_file,
        "# comment\n; another\n[default]\n  aws_access_key_id=AKID  \nAWS_SECRET_ACCESS_KEY = s/e+c=\n"
        "aws_session_token = tok\n[other]\naws_access_key_id = O\naws_secret_access_key = O\n");
  auto credentials = LoadCredentials(env);
  ASSERT_TRUE(credentials.ok()) << credentials.error().ToShortString();
  EXPECT_EQ(credentials->access_key_id, "AKID");
  EXPECT_EQ(credentials->secret_access_key, "s/e+c=");
  EXPECT_EQ(credentials->session_token, "tok");
}

TEST_F(CredentialsTest, AwsProfileChoosesTheSection) {
  Write(credentials_file, "[default]\naws_access_key_id = D\naws_secret_access_key = D\n"
                          "[work]\naws_access_key_id = W\naws_secret_access_key = WS\n");
  env.variables = {{"AWS_PROFILE", "work"}};
  EXPECT_EQ(LoadCredentials(env)->access_key_id, "W");
}

TEST_F(CredentialsTest, TheConfigFileIsReadWithProfilePrefixes) {
  Write(config_file, "[default]\nregion = eu-west-3\n"
                     "[profile work]\nregion = ap-south-1\naws_access_key_id = C\n"
                     "aws_secret_access_key = CS\ns3 =\n  addressing_style = path\n");
  env.variables = {{"AWS_PROFILE", "work"}};
  auto credentials = LoadCredentials(env);
  ASSERT_TRUE(credentials.ok()) << credentials.error().ToShortString();
  EXPECT_EQ(credentials->access_key_id, "C");
  EXPECT_EQ(ResolveRegion("", env), "ap-south-1");
  env.variables.clear();
  EXPECT_EQ(ResolveRegion("", env), "eu-west-3");
}

TEST_F(CredentialsTest, FileLocationsFollowTheirVariables) {
  const std::string elsewhere = home.Join("elsewhere/creds");
  const std::string config = home.Join("elsewhere/conf");
  Write(elsewhere, "[default]\naws_access_key_id = E\naws_secret_access_key = ES\n");
  Write(config, "[default]\nregion = sa-east-1\n");
  env.variables = {{"AWS_SHARED_CREDENTIALS_FILE", elsewhere}, {"AWS_CONFIG_FILE", config}};
  EXPECT_EQ(LoadCredentials(env)->access_key_id, "E");
  EXPECT_EQ(ResolveRegion("", env), "sa-east-1");
}

TEST_F(CredentialsTest, RegionOrder) {
  Write(config_file, "[default]\nregion = eu-west-3\n");
  EXPECT_EQ(ResolveRegion("us-west-2", env), "us-west-2");
  env.variables = {{"AWS_DEFAULT_REGION", "ca-central-1"}};
  EXPECT_EQ(ResolveRegion("", env), "ca-central-1");
  env.variables["AWS_REGION"] = "eu-north-1";
  EXPECT_EQ(ResolveRegion("", env), "eu-north-1");
  CredentialEnvironment empty{{}, home.Join("nowhere")};
  EXPECT_EQ(ResolveRegion("", empty), "us-east-1");
}

TEST_F(CredentialsTest, NoCredentialsIsAuthFailedNamingWhereToPutThem) {
  auto credentials = LoadCredentials(env);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, SyncCode::kAuthFailed);
  EXPECT_NE(credentials.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(credentials.error().message.find(credentials_file), std::string::npos);
}

TEST_F(CredentialsTest, AHalfProfileIsAuthFailedWithoutShowingTheKey) {
  Write(credentials_file, "[default]\naws_secret_access_key = TOPSECRETVALUE\n");
  auto credentials = LoadCredentials(env);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, SyncCode::kAuthFailed);
  EXPECT_EQ(credentials.error().ToJson().find("TOPSECRETVALUE"), std::string::npos);
}

TEST_F(CredentialsTest, MalformedFilesNameTheLineNotTheContent) {
  Write(credentials_file, "[default]\naws_access_key_id = A\nTOPSECRET-NO-EQUALS\n");
  auto credentials = LoadCredentials(env);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(credentials.error().details.at("line"), "3");
  EXPECT_EQ(credentials.error().ToJson().find("TOPSECRET"), std::string::npos);
  for (const char* bad : {"key = before section\n", "[unterminated\n"}) {
    EXPECT_FALSE(ParseAwsIni(bad, "f").ok()) << bad;
  }
}

TEST_F(CredentialsTest, AnEmptyVariableCountsAsUnset) {
  Write(credentials_file, "[default]\naws_access_key_id = F\naws_secret_access_key = FS\n");
  env.variables = {{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_PROFILE", ""}};
  EXPECT_EQ(LoadCredentials(env)->access_key_id, "F");
}

TEST(CredentialEnvironmentTest, FromProcessKeepsAwsAndHxS3VariablesOnly) {
  ::setenv("HX_S3_MAX_ATTEMPTS", "7", 1);
  ::setenv("AWS_REGION", "eu-west-3", 1);
  ::setenv("HX_UNRELATED_FOR_TEST", "x", 1);
  const CredentialEnvironment env = CredentialEnvironment::FromProcess();
  ::unsetenv("HX_S3_MAX_ATTEMPTS");
  ::unsetenv("HX_UNRELATED_FOR_TEST");
  ::unsetenv("AWS_REGION");
  EXPECT_EQ(env.Get("HX_S3_MAX_ATTEMPTS"), "7");
  EXPECT_EQ(env.Get("AWS_REGION"), "eu-west-3");
  EXPECT_EQ(env.Get("HX_UNRELATED_FOR_TEST"), std::nullopt);
}

}  // namespace
}  // namespace hx::s3
