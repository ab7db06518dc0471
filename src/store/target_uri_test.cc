// The target URI grammar, as a table: every row is one rule of
// docs/FORMAT.md ("Target URIs"), with the input, the S3 options, the working
// directory, and either the Target it names or the error it earns.
#include "store/target_uri.h"

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace hx {

// Printers for failure messages (found by argument-dependent lookup).
std::ostream& operator<<(std::ostream& os, const Target& t) {
  if (t.kind == TargetKind::kHub) {
    return os << "Hub{host=" << t.hub_host << " vault=" << t.vault << " tls=" << t.hub_tls << "}";
  }
  return os << (t.kind == TargetKind::kFolder ? "Folder{" : "S3{") << "path=" << t.path
            << " bucket=" << t.bucket << " prefix=" << t.prefix << " endpoint=" << t.endpoint
            << " path_style=" << t.path_style << " region=" << t.region << "}";
}

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kCwd = "/home/me/vault";

TargetOptions Opts(std::string endpoint = "", bool path_style = false, std::string region = "") {
  return TargetOptions{std::move(endpoint), path_style, std::move(region)};
}

Target Folder(std::string path) {
  Target t;
  t.kind = TargetKind::kFolder;
  t.path = std::move(path);
  return t;
}

Target S3(std::string bucket, std::string prefix, std::string region = "us-east-1",
          std::string endpoint = "", bool path_style = false) {
  Target t;
  t.kind = TargetKind::kS3;
  t.bucket = std::move(bucket);
  t.prefix = std::move(prefix);
  t.region = std::move(region);
  t.endpoint = std::move(endpoint);
  t.path_style = path_style;
  return t;
}

Target Hub(std::string host, std::string vault, bool tls) {
  Target t;
  t.kind = TargetKind::kHub;
  t.hub_host = std::move(host);
  t.vault = std::move(vault);
  t.hub_tls = tls;
  return t;
}

// ------------------------------------------------------------ accepted

struct AcceptCase {
  std::string name;
  std::string uri;
  TargetOptions options;
  std::string cwd;
  Target want;
};

std::vector<AcceptCase> AcceptCases() {
  const std::string minio = "http://localhost:9000";
  return {
      // Plain paths: absolute, or relative to the caller's cwd; normalized
      // lexically; taken literally (no percent-decoding, no '~').
      {"AbsolutePath", "/mnt/store", Opts(), std::string(kCwd), Folder("/mnt/store")},
      {"RelativePathJoinsCwd", "store", Opts(), "/home/me", Folder("/home/me/store")},
      {"DotSlashRelativePath", "./store", Opts(), "/home/me", Folder("/home/me/store")},
      {"DotDotResolvesLexicallyAgainstCwd", "../store", Opts(), std::string(kCwd),
       Folder("/home/me/store")},
      {"DotIsTheCwdItself", ".", Opts(), "/home/me", Folder("/home/me")},
      {"CwdIsNormalizedToo", "store", Opts(), "/home//me/./x/../", Folder("/home/me/store")},
      {"RepeatedSlashesCollapse", "//mnt//store///x", Opts(), "", Folder("/mnt/store/x")},
      {"TrailingSlashIsDropped", "/mnt/store/", Opts(), "", Folder("/mnt/store")},
      {"DotSegmentsAreDropped", "/mnt/./store/.", Opts(), "", Folder("/mnt/store")},
      {"DotDotAboveRootStaysAtRoot", "/../../mnt/x", Opts(), "", Folder("/mnt/x")},
      {"AbsolutePathNeedsNoCwd", "/a/b", Opts(), "", Folder("/a/b")},
      {"PlainPathIsLiteralNoPercentDecoding", "/mnt/100%25", Opts(), "", Folder("/mnt/100%25")},
      {"PlainPathMayHoldSpacesAndUnicode", "/mnt/My St\xC3\xB6re", Opts(), "",
       Folder("/mnt/My St\xC3\xB6re")},
      {"ColonInRelativeFolderAfterDotSlash", "./backup:2024", Opts(), "/home/me",
       Folder("/home/me/backup:2024")},
      {"TildeInsideAPathIsLiteral", "/home/me/~old", Opts(), "", Folder("/home/me/~old")},
      {"BackslashIsAnOrdinaryPosixNameChar", "/mnt/a\\b", Opts(), "", Folder("/mnt/a\\b")},
      {"QuestionMarkAndHashInPlainPath", "/mnt/a?b#c", Opts(), "", Folder("/mnt/a?b#c")},
      // file URIs (RFC 8089): empty host or localhost, percent-decoded.
      // Hub targets (hx serve): the port defaults to 443 (hxs) or 80 (hx).
      {"HxsHubWithPort", "hxs://hub.example.com:8443/team-notes", Opts(), "",
       Hub("hub.example.com:8443", "team-notes", true)},
      {"HxsHubDefaultPort", "HXS://Hub.Example.com/v", Opts(), "", Hub("hub.example.com:443", "v", true)},
      {"HxLoopbackHub", "hx://127.0.0.1:4711/vault1/", Opts(), "", Hub("127.0.0.1:4711", "vault1", false)},
      {"HxIpv6Hub", "hx://[::1]:4711/v", Opts(), "", Hub("[::1]:4711", "v", false)},
      {"FileUri", "file:///mnt/store", Opts(), "", Folder("/mnt/store")},
      {"FileUriWithLocalhost", "file://localhost/mnt/store", Opts(), "", Folder("/mnt/store")},
      {"FileUriSchemeAndHostAreCaseInsensitive", "FILE://LocalHost/mnt/x", Opts(), "",
       Folder("/mnt/x")},
      {"FileUriIsPercentDecoded", "file:///mnt/My%20Store/%C3%A9t%c3%a9", Opts(), "",
       Folder("/mnt/My Store/\xC3\xA9t\xC3\xA9")},
      {"FileUriAcceptsRawSpaceAndUtf8", "file:///mnt/My St\xC3\xB6re", Opts(), "",
       Folder("/mnt/My St\xC3\xB6re")},
      {"FileUriDotSegmentsAreResolved", "file:///mnt/a/../b/./c/", Opts(), "",
       Folder("/mnt/b/c")},
      {"FileUriEncodedDotsAreDots", "file:///mnt/a/%2e%2E/b", Opts(), "", Folder("/mnt/b")},
      {"FileUriEncodedPercentIsLiteral", "file:///mnt/100%25", Opts(), "", Folder("/mnt/100%")},
      {"FileUriIgnoresCwd", "file:///x/y", Opts(), "relative", Folder("/x/y")},
      // s3:// is AWS: region from --region or us-east-1.
      {"S3BucketAndPrefix", "s3://my-bucket/hx/vault", Opts(), "", S3("my-bucket", "hx/vault")},
      {"S3WithoutPrefix", "s3://my-bucket", Opts(), "", S3("my-bucket", "")},
      {"S3BucketWithSlashOnly", "s3://my-bucket/", Opts(), "", S3("my-bucket", "")},
      {"S3OneTrailingSlashIsDropped", "s3://my-bucket/hx/", Opts(), "", S3("my-bucket", "hx")},
      {"S3RegionFromOptions", "s3://b12/p", Opts("", false, "eu-west-1"), "",
       S3("b12", "p", "eu-west-1")},
      {"S3SchemeIsCaseInsensitive", "S3://bucket/p", Opts(), "", S3("bucket", "p")},
      {"S3PathStyleOnRequest", "s3://bucket/p", Opts("", true), "",
       S3("bucket", "p", "us-east-1", "", true)},
      {"S3DottedBucketForcesPathStyleForTls", "s3://my.bucket/p", Opts(), "",
       S3("my.bucket", "p", "us-east-1", "", true)},
      {"S3PrefixMayUseLettersDigitsDashUnderscoreDot", "s3://bucket/A-Z_0.9/x..y", Opts(), "",
       S3("bucket", "A-Z_0.9/x..y")},
      {"S3PrefixAtTheLengthLimit", "s3://bucket/" + std::string(kMaxS3PrefixBytes, 'p'), Opts(),
       "", S3("bucket", std::string(kMaxS3PrefixBytes, 'p'))},
      {"S3BucketOfMaximalLength", "s3://" + std::string(63, 'b'), Opts(), "",
       S3(std::string(63, 'b'), "")},
      // s3+endpoint:// is any S3-compatible server named by --endpoint.
      {"S3EndpointMinio", "s3+endpoint://hx-store/v1", Opts(minio, true), "",
       S3("hx-store", "v1", "us-east-1", minio, true)},
      {"S3EndpointIsCanonicalized", "S3+Endpoint://bucket",
       Opts("HTTPS://Minio.Example.COM:443/", false, "garage"), "",
       S3("bucket", "", "garage", "https://minio.example.com", false)},
      {"S3EndpointDefaultHttpPortIsDropped", "s3+endpoint://bucket", Opts("http://minio:80"), "",
       S3("bucket", "", "us-east-1", "http://minio", false)},
      {"S3EndpointIpAddressForcesPathStyle", "s3+endpoint://bucket/p",
       Opts("http://127.0.0.1:9000"), "",
       S3("bucket", "p", "us-east-1", "http://127.0.0.1:9000", true)},
      {"S3EndpointIpv6", "s3+endpoint://bucket/p", Opts("http://[::1]:9000"), "",
       S3("bucket", "p", "us-east-1", "http://[::1]:9000", true)},
      {"S3EndpointContainerHostName", "s3+endpoint://bucket", Opts("http://minio_1:9000"), "",
       S3("bucket", "", "us-east-1", "http://minio_1:9000", false)},
      {"S3EndpointDottedBucketOverPlainHttpStaysVirtualHosted", "s3+endpoint://a.b.c",
       Opts("http://minio.lan:9000"), "",
       S3("a.b.c", "", "us-east-1", "http://minio.lan:9000", false)},
      {"S3EndpointDottedBucketOverHttpsIsPathStyle", "s3+endpoint://a.b.c",
       Opts("https://minio.lan"), "", S3("a.b.c", "", "us-east-1", "https://minio.lan", true)},
      {"S3EndpointAllowsNamesOnlyAwsReserves", "s3+endpoint://amzn-s3-demo-bucket",
       Opts(minio, true), "", S3("amzn-s3-demo-bucket", "", "us-east-1", minio, true)},
  };
}

void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name; }

