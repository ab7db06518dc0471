#include "store/s3/s3_store.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include <sys/random.h>

#include "base/hex.h"
#include "store/s3/xml.h"

namespace hx::s3 {
namespace {

// A ListObjectsV2 page is at most 1000 keys of at most 1 KiB: well below.
constexpr std::uint64_t kMaxListPage = 8 << 20;
// S3's part numbers run from 1 to 10000.
constexpr std::uint64_t kMaxParts = 10'000;

Error NotFound(std::string_view key) { return StoreObjectNotFound(key); }
Error Corrupt(std::string_view key, std::string message) {
  return StoreObjectCorrupt(key, std::move(message));
}
Error Aborted(std::string_view key, std::string message) {
  return StoreObjectAborted(key, std::move(message));
}

// Names the store key (not the full object key) in an error from the client.
Error ForKey(Error error, std::string_view key) {
  error.With("key", std::string(key));
  return error;
}

Bytes TakeBody(HttpResponse& response) { return std::move(response.body); }

std::string_view AsText(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

Error BadReply(std::string_view what, std::string problem) {
  return Error(SyncCode::kNetworkFailed, Category::kNetwork,
               "the server's reply to " + std::string(what) + " " + std::move(problem) +
                   "; check that the endpoint is an S3-compatible server");
}

bool ParseUint(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  out = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

// Options of a layer below, with the store's clock unless they name their own.
template <typename Options>
Options WithClock(Options options, Clock* clock) {
  if (options.clock == nullptr) options.clock = clock;
  return options;
}

constexpr StoreCapabilities kNativeCapabilities{
    .atomic_create = true, .atomic_compare_and_swap = true, .ranged_reads = true};
constexpr StoreCapabilities kEmulatedCapabilities{
    .atomic_create = false, .atomic_compare_and_swap = false, .ranged_reads = true};

}  // namespace

S3Store::S3Store(S3Endpoint endpoint, AwsCredentials credentials, std::string prefix,
                 std::string describe, S3StoreOptions options)
    : client_(std::move(endpoint), std::move(credentials), WithClock(options.http, options.clock)),
      prefix_(std::move(prefix)),
      describe_(std::move(describe)),
      options_(std::move(options)),
      part_retry_(WithClock(options_.part_retry, options_.clock)),
      emulated_(options_.conditional_writes == ConditionalWrites::kEmulated) {}

Result<std::unique_ptr<S3Store>> S3Store::Open(const Target& target,
                                               const CredentialEnvironment& env,
                                               S3StoreOptions options) {
  HX_ASSIGN_OR_RETURN(AwsCredentials credentials, LoadCredentials(env));
  S3Endpoint endpoint;
  // Target parsing fills in the default region when none was given, so a
  // default region defers to the environment and the AWS config.
  endpoint.region = target.region == kDefaultS3Region ? ResolveRegion("", env) : target.region;
  endpoint.bucket = target.bucket;
  endpoint.path_style = target.path_style;
  endpoint.base_url = target.endpoint.empty()
                          ? "https://s3." + endpoint.region + ".amazonaws.com"
                          : target.endpoint;
  return std::make_unique<S3Store>(std::move(endpoint), std::move(credentials), target.prefix,
                                   target.ToUri(), std::move(options));
}

const StoreCapabilities& S3Store::capabilities() const {
  return emulated_.load() ? kEmulatedCapabilities : kNativeCapabilities;
}

std::string S3Store::Describe() const { return describe_; }

std::string S3Store::FullKey(std::string_view key) const {
  if (prefix_.empty()) return std::string(key);
  return prefix_ + "/" + std::string(key);
}

Result<Bytes> S3Store::Get(std::string_view key, std::uint64_t max_size) {
  HX_ASSIGN_OR_RETURN(auto versioned, GetVersioned(key, max_size));
  return std::move(versioned.first);
}

Result<std::pair<Bytes, StoreVersion>> S3Store::GetVersioned(std::string_view key,
                                                             std::uint64_t max_size) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  auto response = client_.Send(
      {.method = "GET", .key = FullKey(key), .query = {}, .headers = {}, .body = {},
       .max_response_bytes = max_size});
  if (!response.ok()) {
    if (response.error().category == Category::kNotFound &&
        response.error().code == SyncCode::kStateFailed) {
      return NotFound(key);
    }
    if (response.error().category == Category::kCorrupt) {
      return Corrupt(key, "is larger than " + std::to_string(max_size) + " bytes");
    }
    return ForKey(std::move(response).error(), key);
  }
  std::string etag = response->Header("etag");
  return std::make_pair(TakeBody(*response), std::move(etag));
}

Result<std::optional<std::pair<Bytes, StoreVersion>>> S3Store::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  if (version.empty()) {
    HX_ASSIGN_OR_RETURN(auto versioned, GetVersioned(key, max_size));
    return std::optional<std::pair<Bytes, StoreVersion>>(std::move(versioned));
  }
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  auto response = client_.Send({.method = "GET",
                                .key = FullKey(key),
                                .query = {},
                                .headers = {{"If-None-Match", version}},
                                .body = {},
                                .max_response_bytes = max_size});
  if (!response.ok()) {
    if (response.error().category == Category::kNotFound &&
        response.error().code == SyncCode::kStateFailed) {
      return NotFound(key);
    }
    if (response.error().category == Category::kCorrupt) {
      return Corrupt(key, "is larger than " + std::to_string(max_size) + " bytes");
    }
    return ForKey(std::move(response).error(), key);
  }
  if (response->status == 304) return std::optional<std::pair<Bytes, StoreVersion>>();
  std::string etag = response->Header("etag");
  if (etag == version) return std::optional<std::pair<Bytes, StoreVersion>>();
  return std::optional<std::pair<Bytes, StoreVersion>>(
      std::make_pair(TakeBody(*response), std::move(etag)));
}

Result<HttpResponse> S3Store::Head(const std::string& full_key) {
  return client_.Send({.method = "HEAD", .key = full_key, .query = {}, .headers = {}, .body = {},
                       .max_response_bytes = 0});
}

Result<Bytes> S3Store::GetRange(std::string_view key, ByteRange range) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  if (range.length > std::numeric_limits<std::uint64_t>::max() - range.offset) {
    return Corrupt(key, "cannot hold a range that ends past 2^64");
  }
  if (range.length == 0) {
    // S3 has no empty range: the size from a HEAD decides.
    auto head = Head(FullKey(key));
    if (!head.ok()) {
      if (head.error().category == Category::kNotFound) return NotFound(key);
      return ForKey(std::move(head).error(), key);
    }
    std::uint64_t size = 0;
    if (!ParseUint(head->Header("content-length"), size)) {
      return BadReply("HEAD " + std::string(key), "has no valid Content-Length");
    }
    if (range.offset > size) return Corrupt(key, "is shorter than the range asked for");
    return Bytes{};
  }
  const std::string header = "bytes=" + std::to_string(range.offset) + "-" +
                             std::to_string(range.offset + range.length - 1);
  auto response = client_.Send({.method = "GET",
                                .key = FullKey(key),
                                .query = {},
                                .headers = {{"Range", header}},
                                .body = {},
                                .max_response_bytes = range.length});
  if (!response.ok()) {
    const Error& error = response.error();
    if (error.category == Category::kNotFound && error.code == SyncCode::kStateFailed) {
      return NotFound(key);
    }
    const auto status = error.details.find("http_status");
    if (status != error.details.end() && status->second == "416") {
      return Corrupt(key, "is shorter than the range asked for");
    }
    if (error.category == Category::kCorrupt) {
      // A server that ignored Range and sent the whole, larger object: it
      // will do so again, so this is not worth a retry.
      return Error(SyncCode::kTargetUnsupported, Category::kUnsupported,
                   "the server ignored a Range request for " + std::string(key) +
                       "; hx needs ranged reads (every S3-compatible server has them)")
          .With("key", std::string(key));
    }
    return ForKey(std::move(response).error(), key);
  }
  // 206 with the range; a 200 is the whole object, acceptable only when that
  // is exactly the range (offset 0).
  const bool whole = response->status == 200 && range.offset == 0;
  if ((response->status != 206 && !whole) || response->body.size() != range.length) {
    return Corrupt(key, "is shorter than the range asked for");
  }
  return TakeBody(*response);
}

