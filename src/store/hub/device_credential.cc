#include "store/hub/device_credential.h"

#include <fcntl.h>
#include <cerrno>
#include <sys/stat.h>

#include <utility>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "base/os_error.h"
#include "store/s3/http_client.h"

namespace hx {
namespace {

constexpr std::int64_t kCredentialFormat = 1;

std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Error Corrupt(const std::string& why) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               ".hx/" + std::string(kHubCredentialFileName) + " is damaged (" + why +
                   "); enroll this device again with a new code ('hx serve enroll' on the hub, "
                   "then 'hx sync init ... --enroll CODE')");
}

Result<nlohmann::json> ParseReply(std::string_view body) {
  JsonReadOptions options;
  options.max_input_bytes = kMaxHubAuthReplyBytes;
  options.max_depth = 8;
  Result<nlohmann::json> value = ParseJson(body, options);
  if (!value.ok()) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the hub's reply is not JSON: " + value.error().message);
  }
  return value;
}

Result<std::string> Write(const nlohmann::json& value) { return WriteCanonicalJson(value); }

class HttpHubAuthTransport final : public HubAuthTransport {
 public:
  HttpHubAuthTransport(std::string base_url, std::string ca_file)
      : base_url_(std::move(base_url)), client_([&] {
          s3::HttpOptions options;
          options.ca_file = std::move(ca_file);
          options.connect_timeout_ms = 10'000;
          options.request_timeout_ms = 60'000;
          return options;
        }()) {}

  Result<std::string> Post(std::string_view path, std::string_view body) override {
    s3::HttpRequest request;
    request.method = "POST";
    request.url = base_url_ + std::string(path);
    request.headers.push_back({"content-type", "application/json"});
    request.body = AsBytes(body);
    request.max_response_bytes = kMaxHubAuthReplyBytes;
    HX_ASSIGN_OR_RETURN(const s3::HttpResponse reply, client_.Perform(request));
    const std::string text(reply.body.begin(), reply.body.end());
    if (reply.status < 200 || reply.status > 299) return HubReplyError(reply.status, text);
    return text;
  }

 private:
  const std::string base_url_;
  s3::HttpClient client_;
};

}  // namespace

std::string HubAuthPath(std::string_view vault, std::string_view action) {
  return "/v1/_auth/" + std::string(vault) + "/" + std::string(action);
}

std::string ChallengeMessage(std::string_view vault, std::string_view device_id,
                             std::string_view challenge) {
  std::string message = "hx hub challenge v1\n";
  message += vault;
  message += '\n';
  message += device_id;
  message += '\n';
  message += challenge;
  return message;
}

Ed25519KeyPair DeviceCredential::KeyPair() const { return Ed25519KeyPairFromSeed(seed.bytes()); }

std::string EncodeDeviceCredential(const DeviceCredential& credential) {
  Result<std::string> text = Write({{"format", kCredentialFormat},
                                    {"vault", credential.vault},
                                    {"device_id", credential.device_id},
                                    {"role", credential.role},
                                    {"seed", ToHex(credential.seed.bytes())}});
  return text.ok() ? *std::move(text) : std::string("{}");
}

Result<DeviceCredential> DecodeDeviceCredential(std::string_view bytes) {
  JsonReadOptions options;
  options.max_input_bytes = kMaxHubCredentialBytes;
  options.max_depth = 4;
  Result<nlohmann::json> value = ParseCanonicalJson(bytes, options);
  if (!value.ok()) return Corrupt(value.error().message);
  Result<DeviceCredential> out = [&]() -> Result<DeviceCredential> {
    HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(*value, kHubCredentialFileName.data()));
    HX_ASSIGN_OR_RETURN(const std::int64_t format, fields.Int("format"));
    if (format != kCredentialFormat) {
      return InvalidInput(SyncCode::kStateFailed, "format " + std::to_string(format));
    }
    DeviceCredential credential;
    HX_ASSIGN_OR_RETURN(credential.vault, fields.String("vault"));
    HX_ASSIGN_OR_RETURN(credential.device_id, fields.String("device_id"));
    HX_ASSIGN_OR_RETURN(credential.role, fields.String("role"));
    HX_ASSIGN_OR_RETURN(std::string seed, fields.String("seed"));
    HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
    if (!IsLowerHex(credential.device_id, 32) || !IsLowerHex(seed, 64) ||
        credential.vault.empty() || credential.vault.size() > 64) {
      return InvalidInput(SyncCode::kStateFailed, "a field is out of bounds");
    }
    std::optional<std::vector<std::uint8_t>> raw = FromHex(seed);
    credential.seed = SecretKey(std::span<const std::uint8_t, kSecretKeySize>(raw->data(), 32));
    std::fill(raw->begin(), raw->end(), 0);
    std::fill(seed.begin(), seed.end(), '0');
    return credential;
  }();
  if (!out.ok()) return Corrupt(out.error().message);
  return out;
}