class AcceptTest : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(AcceptTest, ParsesToTheCanonicalTarget) {
  const AcceptCase& c = GetParam();
  const Result<Target> got = ParseTargetUri(c.uri, c.options, c.cwd);
  ASSERT_TRUE(got.ok()) << got.error().ToShortString();
  EXPECT_EQ(*got, c.want);
  // The canonical form names the same target, from any directory.
  const Result<Target> again = ParseTargetUri(got->ToUri(), got->Options(), "/elsewhere");
  ASSERT_TRUE(again.ok()) << got->ToUri() << ": " << again.error().ToShortString();
  EXPECT_EQ(*again, *got) << got->ToUri();
}

INSTANTIATE_TEST_SUITE_P(TargetUri, AcceptTest, ::testing::ValuesIn(AcceptCases()),
                         [](const auto& row) { return row.param.name; });

// ------------------------------------------------------------ refused

struct RejectCase {
  std::string name;
  std::string uri;
  TargetOptions options;
  std::string cwd;
  SyncCode code;
  std::string fragment;  // a part of the message that names the rule
};

std::vector<RejectCase> RejectCases() {
  constexpr auto kUnsupported = SyncCode::kTargetUnsupported;
  constexpr auto kInvalid = SyncCode::kTargetInvalid;
  const std::string cwd(kCwd);
  const std::string minio = "http://localhost:9000";
  std::string long_path;
  for (int i = 0; i < 20; ++i) long_path += "/" + std::string(250, 'd');
  return {
      // Other schemes are unsupported, and the message lists what is.
      {"HttpsIsUnsupported", "https://example.com/store", Opts(), cwd, kUnsupported,
       "'https:' is not supported; use a plain path, file:///abs/path, s3://"},
      {"FtpIsUnsupported", "ftp://host/x", Opts(), cwd, kUnsupported, "'ftp:'"},
      {"GoogleStorageIsUnsupported", "gs://bucket/x", Opts(), cwd, kUnsupported, "'gs:'"},
      {"S3aLookalikeIsUnsupported", "s3a://bucket/x", Opts(), cwd, kUnsupported, "'s3a:'"},
      {"HubTargetNeedsAVault", "hxs://hub.example.com", Opts(), cwd, kInvalid, "names no vault"},
      {"HubVaultMayNotEscape", "hxs://hub/../x", Opts(), cwd, kInvalid, "the vault name"},
      {"HubVaultIsOneSegment", "hxs://hub/a/b", Opts(), cwd, kInvalid, "the vault name"},
      {"HubVaultCannotReachHubState", "hxs://hub/_hub", Opts(), cwd, kInvalid, "the vault name"},
      {"HubTargetHasNoUserInfo", "hxs://me:secret@hub/v", Opts(), cwd, kInvalid, "no user"},
      {"HubPortInRange", "hxs://hub:70000/v", Opts(), cwd, kInvalid, "port"},
      // The hub's host is checked like --endpoint's (one parser for both).
      {"HubHostEmptyLabel", "hxs://hub..lan/v", Opts(), cwd, kInvalid, "invalid host name 'hub..lan'"},
      {"HubHostLeadingHyphen", "hxs://-hub/v", Opts(), cwd, kInvalid, "invalid host name"},
      {"HubHostMissing", "hxs://:8443/v", Opts(), cwd, kInvalid, "invalid host name"},
      {"HubEmptyIpv6", "hx://[]:80/v", Opts(), cwd, kInvalid, "invalid IPv6 address"},
      {"HubEmptyPort", "hx://hub:/v", Opts(), cwd, kInvalid, "invalid port"},
      {"HubTargetTakesNoS3Options", "hxs://hub/v", Opts("http://minio:9000"), cwd, kInvalid,
       "are for S3 targets"},
      {"RcloneStyleRemoteReadsAsAScheme", "remote:path", Opts(), cwd, kUnsupported,
       "write ./remote:..."},
      {"WindowsDriveReadsAsAScheme", "C:\\Users\\me", Opts(), cwd, kUnsupported, "'C:'"},
      // Whole-input rules.
      {"EmptyTarget", "", Opts(), cwd, kInvalid, "the target is empty"},
      {"LeadingWhitespace", " /mnt/x", Opts(), cwd, kInvalid, "whitespace"},
      {"TrailingNewline", "/mnt/x\n", Opts(), cwd, kInvalid, "whitespace"},
      {"NulByte", std::string("/mnt/\0x", 7), Opts(), cwd, kInvalid,
       "control character (byte 0x00 at offset 5)"},
      {"DelByte", "/mnt/\x7Fx", Opts(), cwd, kInvalid, "control character (byte 0x7F"},
      {"TerminalEscapeInS3Uri", "s3://bucket/\x1B[31m", Opts(), cwd, kInvalid,
       "control character (byte 0x1B"},
      {"InvalidUtf8", "/mnt/\xFF", Opts(), cwd, kInvalid, "not valid UTF-8"},
      {"OverlongUtf8Slash", "/mnt/\xC0\xAF", Opts(), cwd, kInvalid, "not valid UTF-8"},
      {"Utf8Surrogate", "/mnt/\xED\xA0\x80", Opts(), cwd, kInvalid, "not valid UTF-8"},
      {"OverlyLongInput", "/" + std::string(8192, 'x'), Opts(), cwd, kInvalid,
       "at most 8192 are accepted"},
      // Folder paths.
      {"FileSystemRoot", "/", Opts(), cwd, kInvalid, "the file system root"},
      {"RootReachedThroughDotDot", "/mnt/..", Opts(), cwd, kInvalid, "the file system root"},
      {"RelativePathWithoutCwd", "store", Opts(), "", kInvalid, "absolute working directory"},
      {"RelativePathWithRelativeCwd", "store", Opts(), "home/me", kInvalid,
       "absolute working directory"},
      {"RelativePathWithCwdHoldingControlChar", "store", Opts(), "/home/\x01", kInvalid,
       "the working directory contains a control character"},
      {"TildeIsNotExpanded", "~/store", Opts(), cwd, kInvalid, "'~' is not expanded"},
      {"FolderNameLongerThan255Bytes", "/mnt/" + std::string(256, 'n'), Opts(), cwd, kInvalid,
       "file systems allow at most 255"},
      {"PathLongerThan4095Bytes", long_path, Opts(), cwd, kInvalid, "at most 4095"},
      {"FolderWithRegionProbablyMeantS3", "bucket/prefix", Opts("", false, "eu-west-1"), cwd,
       kInvalid, "--region applies only to S3 targets"},
      {"FolderWithEndpointAndPathStyle", "/mnt/x", Opts(minio, true), cwd, kInvalid,
       "--endpoint and --path-style apply only to S3 targets"},
      // file URIs.
      {"FileUriWithoutAuthority", "file:/mnt/x", Opts(), cwd, kInvalid, "three slashes"},
      {"FileUriWithRelativePath", "file://store", Opts(), cwd, kInvalid,
       "has no absolute path"},
      {"FileUriNamingAnotherHost", "file://nas/share", Opts(), cwd, kInvalid,
       "naming a host ('nas') are not supported"},
      {"FileUriEmpty", "file://", Opts(), cwd, kInvalid, "has no path"},
      {"FileUriLocalhostWithoutPath", "file://localhost", Opts(), cwd, kInvalid, "has no path"},
      {"FileUriRoot", "file:///", Opts(), cwd, kInvalid, "the file system root"},
      {"FileUriWithUserName", "file://me@localhost/x", Opts(), cwd, kInvalid,
       "no user name or password"},
      {"FileUriWithQuery", "file:///mnt/x?y", Opts(), cwd, kInvalid, "no query"},
      {"FileUriWithFragment", "file:///mnt/x#y", Opts(), cwd, kInvalid, "no query"},
      {"FileUriBarePercent", "file:///mnt/100%", Opts(), cwd, kInvalid, "as %25"},
      {"FileUriBadPercentHex", "file:///mnt/%zz", Opts(), cwd, kInvalid, "as %25"},
      {"FileUriEncodedNul", "file:///mnt/%00x", Opts(), cwd, kInvalid,
       "encodes a control character (%00)"},
      {"FileUriEncodedSlash", "file:///mnt/a%2fb", Opts(), cwd, kInvalid, "%2F"},
      {"FileUriEncodedInvalidUtf8", "file:///mnt/%FF", Opts(), cwd, kInvalid,
       "does not decode to valid UTF-8"},
      {"FileUriWithS3Options", "file:///mnt/x", Opts("", true), cwd, kInvalid,
       "--path-style applies only to S3 targets"},
      // S3 URIs.
      {"S3WithoutSlashes", "s3:bucket/x", Opts(), cwd, kInvalid, "s3://bucket/prefix"},
      {"S3WithoutBucket", "s3:///x", Opts(), cwd, kInvalid, "names no bucket"},
      {"S3Empty", "s3://", Opts(), cwd, kInvalid, "names no bucket"},
      {"S3WithCredentials", "s3://AKIAEXAMPLE:s3cr3t@bucket/p", Opts(), cwd, kInvalid,
       "credentials do not belong in the target URI"},
      {"S3WithCredentialsContainingSlash", "s3://AKIA:ab/cd@bucket/p", Opts(), cwd, kInvalid,
       "credentials do not belong in the target URI"},
      {"S3WithPort", "s3://bucket:9000/p", Opts(), cwd, kInvalid, "must not carry a port"},
      {"S3WithQuery", "s3://bucket/p?versionId=1", Opts(), cwd, kInvalid, "no query"},
      {"S3WithFragment", "s3://bucket/p#x", Opts(), cwd, kInvalid, "no query"},
      {"BucketTooShort", "s3://ab/p", Opts(), cwd, kInvalid, "3 to 63 characters"},
      {"BucketTooLong", "s3://" + std::string(64, 'b'), Opts(), cwd, kInvalid,
       "3 to 63 characters"},
      {"BucketUppercase", "s3://MyBucket/p", Opts(), cwd, kInvalid, "must be lowercase"},
      {"BucketUnderscore", "s3://my_bucket", Opts(), cwd, kInvalid,
       "only lowercase letters, digits, '.' and '-'"},
      {"BucketStartsWithHyphen", "s3://-bucket", Opts(), cwd, kInvalid,
       "begin and end with a letter or digit"},
      {"BucketEndsWithDot", "s3://bucket.", Opts(), cwd, kInvalid,
       "begin and end with a letter or digit"},
      {"BucketWithAdjacentPeriods", "s3://my..bucket", Opts(), cwd, kInvalid,
       "two adjacent periods"},
      {"BucketLooksLikeIpAddress", "s3://192.168.5.4/p", Opts(), cwd, kInvalid,
       "formatted as an IP address"},
      {"BucketPunycodePrefix", "s3://xn--bcher-kva", Opts(), cwd, kInvalid, "'xn--'"},
      {"BucketAccessPointAliasSuffix", "s3://my-ap-s3alias", Opts(), cwd, kInvalid,
       "'-s3alias' is reserved by AWS"},
      {"BucketObjectLambdaSuffix", "s3://my--ol-s3", Opts(), cwd, kInvalid,
       "'--ol-s3' is reserved by AWS"},
      {"BucketSthreePrefix", "s3://sthree-bucket", Opts(), cwd, kInvalid,
       "'sthree-' is reserved by AWS"},
      {"PrefixWithEmptySegment", "s3://bucket/a//b", Opts(), cwd, kInvalid, "empty segment"},
      {"PrefixWithLeadingDoubleSlash", "s3://bucket//a", Opts(), cwd, kInvalid, "empty segment"},
      {"PrefixWithDoubleTrailingSlash", "s3://bucket/a//", Opts(), cwd, kInvalid,
       "empty segment"},
      {"PrefixOfOnlySlashes", "s3://bucket//", Opts(), cwd, kInvalid, "empty segment"},
      {"PrefixWithDotDot", "s3://bucket/a/../b", Opts(), cwd, kInvalid, "'.' or '..' segment"},
      {"PrefixWithDot", "s3://bucket/./a", Opts(), cwd, kInvalid, "'.' or '..' segment"},
      {"PrefixWithPlus", "s3://bucket/a+b", Opts(), cwd, kInvalid, "contains '+'"},
      {"PrefixWithPercent", "s3://bucket/a%20b", Opts(), cwd, kInvalid, "contains '%'"},
      {"PrefixWithSpace", "s3://bucket/a b", Opts(), cwd, kInvalid, "contains a space"},
      {"PrefixWithNonAscii", "s3://bucket/caf\xC3\xA9", Opts(), cwd, kInvalid,
       "contains a non-ASCII character"},
      {"PrefixWithBackslash", "s3://bucket/a\\b", Opts(), cwd, kInvalid, "contains '\\'"},
      {"PrefixWithTilde", "s3://bucket/~x", Opts(), cwd, kInvalid, "contains '~'"},
      {"PrefixTooLongForS3Keys", "s3://bucket/" + std::string(kMaxS3PrefixBytes + 1, 'p'),
       Opts(), cwd, kInvalid, "at most 768 are allowed"},
      {"AwsTargetWithEndpoint", "s3://bucket/p", Opts(minio), cwd, kInvalid,
       "--endpoint is only used with s3+endpoint://"},
      {"EndpointTargetWithoutEndpoint", "s3+endpoint://bucket/p", Opts(), cwd, kInvalid,
       "needs --endpoint"},
      {"EndpointWithoutScheme", "s3+endpoint://bucket", Opts("localhost:9000"), cwd, kInvalid,
       "must start with http:// or https://"},
      {"EndpointWithOtherScheme", "s3+endpoint://bucket", Opts("ftp://host"), cwd, kInvalid,
       "must start with http:// or https://"},
      {"EndpointWithPath", "s3+endpoint://bucket", Opts("http://host:9000/s3"), cwd, kInvalid,
       "without a path"},
      {"EndpointWithCredentials", "s3+endpoint://bucket", Opts("http://admin:hunter2@minio"),
       cwd, kInvalid, "must not contain credentials"},
      {"EndpointPortOutOfRange", "s3+endpoint://bucket", Opts("http://minio:99999"), cwd,
       kInvalid, "invalid port"},
      {"EndpointEmptyPort", "s3+endpoint://bucket", Opts("http://minio:"), cwd, kInvalid,
       "invalid port"},
      {"EndpointEmptyHostLabel", "s3+endpoint://bucket", Opts("http://minio..lan"), cwd,
       kInvalid, "invalid host name 'minio..lan'"},
      {"EndpointWithSpace", "s3+endpoint://bucket", Opts("http://minio :9000"), cwd, kInvalid,
       "contains a space or control character"},
      {"EndpointUnclosedIpv6", "s3+endpoint://bucket", Opts("http://[::1:9000"), cwd, kInvalid,
       "invalid IPv6 address"},
      {"RegionUppercase", "s3://bucket", Opts("", false, "US-EAST-1"), cwd, kInvalid,
       "--region 'US-EAST-1' is not a region name"},
      {"RegionWithSlash", "s3://bucket", Opts("", false, "us/../x"), cwd, kInvalid,
       "is not a region name"},
      {"RegionWithLeadingHyphen", "s3://bucket", Opts("", false, "-us"), cwd, kInvalid,
       "is not a region name"},
  };
}

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name; }

class RejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, FailsWithTheStableCodeAndAMessageNamingTheRule) {
  const RejectCase& c = GetParam();
  const Result<Target> got = ParseTargetUri(c.uri, c.options, c.cwd);
  ASSERT_FALSE(got.ok()) << "accepted as " << *got;
  const Error& error = got.error();
  EXPECT_EQ(error.code, c.code) << error.ToShortString();
  EXPECT_EQ(error.category, c.code == SyncCode::kTargetUnsupported ? Category::kUnsupported
                                                                   : Category::kInvalidInput);
  EXPECT_FALSE(error.retryable);
  EXPECT_THAT(error.message, HasSubstr(c.fragment));
  ASSERT_EQ(error.details.count("uri"), 1U);
  EXPECT_EQ(error.details.at("uri"), RedactTargetUri(c.uri));
}

INSTANTIATE_TEST_SUITE_P(TargetUri, RejectTest, ::testing::ValuesIn(RejectCases()),
                         [](const auto& row) { return row.param.name; });

// ------------------------------------------------------------ secrets

TEST(TargetUriSecretsTest, CredentialsAreNeverEchoedInMessagesOrDetails) {
  const std::string secret = "wJalrXUtnFEMI";
  const struct {
    std::string uri;
    TargetOptions options;
  } inputs[] = {
      {"s3://AKIAEXAMPLE:" + secret + "@bucket/p", Opts()},
      {"s3://AKIAEXAMPLE:" + secret + "/x@bucket/p", Opts()},
      {"s3+endpoint://AKIA:" + secret + "@bucket", Opts("http://minio:9000")},
      {"s3://bucket/p?X-Amz-Signature=" + secret, Opts()},
      {"https://user:" + secret + "@example.com/store", Opts()},
      {"ftp://user:" + secret + "@host", Opts()},
      {"file://me:" + secret + "@localhost/x", Opts()},
      {"s3+endpoint://bucket", Opts("http://admin:" + secret + "@minio:9000")},
      {"s3+endpoint://bucket", Opts("http://minio:9000/?token=" + secret)},
      {"user:" + secret + "@host:/path", Opts()},
  };
  for (const auto& input : inputs) {
    const Result<Target> got = ParseTargetUri(input.uri, input.options, kCwd);
    ASSERT_FALSE(got.ok()) << input.uri;
    const std::string json = got.error().ToJson();
    EXPECT_THAT(json, Not(HasSubstr(secret))) << json;
    EXPECT_THAT(got.error().ToHuman(), Not(HasSubstr(secret)));
  }
}