Result<StoreVersion> S3Store::PutObject(const std::string& full_key,
                                        std::span<const std::uint8_t> bytes,
                                        HttpHeaders headers) {
  HX_ASSIGN_OR_RETURN(HttpResponse response,
                      client_.Send({.method = "PUT",
                                    .key = full_key,
                                    .query = {},
                                    .headers = std::move(headers),
                                    .body = bytes,
                                    .max_response_bytes = 64 * 1024}));
  return response.Header("etag");
}

Status S3Store::Put(std::string_view key, std::span<const std::uint8_t> bytes) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  const std::string full_key = FullKey(key);
  if (bytes.size() >= options_.multipart_threshold && bytes.size() > 0) {
    Status status = PutMultipart(full_key, bytes);
    if (!status.ok()) return ForKey(std::move(status).error(), key);
    return OkStatus();
  }
  auto put = PutObject(full_key, bytes, {});
  if (!put.ok()) return ForKey(std::move(put).error(), key);
  return OkStatus();
}

Status S3Store::PutMultipart(const std::string& full_key, std::span<const std::uint8_t> bytes) {
  // Parts of part_size, grown if the object would need more than 10000.
  std::uint64_t part_size = std::max<std::uint64_t>(options_.part_size, 1);
  if ((bytes.size() + part_size - 1) / part_size > kMaxParts) {
    part_size = (bytes.size() + kMaxParts - 1) / kMaxParts;
  }
  const std::size_t parts = static_cast<std::size_t>((bytes.size() + part_size - 1) / part_size);

  // Every request of the upload is retried in place (part_retry), not
  // only the parts: a transient fault of one request must not cost the
  // whole upload, or the caller's attempts run out on faults that never hit
  // one request twice in a row. A lost reply to this one leaves an upload
  // nobody completes: invisible, and cleaned up by a lifecycle rule.
  HX_ASSIGN_OR_RETURN(HttpResponse created,
                      SendInPlace({.method = "POST",
                                   .key = full_key,
                                   .query = {{"uploads", ""}},
                                   .headers = {},
                                   .body = {},
                                   .max_response_bytes = 64 * 1024}));
  auto parsed = ParseXml(AsText(created.body));
  if (!parsed.ok()) return std::move(parsed).error();
  const std::string upload_id = parsed->ChildText("UploadId");
  if (upload_id.empty()) return BadReply("CreateMultipartUpload", "has no UploadId");

  // Workers take part numbers from a shared counter; the first failure stops
  // new parts from starting.
  std::vector<std::string> etags(parts);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (std::size_t i; !failed.load() && (i = next.fetch_add(1)) < parts;) {
      const std::uint64_t offset = i * part_size;
      const auto part = bytes.subspan(offset, std::min<std::uint64_t>(part_size,
                                                                      bytes.size() - offset));
      Result<HttpResponse> sent = SendInPlace({.method = "PUT",
                                               .key = full_key,
                                               .query = {{"partNumber", std::to_string(i + 1)},
                                                         {"uploadId", upload_id}},
                                               .headers = {},
                                               .body = part,
                                               .max_response_bytes = 64 * 1024});
      if (sent.ok() && sent->Header("etag").empty()) {
        sent = BadReply("UploadPart", "has no ETag");
      }
      if (!sent.ok()) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = std::move(sent).error();
        failed.store(true);
        return;
      }
      etags[i] = sent->Header("etag");
    }
  };
  const int threads = static_cast<int>(
      std::min<std::size_t>(parts, static_cast<std::size_t>(std::max(options_.concurrency, 1))));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();

  Status outcome = OkStatus();
  if (first_error) {
    outcome = std::move(*first_error);
  } else {
    std::string body = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < parts; ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
              XmlEscape(etags[i]) + "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    const std::span<const std::uint8_t> body_bytes(
        reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    auto completed = SendInPlace({.method = "POST",
                                  .key = full_key,
                                  .query = {{"uploadId", upload_id}},
                                  .headers = {},
                                  .body = body_bytes,
                                  .max_response_bytes = 64 * 1024});
    if (completed.ok()) return OkStatus();
    // A completion whose reply was lost and that was sent again (by us, or
    // by libcurl on a reused connection) may find the upload already gone
    // into the object: some servers answer NoSuchUpload. The object itself
    // tells: exactly our bytes means the upload completed.
    if (completed.error().category == Category::kNotFound) {
      auto current = client_.Send({.method = "GET",
                                   .key = full_key,
                                   .query = {},
                                   .headers = {},
                                   .body = {},
                                   .max_response_bytes = bytes.size()});
      if (current.ok() && std::ranges::equal(current->body, bytes)) return OkStatus();
    }
    outcome = std::move(completed).error();
  }
  // Abort, so that no parts linger (billed, invisible). Best effort: the
  // upload's own error is what the caller needs; a bucket lifecycle rule
  // cleans up what an abort could not.
  (void)client_.Send({.method = "DELETE",
                      .key = full_key,
                      .query = {{"uploadId", upload_id}},
                      .headers = {},
                      .body = {},
                      .max_response_bytes = 64 * 1024});
  return outcome;
}

