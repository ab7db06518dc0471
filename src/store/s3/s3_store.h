// The S3 store: the Store interface (store.h) over any S3-compatible server
// (AWS, MinIO, Ceph RGW, B2, Wasabi, R2, moto). A store key maps to the
// object "<prefix>/<key>" of the target's bucket (docs/FORMAT.md, "S3").
//
//   Get/GetVersioned  GET, the body bound enforced while receiving
//   GetRange          GET with a Range header (HEAD for an empty range)
//   Put               one PUT below multipart_threshold; above it a multipart
//                     upload whose parts go up in parallel (at most
//                     `concurrency` at a time), aborted on failure; readers
//                     see the object only once CompleteMultipartUpload lands
//   PutIfAbsent       PUT with If-None-Match: *
//   PutIfMatch        PUT with If-Match: <etag>
//   Exists            HEAD
//   List              ListObjectsV2, every page (continuation tokens); a
//                     token seen before is refused (a cycle), and a listing's
//                     entries, bytes and time are capped (ListLimits)
//   Delete            DELETE
// Every request is signed with SigV4 over the real payload hash.
//
// Conditional writes: servers that answer 501/NotImplemented to the
// conditional headers make the store fall back, for its lifetime, to a
// check-then-write emulation, and capabilities() then says that neither
// create nor compare-and-swap is atomic (what remains guaranteed:
// docs/FORMAT.md, "S3: conditional writes"). Servers that silently ignore the
// headers are caught by CreateStore's probe (sync init), and can be told to
// use the emulation with conditional_writes = kEmulated
// (HX_S3_CONDITIONAL_WRITES=emulated for OpenStore, below).
//
// No retries here: wrap the store in a RetryingStore (OpenStore does). The
// one exception is the requests of a multipart upload (create, each part,
// complete), retried in place under the same retry policy
// (store/retry_policy.h, part_retry) so that one transient fault does not
// resend the whole object; a completion answered NoSuchUpload is read back
// (a resent completion of an upload that already completed).
//
// Bounds: every request's waits and bodies are bounded by the HTTP client
// (http_client.h), listings by ListLimits; the values and their HX_S3_*
// knobs are in docs/ERRORS.md, "Network bounds".
//
// Thread-safety: thread-safe; calls may run concurrently (the HTTP client
// keeps a handle per concurrent call and reuses their connections).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "store/retry_policy.h"
#include "store/s3/credentials.h"
#include "store/s3/s3_client.h"
#include "store/store.h"
#include "store/store_wrappers.h"

namespace hx::s3 {

enum class ConditionalWrites : std::uint8_t {
  kAuto,      // the server's If-None-Match / If-Match; emulate after a 501
  kEmulated,  // check then write (not atomic); for servers that ignore them
};

// What one List may cost before it fails (KC_SYNC_NETWORK_FAILED): a server
// that keeps handing out pages must not keep hx listing, or growing, forever.
struct ListLimits {
  std::uint64_t max_entries = 2'000'000;
  // The reply bodies of all pages together.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  std::int64_t max_ms = 30 * 60 * 1000;
};

struct S3StoreOptions {
  // Objects of at least this many bytes go up by multipart. Tests lower it.
  std::uint64_t multipart_threshold = 16ull << 20;
  // The size of each part but the last (S3's minimum is 5 MiB, except for
  // the last part; tests against moto may go lower).
  std::uint64_t part_size = 8ull << 20;
  // Parts uploaded at once by one Put.
  int concurrency = 8;
  // The retries of each request of a multipart upload (retryable errors
  // only) before the upload is aborted; the policy of retry_policy.h.
  RetryOptions part_retry = DefaultPartRetry();
  ListLimits list;
  ConditionalWrites conditional_writes = ConditionalWrites::kAuto;
  HttpOptions http;
  // The clock of signing (wall), the deadlines and the retries of parts
  // (monotonic). Null: the real clock. Must outlive the store.
  Clock* clock = nullptr;

  static RetryOptions DefaultPartRetry() {
    RetryOptions retry;
    retry.max_attempts = 3;
    retry.max_total = std::chrono::milliseconds(60'000);
    return retry;
  }
};

class S3Store final : public Store {
 public:
  // A store over `endpoint`'s bucket, keys under `prefix` ("" or "a/b", no
  // leading or trailing '/'). `describe` is what Describe() returns (the
  // target URI). Does no I/O.
  S3Store(S3Endpoint endpoint, AwsCredentials credentials, std::string prefix,
          std::string describe, S3StoreOptions options = {});