Result<DeviceCredential> ReadDeviceCredential(Env& env, const std::filesystem::path& path) {
  int fd = -1;
  int err = env.Open(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0, &fd);
  if (err == ENOENT) {
    return Error(SyncCode::kAuthFailed, Category::kNotFound,
                 "this vault has no hub credential (" + path.string() +
                     "); enroll it: 'hx sync init <vault> <hxs://...> --enroll CODE'")
        .With("path", path.string());
  }
  if (err != 0) return OsError(SyncCode::kStateFailed, "cannot open", path, err);
  std::string text(kMaxHubCredentialBytes + 1, '\0');
  std::size_t total = 0;
  struct stat st {};
  err = env.Fstat(fd, &st);
  while (err == 0 && total < text.size()) {
    std::size_t got = 0;
    err = env.Read(fd, text.data() + total, text.size() - total, &got);
    if (got == 0) break;
    total += got;
  }
  env.Close(fd);
  if (err != 0) return OsError(SyncCode::kStateFailed, "cannot read", path, err);
  if ((st.st_mode & 077) != 0) {
    return Error(SyncCode::kAuthFailed, Category::kAuth,
                 path.string() + " (this device's hub key) may be read by other users; run "
                 "'chmod 600 " + path.string() + "'")
        .With("path", path.string());
  }
  if (total > kMaxHubCredentialBytes) return Corrupt("it is too large");
  text.resize(total);
  Result<DeviceCredential> credential = DecodeDeviceCredential(text);
  std::fill(text.begin(), text.end(), '\0');
  return credential;
}

Error HubReplyError(long status, std::string_view body) {
  const std::string http_status = std::to_string(status);
  JsonReadOptions options;
  options.max_input_bytes = kMaxHubAuthReplyBytes;
  options.max_depth = 8;
  Result<nlohmann::json> value = ParseJson(body, options);
  if (value.ok() && value->is_object()) {
    const nlohmann::json* error = value->contains("error") ? &(*value)["error"] : &*value;
    if (error->is_object() && error->contains("code") && (*error)["code"].is_string() &&
        error->contains("category") && (*error)["category"].is_string() &&
        error->contains("message") && (*error)["message"].is_string()) {
      const std::optional<SyncCode> code =
          SyncCodeFromString((*error)["code"].get<std::string>());
      const std::optional<Category> category =
          CategoryFromString((*error)["category"].get<std::string>());
      if (code && category) {
        return Error(*code, *category,
                     "the hub refused: " + (*error)["message"].get<std::string>())
            .With("http_status", http_status);
      }
    }
  }
  if (status == 401 || status == 403) {
    return Error(SyncCode::kAuthFailed, Category::kAuth,
                 "the hub refused the credential (HTTP " + http_status + ")")
        .With("http_status", http_status);
  }
  if (status >= 500) {
    return Error(SyncCode::kNetworkFailed, Category::kNetwork,
                 "the hub failed (HTTP " + http_status + "); try again")
        .With("http_status", http_status);
  }
  return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
               "the hub refused the request (HTTP " + http_status + ")")
      .With("http_status", http_status);
}

std::shared_ptr<HubAuthTransport> MakeHttpHubAuthTransport(std::string base_url,
                                                           std::string ca_file) {
  return std::make_shared<HttpHubAuthTransport>(std::move(base_url), std::move(ca_file));
}