Result<HttpResponse> S3Store::SendInPlace(const S3Request& request) {
  return part_retry_.Run([&] { return client_.Send(request); });
}

Result<StoreVersion> S3Store::ConditionalPut(std::string_view key,
                                             std::span<const std::uint8_t> bytes,
                                             const StoreVersion* expected) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  const std::string full_key = FullKey(key);
  if (expected != nullptr &&
      (expected->empty() || expected->size() > 1024 ||
       !std::ranges::all_of(*expected, [](char c) { return c >= 0x20 && c < 0x7f; }))) {
    // Never an ETag this store handed out (and not safe in a header).
    return Aborted(key, "changed since it was read");
  }
  if (emulated_.load()) return EmulatedConditionalPut(full_key, bytes, expected);
  HttpHeaders headers;
  if (expected == nullptr) {
    headers.emplace_back("If-None-Match", "*");
  } else {
    headers.emplace_back("If-Match", *expected);
  }
  auto put = PutObject(full_key, bytes, std::move(headers));
  if (put.ok()) return put;
  const Error& error = put.error();
  if (error.category == Category::kAborted) {
    return Aborted(key, expected == nullptr ? "already exists" : "changed since it was read");
  }
  if (error.category == Category::kNotFound && error.code == SyncCode::kStateFailed) {
    return Aborted(key, "does not exist (it was to be replaced)");
  }
  if (error.category == Category::kUnsupported) {
    // The server has no conditional writes: emulate them from now on.
    emulated_.store(true);
    return EmulatedConditionalPut(full_key, bytes, expected);
  }
  return ForKey(std::move(put).error(), key);
}