TEST(RedactTargetUriTest, HidesUserInformationQueriesAndFragments) {
  EXPECT_EQ(RedactTargetUri("s3://key:secret@bucket/p"), "s3://***@bucket/p");
  EXPECT_EQ(RedactTargetUri("s3://key:se/cret@bucket/p"), "s3://***@bucket/p");
  EXPECT_EQ(RedactTargetUri("https://u:p@host/x?sig=abc"), "https://***@host/x?***");
  EXPECT_EQ(RedactTargetUri("s3://bucket/p#frag"), "s3://bucket/p#***");
  EXPECT_EQ(RedactTargetUri("user:pw@host:/x"), "user:***@host:/x");
}

TEST(RedactTargetUriTest, KeepsPathsAndFileUriPathsReadable) {
  EXPECT_EQ(RedactTargetUri("/mnt/@work/x"), "/mnt/@work/x");
  EXPECT_EQ(RedactTargetUri("file:///mnt/@work"), "file:///mnt/@work");
  EXPECT_EQ(RedactTargetUri("file://me@localhost/x"), "file://***@localhost/x");
  EXPECT_EQ(RedactTargetUri("s3://bucket/hx"), "s3://bucket/hx");
}

TEST(RedactTargetUriTest, EscapesControlBytesAndInvalidUtf8AndBoundsTheLength) {
  EXPECT_EQ(RedactTargetUri(std::string("/a\0b\x1B\xFF\xC3\xA9", 8)),
            "/a\\x00b\\x1B\\xFF\xC3\xA9");
  const std::string shown = RedactTargetUri("/" + std::string(10000, 'x'));
  EXPECT_LE(shown.size(), 260U);
  EXPECT_TRUE(shown.ends_with("..."));
  // A cut never splits a UTF-8 character.
  std::string accents = "/";
  for (int i = 0; i < 500; ++i) accents += "\xC3\xA9";
  EXPECT_THAT(RedactTargetUri(accents), Not(HasSubstr("\\x")));
}