  // The endpoint, credentials and region of an S3 target: credentials from
  // `env` (credentials.h); the region is the target's unless that is the
  // default and the environment or config names one (so an explicit
  // --region us-east-1 also defers to them). `options` as given (OpenStore
  // passes S3StoreOptionsFromEnvironment). Errors: as LoadCredentials. Does
  // no network I/O.
  static Result<std::unique_ptr<S3Store>> Open(const Target& target,
                                               const CredentialEnvironment& env,
                                               S3StoreOptions options = {});

  // For sync init: checks that the bucket exists and that the credentials
  // may list it (one ListObjectsV2), and that the server honours
  // If-None-Match (PutIfAbsent twice on a probe key, then Delete), unless
  // conditional writes are emulated. Errors: KC_SYNC_TARGET_INVALID for a
  // missing bucket, KC_SYNC_AUTH_FAILED, KC_SYNC_TARGET_UNSUPPORTED when the
  // server ignores conditional writes (the message names the way out).
  Status CheckTarget();

  const StoreCapabilities& capabilities() const override;
  std::string Describe() const override;
  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override;
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override;
  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override;
  // GET with If-None-Match: an unchanged object is one 304 without a body.
  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override;
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override;
  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override;
  Result<bool> Exists(std::string_view key) override;
  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;

  // Whether this store has fallen back to emulated conditional writes.
  bool emulating_conditional_writes() const { return emulated_.load(); }

 private:
  std::string FullKey(std::string_view key) const;
  Result<HttpResponse> Head(const std::string& full_key);
  Result<StoreVersion> PutObject(const std::string& full_key, std::span<const std::uint8_t> bytes,
                                 HttpHeaders headers);
  Status PutMultipart(const std::string& full_key, std::span<const std::uint8_t> bytes);
  // One request of a multipart upload, retried under part_retry.
  Result<HttpResponse> SendInPlace(const S3Request& request);
  Result<StoreVersion> ConditionalPut(std::string_view key, std::span<const std::uint8_t> bytes,
                                      const StoreVersion* expected);
  Result<StoreVersion> EmulatedConditionalPut(const std::string& full_key,
                                              std::span<const std::uint8_t> bytes,
                                              const StoreVersion* expected);

  S3Client client_;
  const std::string prefix_;
  const std::string describe_;
  const S3StoreOptions options_;
  RetryPolicy part_retry_;
  std::atomic<bool> emulated_{false};
};

// The options OpenStore uses: the defaults above, changed by environment
// variables for servers and tests that need other values (all optional,
// positive integers; anything else is ignored):
//   HX_S3_CONCURRENCY            parts uploaded at once (default 8)
//   HX_S3_MULTIPART_THRESHOLD    bytes from which Put uses multipart (16 MiB)
//   HX_S3_PART_SIZE              bytes per part (8 MiB)
//   HX_S3_CONNECT_TIMEOUT_MS     TCP+TLS connect limit (5000)
//   HX_S3_MIN_RATE               bytes/s below which a transfer stalls (1024)
//   HX_S3_STALL_SECONDS          the window of that rate (15)
//   HX_S3_REQUEST_BASE_MS        a request's deadline before its bytes (60000)
//   HX_S3_REQUEST_TIMEOUT_MS     a hard limit on any request (none)
//   HX_S3_COMMAND_DEADLINE_MS    the store's whole time (43200000: 12 h)
//   HX_S3_LIST_MAX_ENTRIES       entries of one listing (2000000)
//   HX_S3_LIST_MAX_BYTES         reply bytes of one listing (1 GiB)
//   HX_S3_LIST_MAX_MS            time of one listing (1800000)
// and HX_S3_CONDITIONAL_WRITES=emulated (see above).
S3StoreOptions S3StoreOptionsFromEnvironment(const CredentialEnvironment& env);

// The retries OpenStore wraps an S3 store in: exponential backoff with full
// jitter from 200 ms, at most HX_S3_MAX_ATTEMPTS attempts (default 5) and no
// retry that would start later than HX_S3_MAX_RETRY_MS (default 60000) after
// the call began, so a server that keeps failing ends the command with
// KC_SYNC_NETWORK_FAILED in about a minute at most (plus one request's own
// timeouts).
RetryOptions S3RetryOptionsFromEnvironment(const CredentialEnvironment& env);

}  // namespace hx::s3