Result<StoreVersion> S3Store::EmulatedConditionalPut(const std::string& full_key,
                                                     std::span<const std::uint8_t> bytes,
                                                     const StoreVersion* expected) {
  // Check, then write: another writer between the two wins silently. The
  // lock protocol (meta/lock.h) copes with stores that say so.
  const std::string key =
      prefix_.empty() ? full_key : full_key.substr(std::min(full_key.size(), prefix_.size() + 1));
  auto head = Head(full_key);
  if (!head.ok() && head.error().category != Category::kNotFound) {
    return ForKey(std::move(head).error(), key);
  }
  if (expected == nullptr && head.ok()) return Aborted(key, "already exists");
  if (expected != nullptr) {
    if (!head.ok()) return Aborted(key, "does not exist (it was to be replaced)");
    if (head->Header("etag") != *expected) return Aborted(key, "changed since it was read");
  }
  auto put = PutObject(full_key, bytes, {});
  if (!put.ok()) return ForKey(std::move(put).error(), key);
  return put;
}

Result<StoreVersion> S3Store::PutIfAbsent(std::string_view key,
                                          std::span<const std::uint8_t> bytes) {
  return ConditionalPut(key, bytes, nullptr);
}

Result<StoreVersion> S3Store::PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                         const StoreVersion& expected) {
  return ConditionalPut(key, bytes, &expected);
}