// ------------------------------------------------------------ canonical form

TEST(TargetToUriTest, FolderIsAFileUriWithUnsafeAsciiPercentEncoded) {
  EXPECT_EQ(Folder("/mnt/store").ToUri(), "file:///mnt/store");
  EXPECT_EQ(Folder("/mnt/My Store/100%/a?b#c").ToUri(),
            "file:///mnt/My%20Store/100%25/a%3Fb%23c");
  EXPECT_EQ(Folder("/mnt/\xC3\xA9t\xC3\xA9/a\\b").ToUri(), "file:///mnt/\xC3\xA9t\xC3\xA9/a%5Cb");
  EXPECT_EQ(Folder("/mnt/a:b@c~d").ToUri(), "file:///mnt/a:b@c~d");
}

TEST(TargetToUriTest, S3UsesItsSchemeAndLeavesSettingsToOptions) {
  const Target aws = S3("bucket", "hx/v", "eu-west-1", "", true);
  EXPECT_EQ(aws.ToUri(), "s3://bucket/hx/v");
  EXPECT_EQ(aws.Options(), Opts("", true, "eu-west-1"));
  const Target minio = S3("bucket", "", "us-east-1", "http://localhost:9000", true);
  EXPECT_EQ(minio.ToUri(), "s3+endpoint://bucket");
  EXPECT_EQ(minio.Options(), Opts("http://localhost:9000", true, "us-east-1"));
  EXPECT_EQ(Folder("/x").Options(), TargetOptions());
}

