// The SigV4 signer against every header-signing case of the AWS test suites
// in ../shared/vectors (byte-exact canonical request, string to sign,
// signature and Authorization), and against the S3 API Reference examples.
#include "store/s3/sigv4.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace hx::s3 {
namespace {

namespace fs = std::filesystem;

const fs::path kVectors = fs::path(HX_SHARED_DIR) / "vectors";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      if (auto byte = FromHex(text.substr(i + 1, 2)); byte.has_value() && byte->size() == 1) {
        out.push_back(static_cast<char>((*byte)[0]));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

struct RawRequest {
  SigV4Request request;
  std::string body;
};

// Parses the suites' request files: "METHOD PATH HTTP/1.1", header lines
// "Name:value" (a line starting with a space continues the previous value),
// an empty line, then the body. The path may contain spaces.
RawRequest ParseRequest(const std::string& text) {
  RawRequest raw;
  std::size_t pos = text.find('\n');
  const std::string first = text.substr(0, pos);
  const std::size_t method_end = first.find(' ');
  const std::size_t version_start = first.rfind(' ');
  raw.request.method = first.substr(0, method_end);
  const std::string target = first.substr(method_end + 1, version_start - method_end - 1);
  const std::size_t question = target.find('?');
  raw.request.path = PercentDecode(target.substr(0, question));
  if (question != std::string::npos) {
    std::stringstream query(target.substr(question + 1));
    std::string part;
    while (std::getline(query, part, '&')) {
      const std::size_t eq = part.find('=');
      raw.request.query.emplace_back(
          PercentDecode(part.substr(0, eq)),
          eq == std::string::npos ? "" : PercentDecode(part.substr(eq + 1)));
    }
  }
  while (pos != std::string::npos && pos + 1 <= text.size()) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string line = text.substr(start, pos == std::string::npos ? pos : pos - start);
    if (line.empty()) {
      if (pos != std::string::npos) raw.body = text.substr(pos + 1);
      break;
    }
    if (line[0] == ' ' && !raw.request.headers.empty()) {
      raw.request.headers.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    raw.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  raw.request.payload_sha256_hex = ToHex(Sha256(raw.body));
  return raw;
}

// The value of the Authorization line of a signed request.
std::string AuthorizationOf(const std::string& signed_request) {
  const std::string prefix = "\nAuthorization:";
  const std::size_t start = signed_request.find(prefix);
  if (start == std::string::npos) return "";
  const std::size_t value = start + prefix.size();
  return signed_request.substr(value, signed_request.find('\n', value) - value);
}

TEST(SigV4, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(UriEncode("a b/c+$%"), "a%20b%2Fc%2B%24%25");
  EXPECT_EQ(UriEncodePath("/a b/c"), "/a%20b/c");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4"), "%E1%88%B4");
}

TEST(SigV4, CanonicalQuerySortsByEncodedNameThenValue) {
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"uploads", ""}}),
            "a=y&a=z&b=2&uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a/b c"}}), "prefix=a%2Fb%20c");
}

TEST(SigV4, AmzDateIsUtcBasicFormat) {
  EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z");
  EXPECT_EQ(AmzDate(0), "19700101T000000Z");
}

TEST(SigV4, SignsEveryCaseOfTheCrtSuite) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kVectors / "sigv4_crt" / "v4")) {
    if (!entry.is_directory()) continue;
    const fs::path dir = entry.path();
    SCOPED_TRACE(dir.filename().string());
    const auto context = nlohmann::json::parse(ReadFile(dir / "context.json"));
    RawRequest raw = ParseRequest(ReadFile(dir / "request.txt"));
    AwsCredentials credentials{context["credentials"]["access_key_id"],
                               context["credentials"]["secret_access_key"],
                               context["credentials"].value("token", "")};
    const std::string timestamp = context["timestamp"];  // 2015-08-30T12:36:00Z
    std::string amz_date;
    for (const char c : timestamp) {
      if (c != '-' && c != ':') amz_date.push_back(c);
    }
    SigV4Options options{.region = context["region"],
                         .service = context["service"],
                         .amz_date = amz_date,
                         .normalize_path = context["normalize"],
                         .add_content_sha256_header = context["sign_body"],
                         .sign_session_token = !context.value("omit_session_token", false)};
    const SigV4Signature signature = SignV4(raw.request, credentials, options);
    EXPECT_EQ(signature.canonical_request, ReadFile(dir / "header-canonical-request.txt"));
    EXPECT_EQ(signature.string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
    EXPECT_EQ(signature.signature, ReadFile(dir / "header-signature.txt"));
    EXPECT_EQ(signature.authorization,
              AuthorizationOf(ReadFile(dir / "header-signed-request.txt")));
    ++cases;
  }
  EXPECT_EQ(cases, 38);
}

