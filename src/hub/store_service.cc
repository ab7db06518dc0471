#include "hub/store_service.h"

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/retry_policy.h"  // ClockOrReal

namespace hx::hub {
namespace {

HubResponse Bytes200(const Bytes& bytes, const StoreVersion* version) {
  HubResponse response;
  response.content_type = "application/octet-stream";
  response.body.assign(bytes.begin(), bytes.end());
  if (version != nullptr) response.headers.emplace_back("X-Hx-Version", EncodeVersion(*version));
  return response;
}

HubResponse Version200(const StoreVersion& version) {
  HubResponse response = HubResponse::Json(200, "{\"version\":\"" + EncodeVersion(version) + "\"}");
  response.headers.emplace_back("X-Hx-Version", EncodeVersion(version));
  return response;
}

std::span<const std::uint8_t> BodyBytes(const HubRequest& request) {
  return {reinterpret_cast<const std::uint8_t*>(request.body.data()), request.body.size()};
}

// The hex version a conditional write answered with ("" for a plain Put).
std::string ResponseVersion(const HubResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "X-Hx-Version") return value;
  }
  return "";
}

}  // namespace

StoreService::StoreService(std::shared_ptr<VaultStores> stores,
                           std::shared_ptr<Authorizer> authorizer, StoreServiceOptions options)
    : stores_(std::move(stores)),
      authorizer_(std::move(authorizer)),
      options_(options),
      feed_(stores_, options.feed) {}

void StoreService::Register(Router& router) {
  // A PUT's token is checked on its headers, before its body (up to
  // max_object_bytes) is read.
  const Admission admit_put = [this](const HubRequest& head) -> std::optional<HubResponse> {
    const Result<StoreRequest> parsed = ParseStoreRequest(head, options_.max_object_bytes);
    if (!parsed.ok()) return HubResponse::FromError(parsed.error());
    Principal principal;
    return Admit(head, *parsed, principal);
  };
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) {
    const bool put = std::string_view(method) == "PUT";
    router.HandleAsync(
        method, "/v1/",
        [this](HubRequest request, Responder respond) {
          Serve(std::move(request), std::move(respond));
        },
        put ? options_.max_object_bytes : kDefaultRouteBodyBytes, put ? admit_put : Admission());
  }
}

std::optional<HubResponse> StoreService::Admit(const HubRequest& request,
                                               const StoreRequest& parsed, Principal& principal) {
  Result<Principal> who = authorizer_->Authenticate(parsed.vault, request.Bearer(),
                                                    ClockOrReal(options_.clock).WallMs());
  if (!who.ok()) return HubResponse::FromError(who.error());
  if (who->vault != parsed.vault) {
    return HubResponse::FromError(Error(
        SyncCode::kAuthFailed, Category::kAuth,
        "the token is for another vault; get a token for this vault (enroll the device for it)"));
  }
  if (parsed.writes() && who->role == Role::kReader) {
    HubResponse refused = HubResponse::FromError(
        Error(SyncCode::kAuthFailed, Category::kAuth,
              "this device is enrolled as a reader of the vault and may not write; ask an "
              "administrator for a writer enrollment")
            .With("device", who->device_id));
    refused.status = 403;
    return refused;
  }
  principal = std::move(*who);
  return std::nullopt;
}

std::mutex& StoreService::LockFor(const std::string& key) {
  return key_locks_[std::hash<std::string>{}(key) % key_locks_.size()];
}

void StoreService::Serve(HubRequest request, Responder respond) {
  const Result<StoreRequest> parsed = ParseStoreRequest(request, options_.max_object_bytes);
  if (!parsed.ok()) return respond(HubResponse::FromError(parsed.error()));
  Principal principal;
  if (std::optional<HubResponse> refused = Admit(request, *parsed, principal)) {
    return respond(std::move(*refused));
  }
  if (parsed->op == StoreOp::kFeedStream) {
    const std::int64_t token_left_ms = principal.expires_ms - ClockOrReal(options_.clock).WallMs();
    return feed_.Stream(parsed->vault, parsed->version, token_left_ms, std::move(respond));
  }
  if (parsed->op == StoreOp::kFeed) {
    if (options_.on_feed_poll && !parsed->version.empty()) {
      options_.on_feed_poll(parsed->vault, principal.device_id, EncodeVersion(parsed->version));
    }
    return feed_.Wait(parsed->vault, parsed->version, parsed->wait_ms, std::move(respond));
  }
  const Result<Store*> store = stores_->For(parsed->vault);
  if (!store.ok()) return respond(HubResponse::FromError(store.error()));
  respond(Execute(**store, *parsed, request, principal));
}