TEST(TargetKeyForTest, JoinsTheNameUnderThePrefixOrPath) {
  EXPECT_EQ(S3("bucket", "hx/v", "us-east-1").KeyFor("head.json"), "hx/v/head.json");
  EXPECT_EQ(S3("bucket", "", "us-east-1").KeyFor("locks/write.lock"), "locks/write.lock");
  EXPECT_EQ(Folder("/mnt/store").KeyFor("blobs/ab/cd/x"), "/mnt/store/blobs/ab/cd/x");
}

// ------------------------------------------------------------ properties

std::string RandomCase(const std::string& text, const std::vector<bool>& upper) {
  std::string out = text;
  for (std::size_t i = 0; i < out.size() && i < upper.size(); ++i) {
    if (upper[i] && out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 32);
  }
  return out;
}

std::string PercentEncodeAll(std::string_view text) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// A folder name from characters that stress the grammar: URI delimiters,
// percent signs, spaces, backslashes and multi-byte UTF-8.
rc::Gen<std::string> FolderName() {
  const std::vector<std::string> pieces = {
      "a", "Z", "0", "-", "_", ".", "~", " ", "%", "%2F", "?", "#", "@", ":", "\\", "+",
      "&", "=", "!", "'", "(", "[", "{", "|", "^", "`", "\"", "<", "\xC3\xA9", "\xE6\x97\xA5",
      "\xF0\x9F\x99\x82"};
  return rc::gen::map(
      rc::gen::resize(8, rc::gen::nonEmpty(
                             rc::gen::container<std::vector<std::string>>(
                                 rc::gen::elementOf(pieces)))),
      [](const std::vector<std::string>& parts) {
        std::string name;
        for (const auto& part : parts) name += part;
        return name == "." || name == ".." ? name + "x" : name;
      });
}