Result<bool> S3Store::Exists(std::string_view key) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  auto head = Head(FullKey(key));
  if (head.ok()) return true;
  // A HEAD reply has no body, so a missing bucket also looks like this.
  if (head.error().category == Category::kNotFound) return false;
  return ForKey(std::move(head).error(), key);
}

Result<std::vector<StoreObjectInfo>> S3Store::List(std::string_view prefix) {
  HX_RETURN_IF_ERROR(ValidateStorePrefix(prefix));
  const std::string root = prefix_.empty() ? "" : prefix_ + "/";
  const ListLimits& limits = options_.list;
  const std::int64_t start_ms = client_.NowMs();
  std::vector<StoreObjectInfo> out;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  // Every token handed out so far: a server whose tokens cycle (A, B, A, ...)
  // would otherwise keep hx listing, and growing, forever.
  std::set<std::string> seen_tokens;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> query = {
        {"list-type", "2"}, {"prefix", root + std::string(prefix)}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    HX_ASSIGN_OR_RETURN(HttpResponse response,
                        client_.Send({.method = "GET",
                                      .key = "",
                                      .query = std::move(query),
                                      .headers = {},
                                      .body = {},
                                      .max_response_bytes = kMaxListPage}));
    bytes += response.body.size();
    HX_ASSIGN_OR_RETURN(XmlElement result, ParseXml(AsText(response.body)));
    if (result.name != "ListBucketResult") {
      return BadReply("ListObjectsV2", "is not a ListBucketResult");
    }
    for (const XmlElement* contents : result.Children("Contents")) {
      ++entries;
      const std::string full_key = contents->ChildText("Key");
      if (!full_key.starts_with(root)) continue;
      std::string key = full_key.substr(root.size());
      // Objects hx did not write (a stray upload, "folder" markers) are not
      // store keys; skipping them keeps the listing valid for callers.
      if (!IsValidStoreKey(key)) continue;
      std::uint64_t size = 0;
      if (!ParseUint(contents->ChildText("Size"), size)) {
        return BadReply("ListObjectsV2", "has an entry without a valid Size");
      }
      out.push_back({std::move(key), size});
    }
    if (result.ChildText("IsTruncated") != "true") break;
    std::string next = result.ChildText("NextContinuationToken");
    if (next.empty()) {
      return BadReply("ListObjectsV2", "is truncated but gives no continuation token");
    }
    if (!seen_tokens.insert(next).second) {
      return BadReply("ListObjectsV2",
                      "hands out a continuation token it gave before (the listing cycles)");
    }
    if (entries > limits.max_entries || bytes > limits.max_bytes) {
      return BadReply("ListObjectsV2",
                      "never ends (over " + std::to_string(limits.max_entries) + " entries or " +
                          std::to_string(limits.max_bytes) +
                          " bytes: HX_S3_LIST_MAX_ENTRIES, HX_S3_LIST_MAX_BYTES)");
    }
    if (client_.NowMs() - start_ms > limits.max_ms) {
      return BadReply("ListObjectsV2", "takes longer than " + std::to_string(limits.max_ms) +
                                           " ms (HX_S3_LIST_MAX_MS)");
    }
    token = std::move(next);
  }
  std::ranges::sort(out, {}, &StoreObjectInfo::key);
  return out;
}

Status S3Store::Delete(std::string_view key) {
  HX_RETURN_IF_ERROR(ValidateStoreKey(key));
  auto response = client_.Send({.method = "DELETE",
                                .key = FullKey(key),
                                .query = {},
                                .headers = {},
                                .body = {},
                                .max_response_bytes = 64 * 1024});
  if (response.ok()) return OkStatus();
  if (response.error().category == Category::kNotFound &&
      response.error().code == SyncCode::kStateFailed) {
    return OkStatus();
  }
  return ForKey(std::move(response).error(), key);
}

