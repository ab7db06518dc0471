#include "sync/sync_s3_test_util.h"

#include <stdlib.h>

#include "store/s3/credentials.h"
#include "store/s3/s3_store.h"

namespace hx::testing {

void SetS3Environment(const s3::testing::MotoServer& moto) {
  ::setenv("AWS_ACCESS_KEY_ID", moto.credentials().access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", moto.credentials().secret_access_key.c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/hx-test-credentials", 1);
  ::setenv("AWS_CONFIG_FILE", "/nonexistent/hx-test-config", 1);
}

std::string RandomBytes(std::size_t size, std::uint64_t seed) {
  std::string out(size, '\0');
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (char& c : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

WrapFn ReopenWithTestKnobs(const StoreFixture& fixture, int max_attempts,
                           std::uint64_t multipart_threshold) {
  return [&fixture, max_attempts,
          multipart_threshold](std::unique_ptr<Store>) -> std::unique_ptr<Store> {
    auto target = ParseTargetUri(fixture.TargetUri(), fixture.Options(), "/");
    EXPECT_TRUE(target.ok());
    s3::CredentialEnvironment env = s3::CredentialEnvironment::FromProcess();
    env.variables["HX_S3_MAX_ATTEMPTS"] = std::to_string(max_attempts);
    // Past this long without a byte the client gives up on a request. The
    // proxy's stalls (4 s) exceed it; a sound request under a sanitizer on a
    // loaded machine must not (with 1 s one did, and such a timeout, which
    // the proxy does not count as a fault, broke its at-most-3-in-a-row
    // promise and failed a push).
    env.variables["HX_S3_STALL_SECONDS"] = "2";
    // Over so short a window the default minimum rate (1 KiB/s) would also
    // end a small request that a loaded moto answers in more than 2 s; the
    // proxy's stalls send nothing at all, so 1 byte/s still catches them.
    env.variables["HX_S3_MIN_RATE"] = "1";
    if (multipart_threshold != 0) {
      env.variables["HX_S3_MULTIPART_THRESHOLD"] = std::to_string(multipart_threshold);
      env.variables["HX_S3_PART_SIZE"] = std::to_string(multipart_threshold / 2);
    }
    auto store = s3::S3Store::Open(*target, env, s3::S3StoreOptionsFromEnvironment(env));
    EXPECT_TRUE(store.ok()) << store.error().ToShortString();
    return std::make_unique<RetryingStore>(std::move(store).value(),
                                           s3::S3RetryOptionsFromEnvironment(env));
  };
}

WrapFn CountInto(WrapFn wrap, std::shared_ptr<StoreCounts> sink) {
  return [wrap, sink](std::unique_ptr<Store> store) -> std::unique_ptr<Store> {
    return std::make_unique<CountsSink>(std::make_unique<CountingStore>(wrap(std::move(store))),
                                        sink);
  };
}

bool IsList(const ProxyRequest& r) {
  return r.method == "GET" && r.query.find("list-type") != std::string::npos;
}

std::string Describe(const std::vector<ProxyRequest>& requests) {
  std::string out;
  for (const auto& r : requests) {
    out += r.method + " " + r.path + (r.query.empty() ? "" : "?" + r.query) + " -> " +
           std::to_string(r.status) + (r.fault.empty() ? "" : " [" + r.fault + "]") + "\n";
  }
  return out;
}

}  // namespace hx::testing