RC_GTEST_PROP(TargetUriProperty, EveryWayOfWritingAFolderParsesToItsCanonicalPath, ()) {
  const auto names = *rc::gen::resize(
      6, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(FolderName())));
  std::string canonical;
  for (const auto& name : names) canonical += "/" + name;

  const int form = *rc::gen::element(0, 1, 2);
  std::string uri;
  std::string cwd = "/unused";
  if (form == 0) {  // absolute plain path with noise the normalizer removes
    for (const auto& name : names) {
      uri += *rc::gen::element<std::string>("/", "//", "/./", "/x/../");
      uri += name;
    }
    if (*rc::gen::arbitrary<bool>() || uri.back() == ' ') uri += "/";
  } else if (form == 1) {  // relative plain path against a cwd
    const auto split = *rc::gen::inRange<std::size_t>(0, names.size());
    cwd = "";
    for (std::size_t i = 0; i < split; ++i) cwd += "/" + names[i];
    if (cwd.empty()) cwd = "/";
    uri = ".";
    for (std::size_t i = split; i < names.size(); ++i) uri += "/" + names[i];
    uri += "/";
  } else {  // file URI, each name fully or partly percent-encoded
    uri = RandomCase("file://", *rc::gen::arbitrary<std::vector<bool>>());
    if (*rc::gen::arbitrary<bool>()) uri += "localhost";
    for (const auto& name : names) {
      uri += "/";
      const bool encode_all = *rc::gen::arbitrary<bool>();
      for (const char c : name) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~';
        uri += encode_all || !safe ? PercentEncodeAll(std::string_view(&c, 1))
                                   : std::string(1, c);
      }
    }
  }
  RC_TAG(form);
  const Result<Target> got = ParseTargetUri(uri, TargetOptions(), cwd);
  RC_ASSERT(got.ok());
  RC_ASSERT(got->kind == TargetKind::kFolder);
  RC_ASSERT(got->path == canonical);
  const Result<Target> again = ParseTargetUri(got->ToUri(), got->Options(), "/elsewhere");
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *got);
}