Status S3Store::CheckTarget() {
  auto listed = client_.Send({.method = "GET",
                              .key = "",
                              .query = {{"list-type", "2"}, {"max-keys", "1"}},
                              .headers = {},
                              .body = {},
                              .max_response_bytes = kMaxListPage});
  if (!listed.ok()) return std::move(listed).error();
  if (emulated_.load()) return OkStatus();
  std::uint8_t random[8];
  if (::getrandom(random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    return InternalError("getrandom failed");
  }
  const std::string probe = "locks/probe-" + ToHex(random);
  const std::uint8_t byte = 0;
  auto first = PutIfAbsent(probe, {&byte, 1});
  if (!first.ok()) return std::move(first).error();
  auto second = PutIfAbsent(probe, {&byte, 1});
  HX_RETURN_IF_ERROR(Delete(probe));
  if (second.ok() && !emulated_.load()) {
    return Error(SyncCode::kTargetUnsupported, Category::kUnsupported,
                 "the server at " + client_.endpoint().base_url +
                     " ignores conditional writes (If-None-Match), which hx needs for its lock; "
                     "set HX_S3_CONDITIONAL_WRITES=emulated to use it anyway, with the weaker "
                     "guarantees of docs/FORMAT.md")
        .With("bucket", client_.endpoint().bucket);
  }
  if (!second.ok() && second.error().category != Category::kAborted) {
    return std::move(second).error();
  }
  return OkStatus();
}

namespace {

// A positive integer environment variable, or `fallback`.
std::uint64_t EnvNumber(const CredentialEnvironment& env, std::string_view name,
                        std::uint64_t fallback) {
  std::uint64_t value = 0;
  auto text = env.Get(name);
  if (!text || !ParseUint(*text, value) || value == 0) return fallback;
  return value;
}

long EnvLong(const CredentialEnvironment& env, std::string_view name, long fallback) {
  const std::uint64_t value = EnvNumber(env, name, static_cast<std::uint64_t>(fallback));
  return static_cast<long>(std::min<std::uint64_t>(value, 1u << 30));
}

}  // namespace

S3StoreOptions S3StoreOptionsFromEnvironment(const CredentialEnvironment& env) {
  S3StoreOptions options;
  options.concurrency = static_cast<int>(EnvLong(env, "HX_S3_CONCURRENCY", options.concurrency));
  options.concurrency = std::min(options.concurrency, 64);
  options.multipart_threshold =
      EnvNumber(env, "HX_S3_MULTIPART_THRESHOLD", options.multipart_threshold);
  options.part_size = EnvNumber(env, "HX_S3_PART_SIZE", options.part_size);
  options.http.connect_timeout_ms = EnvLong(env, "HX_S3_CONNECT_TIMEOUT_MS", 5'000);
  options.http.min_bytes_per_second = EnvLong(env, "HX_S3_MIN_RATE", 1024);
  options.http.rate_window_seconds = EnvLong(env, "HX_S3_STALL_SECONDS", 15);
  options.http.request_base_ms = EnvLong(env, "HX_S3_REQUEST_BASE_MS", 60'000);
  options.http.request_timeout_ms = EnvLong(env, "HX_S3_REQUEST_TIMEOUT_MS", 0);
  options.http.command_deadline_ms =
      EnvLong(env, "HX_S3_COMMAND_DEADLINE_MS", 12 * 60 * 60 * 1000);
  options.list.max_entries = EnvNumber(env, "HX_S3_LIST_MAX_ENTRIES", options.list.max_entries);
  options.list.max_bytes = EnvNumber(env, "HX_S3_LIST_MAX_BYTES", options.list.max_bytes);
  options.list.max_ms = EnvLong(env, "HX_S3_LIST_MAX_MS", options.list.max_ms);
  if (auto mode = env.Get("HX_S3_CONDITIONAL_WRITES"); mode && *mode == "emulated") {
    options.conditional_writes = ConditionalWrites::kEmulated;
  }
  return options;
}

RetryOptions S3RetryOptionsFromEnvironment(const CredentialEnvironment& env) {
  RetryOptions options;
  options.max_attempts = static_cast<int>(EnvLong(env, "HX_S3_MAX_ATTEMPTS", 5));
  options.max_total = std::chrono::milliseconds(EnvLong(env, "HX_S3_MAX_RETRY_MS", 60'000));
  return options;
}

}  // namespace hx::s3
