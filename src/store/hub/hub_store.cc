#include "store/hub/hub_store.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "store/retry_policy.h"
#include "store/s3/http_client.h"
#include "store/store_wrappers.h"

namespace hx {
namespace {

// The hub's protocol (hub/protocol.h) spelled on the client side: versions
// travel as lowercase hex of at most 512 characters.
std::string EncodeHex(std::string_view version) { return StringToHex(version); }

std::optional<std::string> DecodeHex(std::string_view hex) { return LowerHexToString(hex, 512); }

// Prefixes are store keys or key starts: a-z 0-9 . _ - and '/', none of
// which needs percent-encoding in a query.
std::string QueryValue(std::string_view text) { return std::string(text); }

class HubStore final : public Store {
 public:
  HubStore(const Target& target, HubStoreOptions options)
      : target_(target),
        base_((target.hub_tls ? "https://" : "http://") + target.hub_host + "/v1/" +
              target.vault + "/"),
        tokens_(std::move(options.tokens)),
        clock_(&ClockOrReal(options.clock)),
        http_(MakeHttpOptions(options)) {
    capabilities_.atomic_create = true;
    capabilities_.atomic_compare_and_swap = true;  // the hub serialises writes per key
    capabilities_.ranged_reads = true;
  }

  const StoreCapabilities& capabilities() const override { return capabilities_; }
  std::string Describe() const override { return target_.ToUri(); }

  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response,
                        Send("GET", ObjectPath(key) + "?max=" + std::to_string(max_size), {},
                             max_size));
    if (response.status != 200) return ErrorOf(response, key);
    return std::move(response.body);
  }

  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response,
                        Send("GET",
                             ObjectPath(key) + "?offset=" + std::to_string(range.offset) +
                                 "&length=" + std::to_string(range.length),
                             {}, range.length));
    if (response.status != 200) return ErrorOf(response, key);
    // The Store contract: a range is read whole or fails. A hub (another
    // party) that answers with fewer bytes than asked is not believed.
    if (response.body.size() != range.length) {
      return StoreObjectCorrupt(key, "is shorter than the range asked for (" +
                                         std::to_string(response.body.size()) + " of " +
                                         std::to_string(range.length) + " bytes at " +
                                         std::to_string(range.offset) + ")");
    }
    return std::move(response.body);
  }

  Result<std::pair<Bytes, StoreVersion>> GetVersioned(std::string_view key,
                                                      std::uint64_t max_size) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(
        s3::HttpResponse response,
        Send("GET", ObjectPath(key) + "?max=" + std::to_string(max_size) + "&versioned=1", {},
             max_size));
    if (response.status != 200) return ErrorOf(response, key);
    HX_ASSIGN_OR_RETURN(StoreVersion version, VersionOf(response, key));
    return std::make_pair(std::move(response.body), std::move(version));
  }

  Result<std::optional<std::pair<Bytes, StoreVersion>>> GetIfNoneMatch(
      std::string_view key, const StoreVersion& version, std::uint64_t max_size) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response,
                        Send("GET",
                             ObjectPath(key) + "?max=" + std::to_string(max_size) +
                                 "&if-none-match=" + EncodeHex(version),
                             {}, max_size));
    if (response.status == 304) return std::optional<std::pair<Bytes, StoreVersion>>();
    if (response.status != 200) return ErrorOf(response, key);
    HX_ASSIGN_OR_RETURN(StoreVersion current, VersionOf(response, key));
    return std::optional<std::pair<Bytes, StoreVersion>>(
        std::make_pair(std::move(response.body), std::move(current)));
  }

  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response, Send("PUT", ObjectPath(key), bytes, 4096));
    if (response.status != 200) return ErrorOf(response, key);
    return {};
  }

  Result<StoreVersion> PutIfAbsent(std::string_view key,
                                   std::span<const std::uint8_t> bytes) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response,
                        Send("PUT", ObjectPath(key) + "?if-absent=1", bytes, 4096));
    if (response.status != 200) return ErrorOf(response, key);
    return VersionOf(response, key);
  }

  Result<StoreVersion> PutIfMatch(std::string_view key, std::span<const std::uint8_t> bytes,
                                  const StoreVersion& expected) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(
        s3::HttpResponse response,
        Send("PUT", ObjectPath(key) + "?if-match=" + EncodeHex(expected), bytes, 4096));
    if (response.status != 200) return ErrorOf(response, key);
    return VersionOf(response, key);
  }

  Result<bool> Exists(std::string_view key) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response, Send("HEAD", ObjectPath(key), {}, 0));
    if (response.status == 200) return true;
    if (response.status == 404) return false;
    return ErrorOf(response, key);
  }

  Result<std::vector<StoreObjectInfo>> List(std::string_view prefix) override {
    HX_RETURN_IF_ERROR(ValidateStorePrefix(prefix));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response,
                        Send("GET", "list?prefix=" + QueryValue(prefix), {}, kMaxListBytes));
    if (response.status != 200) return ErrorOf(response, prefix);
    const nlohmann::json json =
        nlohmann::json::parse(response.body.begin(), response.body.end(), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("objects") ||
        !json["objects"].is_array()) {
      return Malformed("a list reply is not the expected JSON");
    }
    std::vector<StoreObjectInfo> out;
    for (const nlohmann::json& object : json["objects"]) {
      if (!object.is_object() || !object.contains("key") || !object["key"].is_string() ||
          !object.contains("size") || !object["size"].is_number_unsigned()) {
        return Malformed("a list reply holds a malformed entry");
      }
      StoreObjectInfo info;
      info.key = object["key"].get<std::string>();
      info.size = object["size"].get<std::uint64_t>();
      if (!IsValidStoreKey(info.key)) continue;
      out.push_back(std::move(info));
    }
    return out;
  }

  Status Delete(std::string_view key) override {
    HX_RETURN_IF_ERROR(ValidateStoreKey(key));
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response, Send("DELETE", ObjectPath(key), {}, 4096));
    if (response.status != 200) return ErrorOf(response, key);
    return {};
  }

  Result<HubFeedAnswer> Feed(const std::optional<StoreVersion>& after, std::int64_t wait_ms) {
    std::string path = "feed?wait_ms=" + std::to_string(wait_ms);
    if (after) path += "&after=" + EncodeHex(*after);
    HX_ASSIGN_OR_RETURN(s3::HttpResponse response, Send("GET", path, {}, 4096));
    if (response.status != 200) return ErrorOf(response, "feed");
    const nlohmann::json json =
        nlohmann::json::parse(response.body.begin(), response.body.end(), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("changed") ||
        !json["changed"].is_boolean() || !json.contains("head")) {
      return Malformed("a feed reply is not the expected JSON");
    }
    HubFeedAnswer answer;
    answer.changed = json["changed"].get<bool>();
    if (json["head"].is_string()) {
      answer.head = DecodeHex(json["head"].get<std::string>());
      if (!answer.head) return Malformed("a feed reply's head is not hex");
    } else if (!json["head"].is_null()) {
      return Malformed("a feed reply's head is neither a version nor null");
    }
    return answer;
  }

 private:
  static constexpr std::uint64_t kMaxListBytes = std::uint64_t{256} << 20;

  static s3::HttpOptions MakeHttpOptions(const HubStoreOptions& options) {
    s3::HttpOptions http;
    http.ca_file = options.ca_file;
    http.clock = options.clock;
    http.meter = options.meter;
    return http;
  }

  std::string ObjectPath(std::string_view key) const { return "o/" + std::string(key); }

  Result<s3::HttpResponse> Send(const std::string& method, const std::string& path,
                                std::span<const std::uint8_t> body, std::uint64_t max_bytes) {
    for (int attempt = 0;; ++attempt) {
      s3::HttpRequest request;
      request.method = method;
      request.url = base_ + path;
      request.body = body;
      request.max_response_bytes = max_bytes == ~std::uint64_t{0} ? max_bytes : max_bytes + 1;
      if (method == "PUT") request.headers.emplace_back("Content-Type", "application/octet-stream");
      if (tokens_) {
        Result<std::string> token = tokens_->Token(clock_->WallMs(), /*force=*/attempt > 0);
        if (!token.ok()) return token.error();
        request.headers.emplace_back("Authorization", "Bearer " + *token);
      }
      Result<s3::HttpResponse> response = http_.Perform(request);
      if (!response.ok()) return TransportError(response.error());
      if (response->status == 401 && tokens_ && attempt == 0) continue;
      return response;
    }
  }

  Error TransportError(Error error) const {
    if (error.category == Category::kAuth) {
      error.message = "the hub's TLS certificate is not trusted (" + error.message +
                      "); if the hub uses its own certificate, pin it: HX_HUB_CA=<its PEM file>";
      error.code = SyncCode::kNetworkFailed;
      error.With("uri", target_.ToUri());
    }
    return error;
  }

  Error Malformed(std::string what) const {
    return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                 "the hub at " + target_.hub_host + " gave a malformed reply (" + what +
                     "); check that the target names an hx hub")
        .With("uri", target_.ToUri());
  }

  Result<StoreVersion> VersionOf(const s3::HttpResponse& response, std::string_view key) const {
    const std::optional<std::string> version = DecodeHex(response.Header("x-hx-version"));
    if (!version || version->empty()) {
      return Malformed("no version for " + std::string(key));
    }
    return *version;
  }

  // The hub's JSON error rebuilt, or a transport-level error for a reply
  // that is not one (a proxy's page, a server that is not a hub).
  Error ErrorOf(const s3::HttpResponse& response, std::string_view key) const {
    const nlohmann::json json =
        nlohmann::json::parse(response.body.begin(), response.body.end(), nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("error") &&
        json["error"].is_object()) {
      const nlohmann::json& e = json["error"];
      const std::optional<SyncCode> code =
          e.contains("code") && e["code"].is_string()
              ? SyncCodeFromString(e["code"].get<std::string>())
              : std::nullopt;
      const std::optional<Category> category =
          e.contains("category") && e["category"].is_string()
              ? CategoryFromString(e["category"].get<std::string>())
              : std::nullopt;
      if (code && category) {
        Error error(*code, *category,
                    e.contains("message") && e["message"].is_string()
                        ? e["message"].get<std::string>()
                        : std::string("the hub refused the request"));
        if (e.contains("details") && e["details"].is_object()) {
          for (const auto& [name, value] : e["details"].items()) {
            if (value.is_string()) error.With(name, value.get<std::string>());
          }
        }
        return std::move(error).With("hub", target_.hub_host);
      }
    }
    if (response.status == 404) {
      return Error(SyncCode::kStateFailed, Category::kNotFound,
                   "no object " + std::string(key) + " on the hub")
          .With("key", std::string(key));
    }
    const Category category =
        response.status == 429 || response.status == 503 ? Category::kThrottling : Category::kNetwork;
    return Error(SyncCode::kNetworkFailed, category,
                 "the hub at " + target_.hub_host + " answered HTTP " +
                     std::to_string(response.status) + " without an hx error; retry, and check "
                     "that the target names an hx hub")
        .With("http_status", std::to_string(response.status));
  }

  const Target target_;
  const std::string base_;
  std::shared_ptr<TokenSource> tokens_;
  Clock* clock_;  // dates the tokens' refresh
  StoreCapabilities capabilities_;
  s3::HttpClient http_;
};