Result<DeviceCredential> EnrollDevice(HubAuthTransport& transport, const EnrollRequest& request) {
  DeviceCredential credential;
  credential.vault = request.vault;
  credential.seed = SecretKey::Random();
  const Ed25519KeyPair pair = credential.KeyPair();
  HX_ASSIGN_OR_RETURN(const std::string body, Write({{"code", request.code},
                                                     {"name", request.name},
                                                     {"platform", request.platform},
                                                     {"public_key", ToHex(pair.public_key)}}));
  HX_ASSIGN_OR_RETURN(const std::string reply,
                      transport.Post(HubAuthPath(request.vault, "register"), body));
  HX_ASSIGN_OR_RETURN(const nlohmann::json value, ParseReply(reply));
  if (!value.is_object() || !value.contains("device_id") || !value["device_id"].is_string() ||
      !IsLowerHex(value["device_id"].get<std::string>(), 32) || !value.contains("role") ||
      !value["role"].is_string()) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the hub's registration reply has no valid device_id and role");
  }
  credential.device_id = value["device_id"].get<std::string>();
  credential.role = value["role"].get<std::string>();
  return credential;
}

DeviceTokenSource::DeviceTokenSource(DeviceCredential credential,
                                     std::shared_ptr<HubAuthTransport> transport)
    : credential_(std::move(credential)),
      pair_(credential_.KeyPair()),
      transport_(std::move(transport)) {}

Result<std::string> DeviceTokenSource::Token(std::int64_t now_ms, bool force) {
  MutexLock lock(mu_);
  if (!force && !token_.empty() && now_ms < refresh_at_ms_) return token_;
  return Fetch(now_ms);
}

int DeviceTokenSource::fetches() const {
  MutexLock lock(mu_);
  return fetches_;
}

Result<std::string> DeviceTokenSource::Fetch(std::int64_t now_ms) {
  const std::string& vault = credential_.vault;
  const std::string& device = credential_.device_id;
  HX_ASSIGN_OR_RETURN(const std::string ask, Write({{"device_id", device}}));
  HX_ASSIGN_OR_RETURN(const std::string challenge_reply,
                      transport_->Post(HubAuthPath(vault, "challenge"), ask));
  HX_ASSIGN_OR_RETURN(const nlohmann::json challenge_value, ParseReply(challenge_reply));
  if (!challenge_value.is_object() || !challenge_value.contains("challenge") ||
      !challenge_value["challenge"].is_string()) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the hub's challenge reply has no challenge");
  }
  const std::string challenge = challenge_value["challenge"].get<std::string>();
  const Ed25519Signature signature =
      Ed25519Sign(pair_.secret_key, AsBytes(ChallengeMessage(vault, device, challenge)));
  HX_ASSIGN_OR_RETURN(const std::string answer, Write({{"device_id", device},
                                                       {"challenge", challenge},
                                                       {"signature", ToHex(signature)}}));
  HX_ASSIGN_OR_RETURN(const std::string token_reply,
                      transport_->Post(HubAuthPath(vault, "token"), answer));
  HX_ASSIGN_OR_RETURN(const nlohmann::json value, ParseReply(token_reply));
  if (!value.is_object() || !value.contains("token") || !value["token"].is_string() ||
      !value.contains("issued_ms") || !value["issued_ms"].is_number_integer() ||
      !value.contains("expires_ms") || !value["expires_ms"].is_number_integer()) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the hub's token reply has no token, issued_ms and expires_ms");
  }
  const std::int64_t lifetime =
      value["expires_ms"].get<std::int64_t>() - value["issued_ms"].get<std::int64_t>();
  if (lifetime <= 0) {
    return Error(SyncCode::kNetworkFailed, Category::kCorrupt,
                 "the hub sent a token that is already expired");
  }
  token_ = value["token"].get<std::string>();
  refresh_at_ms_ = now_ms + lifetime - lifetime / 5;
  ++fetches_;
  return token_;
}

}  // namespace hx