TEST(SigV4, SignsEveryCaseOfTheClassicSuite) {
  int cases = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kVectors / "sigv4")) {
    if (entry.path().extension() != ".req") continue;
    const fs::path base = entry.path().parent_path() / entry.path().stem();
    SCOPED_TRACE(base.string());
    RawRequest raw = ParseRequest(ReadFile(entry.path()));
    // The suite's session-token case states its token only in the expected
    // canonical request (botocore passes it as a credential).
    const std::string creq = ReadFile(base.string() + ".creq");
    std::string token;
    if (entry.path().stem() == "get-vanilla-with-session-token") {
      const std::size_t at = creq.find("x-amz-security-token:") + 21;
      token = creq.substr(at, creq.find('\n', at) - at);
    }
    const AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                     token};
    const SigV4Options options{.region = "us-east-1",
                               .service = "service",
                               .amz_date = "20150830T123600Z",
                               .normalize_path = true,
                               .add_content_sha256_header = false};
    const SigV4Signature signature = SignV4(raw.request, credentials, options);
    EXPECT_EQ(signature.canonical_request, creq);
    EXPECT_EQ(signature.string_to_sign, ReadFile(base.string() + ".sts"));
    EXPECT_EQ(signature.authorization, ReadFile(base.string() + ".authz"));
    ++cases;
  }
  EXPECT_EQ(cases, 34);
}

TEST(SigV4, SignsTheS3ApiReferenceExamples) {
  const auto doc = nlohmann::json::parse(ReadFile(kVectors / "s3_sigv4_examples.json"));
  const auto& common = doc["common"];
  EXPECT_EQ(ToHex(SigningKey(common["secret_access_key"].get<std::string>(),
                             common["date_stamp"].get<std::string>(), "us-east-1", "s3")),
            common["signing_key_hex"]);
  int cases = 0;
  for (const auto& [name, example] : doc["examples"].items()) {
    // Presigned URLs and chunked uploads are other signing modes, not used by hx.
    if (!example.contains("canonical_request") || !example.contains("headers")) continue;
    if (example.contains("query_params_before_signature") || name.find("chunk") != std::string::npos) continue;
    SCOPED_TRACE(name);
    SigV4Request request;
    request.method = example["method"];
    request.path = example["path"];
    const std::string query = example["query"];
    std::stringstream parts(query);
    std::string part;
    while (std::getline(parts, part, '&')) {
      const std::size_t eq = part.find('=');
      request.query.emplace_back(part.substr(0, eq),
                                 eq == std::string::npos ? "" : part.substr(eq + 1));
    }
    for (const auto& [header, value] : example["headers"].items()) {
      request.headers.emplace_back(header, value.get<std::string>());
    }
    request.payload_sha256_hex = example["payload_sha256"];
    const SigV4Signature signature =
        SignV4(request, {common["access_key_id"], common["secret_access_key"], ""},
               {.region = "us-east-1", .service = "s3", .amz_date = common["amz_date"]});
    EXPECT_TRUE(signature.added_headers.size() == 1);  // Authorization only
    EXPECT_EQ(signature.canonical_request, example["canonical_request"]);
    EXPECT_EQ(signature.string_to_sign, example["string_to_sign"]);
    EXPECT_EQ(signature.signature, example["expected_signature_from_docs"]);
    // The docs print the Authorization value without spaces after the
    // commas; both forms are valid and hx sends the suite's ", " form.
    std::string authorization = signature.authorization;
    for (std::size_t at; (at = authorization.find(", ")) != std::string::npos;) {
      authorization.erase(at + 1, 1);
    }
    EXPECT_EQ(authorization, example["authorization"]);
    ++cases;
  }
  EXPECT_EQ(cases, 4);
}

TEST(SigV4, SignsTheRealPayloadHashForS3) {
  const std::vector<std::uint8_t> body = {'h', 'x'};
  SigV4Request request{.method = "PUT",
                       .path = "/bucket/key",
                       .query = {},
                       .headers = {{"Host", "s3.example"}},
                       .payload_sha256_hex = PayloadSha256Hex(body)};
  const SigV4Signature signature =
      SignV4(request, {"AK", "SECRET", "TOKEN"},
             {.region = "eu-west-1", .service = "s3", .amz_date = "20260101T000000Z"});
  EXPECT_NE(signature.canonical_request.find("x-amz-content-sha256:" + PayloadSha256Hex(body)),
            std::string::npos);
  EXPECT_EQ(signature.canonical_request.find("UNSIGNED-PAYLOAD"), std::string::npos);
  EXPECT_NE(signature.canonical_request.find("x-amz-security-token:TOKEN"), std::string::npos);
  for (const auto& [name, value] : signature.added_headers) {
    EXPECT_EQ(value.find("SECRET"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace hx::s3