HubResponse StoreService::Execute(Store& store, const StoreRequest& request, const HubRequest& http,
                                  const Principal& principal) {
  const std::string& key = request.key;
  auto fail = [](const Error& error) { return HubResponse::FromError(error); };
  switch (request.op) {
    case StoreOp::kGet: {
      const Result<Bytes> bytes = store.Get(key, request.max_size);
      return bytes.ok() ? Bytes200(*bytes, nullptr) : fail(bytes.error());
    }
    case StoreOp::kGetVersioned: {
      const auto got = store.GetVersioned(key, request.max_size);
      return got.ok() ? Bytes200(got->first, &got->second) : fail(got.error());
    }
    case StoreOp::kGetRange: {
      // No object is longer than the hub's bound, so a longer range is
      // beyond the end whatever the object (and is not read).
      if (request.range.length > options_.max_object_bytes) {
        return fail(Error(SyncCode::kStateFailed, Category::kCorrupt,
                          "the range is longer than any object the hub holds")
                        .With("key", key));
      }
      const Result<Bytes> bytes = store.GetRange(key, request.range);
      return bytes.ok() ? Bytes200(*bytes, nullptr) : fail(bytes.error());
    }
    case StoreOp::kGetIfNoneMatch: {
      const auto got = store.GetIfNoneMatch(key, request.version, request.max_size);
      if (!got.ok()) return fail(got.error());
      if (!got->has_value()) {
        HubResponse unchanged;
        unchanged.status = 304;
        unchanged.headers.emplace_back("X-Hx-Version", EncodeVersion(request.version));
        return unchanged;
      }
      return Bytes200((*got)->first, &(*got)->second);
    }
    case StoreOp::kExists: {
      const Result<bool> exists = store.Exists(key);
      if (!exists.ok()) return fail(exists.error());
      HubResponse response = HubResponse::Json(*exists ? 200 : 404, "{}");
      return response;
    }
    case StoreOp::kList: {
      const auto listed = store.List(key);
      if (!listed.ok()) return fail(listed.error());
      nlohmann::json objects = nlohmann::json::array();
      for (const StoreObjectInfo& info : *listed) {
        objects.push_back({{"key", info.key}, {"size", info.size}});
      }
      return HubResponse::Json(200, nlohmann::json{{"objects", std::move(objects)}}.dump());
    }
    case StoreOp::kPut:
    case StoreOp::kPutIfAbsent:
    case StoreOp::kPutIfMatch:
    case StoreOp::kDelete:
      break;
    case StoreOp::kFeed:
    case StoreOp::kFeedStream:
      return HubResponse::BadRequest("internal: the feed is not a store call");
  }
  HubResponse response;
  {
    std::lock_guard lock(LockFor(request.BackingKey()));
    const std::span<const std::uint8_t> body = BodyBytes(http);
    if (request.op == StoreOp::kPut) {
      const Status put = store.Put(key, body);
      response = put.ok() ? HubResponse::Json(200, "{}") : fail(put.error());
    } else if (request.op == StoreOp::kPutIfAbsent) {
      const Result<StoreVersion> put = store.PutIfAbsent(key, body);
      response = put.ok() ? Version200(*put) : fail(put.error());
    } else if (request.op == StoreOp::kPutIfMatch) {
      const Result<StoreVersion> put = store.PutIfMatch(key, body, request.version);
      response = put.ok() ? Version200(*put) : fail(put.error());
    } else {
      const Status deleted = store.Delete(key);
      response = deleted.ok() ? HubResponse::Json(200, "{}") : fail(deleted.error());
    }
  }
  if (response.status == 200 && request.key == "head.json") {
    feed_.Notify(request.vault);
    if (options_.on_head_written && request.op != StoreOp::kDelete) {
      const std::string version = ResponseVersion(response);
      options_.on_head_written(request.vault, principal.device_id, version);
    }
  }
  return response;
}

}  // namespace hx::hub