rc::Gen<std::string> Lowercase(int max_length) {
  return rc::gen::resize(max_length,
                         rc::gen::nonEmpty(rc::gen::container<std::string>(
                             rc::gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz0123456789")))));
}

RC_GTEST_PROP(TargetUriProperty, EveryValidS3TargetRoundTripsThroughItsCanonicalForm, ()) {
  // A bucket that starts with a letter (so never an IP address) and joins
  // lowercase runs with '-' or '.'.
  std::string bucket(1, *rc::gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyz")));
  for (const auto& run : *rc::gen::resize(4, rc::gen::container<std::vector<std::string>>(
                                                 Lowercase(6)))) {
    bucket += *rc::gen::element<std::string>("", "-", ".", "--") + run;
  }
  if (bucket.size() < 3) bucket += "xyz";
  RC_PRE(bucket.size() <= 63);
  for (const std::string_view reserved : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    RC_PRE(!bucket.starts_with(reserved));
  }
  for (const std::string_view reserved :
       {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    RC_PRE(!bucket.ends_with(reserved));
  }

  const std::vector<std::string> prefix_chars = {"a", "Z", "9", "-", "_", "."};
  std::string prefix;
  for (const auto& segment : *rc::gen::resize(
           4, rc::gen::container<std::vector<std::string>>(rc::gen::map(
                  rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
                      rc::gen::elementOf(prefix_chars))),
                  [](const std::vector<std::string>& parts) {
                    std::string s;
                    for (const auto& p : parts) s += p;
                    return s == "." || s == ".." ? s + "a" : s;
                  })))) {
    prefix += (prefix.empty() ? "" : "/") + segment;
  }

  const bool custom = *rc::gen::arbitrary<bool>();
  TargetOptions options;
  options.path_style = *rc::gen::arbitrary<bool>();
  options.region = *rc::gen::element<std::string>("", "us-east-1", "eu-west-3", "auto", "garage");
  std::string want_endpoint;
  bool tls = true;
  bool ip = false;
  if (custom) {
    tls = *rc::gen::arbitrary<bool>();
    const std::string host =
        *rc::gen::element<std::string>("localhost", "minio.lan", "127.0.0.1", "[::1]", "S3.Example.COM");
    ip = host == "127.0.0.1" || host == "[::1]";
    const int port = *rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(1, 65536));
    options.endpoint = RandomCase(tls ? "https://" : "http://",
                                  *rc::gen::arbitrary<std::vector<bool>>()) +
                       host + (port ? ":" + std::to_string(port) : "") +
                       (*rc::gen::arbitrary<bool>() ? "/" : "");
    std::string lower_host = host;
    for (char& c : lower_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    want_endpoint = (tls ? "https://" : "http://") + lower_host;
    if (port != 0 && port != (tls ? 443 : 80)) want_endpoint += ":" + std::to_string(port);
  }
  std::string uri = RandomCase(custom ? "s3+endpoint://" : "s3://",
                               *rc::gen::arbitrary<std::vector<bool>>()) + bucket;
  if (!prefix.empty() || *rc::gen::arbitrary<bool>()) uri += "/" + prefix;
  if (!prefix.empty() && *rc::gen::arbitrary<bool>()) uri += "/";

  const Result<Target> got = ParseTargetUri(uri, options, "/unused");
  RC_ASSERT(got.ok());
  RC_ASSERT(got->kind == TargetKind::kS3);
  RC_ASSERT(got->bucket == bucket);
  RC_ASSERT(got->prefix == prefix);
  RC_ASSERT(got->endpoint == want_endpoint);
  RC_ASSERT(got->region == (options.region.empty() ? "us-east-1" : options.region));
  const bool dotted = bucket.find('.') != std::string::npos;
  RC_ASSERT(got->path_style == (options.path_style || ip || (dotted && tls)));
  const Result<Target> again = ParseTargetUri(got->ToUri(), got->Options(), "/elsewhere");
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *got);
  RC_ASSERT(again->ToUri() == got->ToUri());
}

// Arbitrary text behind each scheme prefix: the parser returns a target that
// round-trips, or one of the two target codes; never anything else.
RC_GTEST_PROP(TargetUriProperty, AnyInputGivesATargetOrATargetError, ()) {
  const std::string head = *rc::gen::element<std::string>(
      "", "/", "./", "file://", "file:///", "s3://", "s3+endpoint://", "S3://b", "hx://", "x:");
  const std::string uri = head + *rc::gen::arbitrary<std::string>();
  TargetOptions options;
  if (*rc::gen::arbitrary<bool>()) options.endpoint = "http://minio:9000";
  const Result<Target> got = ParseTargetUri(uri, options, "/cwd");
  if (got.ok()) {
    const Result<Target> again = ParseTargetUri(got->ToUri(), got->Options(), "/");
    RC_ASSERT(again.ok());
    RC_ASSERT(*again == *got);
  } else {
    RC_ASSERT(got.error().code == SyncCode::kTargetInvalid ||
              got.error().code == SyncCode::kTargetUnsupported);
    RC_ASSERT(!got.error().message.empty());
  }
}

RC_GTEST_PROP(TargetUriProperty, AControlCharacterAnywhereIsRefused, ()) {
  const std::string valid = *rc::gen::element<std::string>(
      "/mnt/store", "file:///mnt/store", "s3://bucket/hx/v", "relative/dir");
  const auto at = *rc::gen::inRange<std::size_t>(1, valid.size());
  const char control = *rc::gen::oneOf(rc::gen::inRange<char>(0, 0x20), rc::gen::just('\x7F'));
  const std::string uri = valid.substr(0, at) + control + valid.substr(at);
  const Result<Target> got = ParseTargetUri(uri, TargetOptions(), "/cwd");
  RC_ASSERT(!got.ok());
  RC_ASSERT(got.error().code == SyncCode::kTargetInvalid);
}

}  // namespace
}  // namespace hx