class HubFeedImpl final : public HubFeed {
 public:
  explicit HubFeedImpl(std::unique_ptr<HubStore> store) : store_(std::move(store)) {}
  Result<HubFeedAnswer> Wait(const std::optional<StoreVersion>& after,
                             std::int64_t wait_ms) override {
    return store_->Feed(after, wait_ms);
  }

 private:
  std::unique_ptr<HubStore> store_;
};

std::mutex& ProviderMutex() {
  static std::mutex mu;
  return mu;
}
HubTokenProvider& Provider() {
  static HubTokenProvider provider;
  return provider;
}

}  // namespace

void SetHubTokenProvider(HubTokenProvider provider) {
  std::lock_guard lock(ProviderMutex());
  Provider() = std::move(provider);
}

HubStoreOptions HubStoreOptionsFromEnvironment(const Target& target) {
  HubStoreOptions options;
  if (const char* ca = std::getenv("HX_HUB_CA"); ca != nullptr) options.ca_file = ca;
  std::lock_guard lock(ProviderMutex());
  if (Provider()) options.tokens = Provider()(target);
  return options;
}

Result<std::unique_ptr<HubFeed>> MakeHubFeed(const Target& target, HubStoreOptions options) {
  if (target.kind != TargetKind::kHub) return InternalError("MakeHubFeed needs a hub target");
  return std::unique_ptr<HubFeed>(
      std::make_unique<HubFeedImpl>(std::make_unique<HubStore>(target, std::move(options))));
}

Result<std::unique_ptr<Store>> MakeHubStore(const Target& target, HubStoreOptions options) {
  if (target.kind != TargetKind::kHub) {
    return InternalError("MakeHubStore needs a hub target");
  }
  return std::unique_ptr<Store>(std::make_unique<HubStore>(target, std::move(options)));
}

Result<std::unique_ptr<Store>> OpenHubStore(const Target& target, Clock* clock,
                                            std::shared_ptr<obs::RequestMeter> meter) {
  HubStoreOptions options = HubStoreOptionsFromEnvironment(target);
  options.clock = clock;
  options.meter = std::move(meter);
  HX_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, MakeHubStore(target, std::move(options)));
  RetryOptions retry;
  retry.clock = clock;
  return std::unique_ptr<Store>(std::make_unique<RetryingStore>(std::move(store), retry));
}

}  // namespace hx
