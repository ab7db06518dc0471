#include "store/store.h"

#include <string>

#include "store/folder_store.h"
#include "store/hub/hub_store.h"
#include "store/retry_policy.h"
#include "store/s3/s3_store.h"
#include "store/store_wrappers.h"

namespace hx {

Error StoreObjectNotFound(std::string_view key) {
  return Error(SyncCode::kStateFailed, Category::kNotFound,
               "store object " + std::string(key) + " does not exist")
      .With("key", std::string(key));
}

Error StoreObjectCorrupt(std::string_view key, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "store object " + std::string(key) + " " + std::move(message))
      .With("key", std::string(key));
}

Error StoreObjectAborted(std::string_view key, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kAborted,
               "store object " + std::string(key) + " " + std::move(message))
      .With("key", std::string(key));
}
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// The key as it may appear in a message: printable ASCII kept, anything else
// written \xNN, cut after 96 bytes. A key is never secret, but a buggy caller
// might pass arbitrary bytes, and messages must stay valid UTF-8.
std::string EscapeKey(std::string_view key) {
  constexpr std::size_t kShown = 96;
  std::string out;
  for (std::size_t i = 0; i < key.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (key.size() > kShown) out += "...";
  return out;
}

// Why `text` is not a valid key (or prefix, when `prefix` is true), or
// nullptr if it is. One function for both, so the two can never disagree on
// what a segment is.
const char* KeyProblem(std::string_view text, bool prefix) {
  if (text.empty()) return prefix ? nullptr : "a key must not be empty";
  if (text.size() > kMaxStoreKeyBytes) return "longer than 255 bytes";
  if (text.front() == '/') return "starts with '/'";
  std::size_t segment_start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '/') {
      if (!IsKeyChar(text[i])) return "a character outside [a-z0-9._-/]";
      continue;
    }
    const std::string_view segment = text.substr(segment_start, i - segment_start);
    const bool complete = i < text.size();  // followed by '/'
    if (complete || !prefix) {
      if (segment.empty()) return complete ? "an empty segment" : "ends with '/'";
      if (segment == "." || segment == "..") return "a '.' or '..' segment";
    }
    segment_start = i + 1;
  }
  return nullptr;
}

Status CheckKey(std::string_view text, bool prefix) {
  const char* problem = KeyProblem(text, prefix);
  if (problem == nullptr) return OkStatus();
  std::string escaped = EscapeKey(text);
  return InternalError(std::string("invalid store ") + (prefix ? "prefix" : "key") + " \"" +
                       escaped + "\": " + problem + " (keys are built by hx; this is a bug)")
      .With("key", std::move(escaped));
}

}  // namespace

Status ValidateStoreKey(std::string_view key) { return CheckKey(key, /*prefix=*/false); }

bool IsValidStoreKey(std::string_view key) { return KeyProblem(key, /*prefix=*/false) == nullptr; }

Status ValidateStorePrefix(std::string_view prefix) { return CheckKey(prefix, /*prefix=*/true); }

Result<std::optional<std::pair<Bytes, StoreVersion>>> Store::GetIfNoneMatch(
    std::string_view key, const StoreVersion& version, std::uint64_t max_size) {
  HX_ASSIGN_OR_RETURN(auto current, GetVersioned(key, max_size));
  if (current.second == version) return std::optional<std::pair<Bytes, StoreVersion>>();
  return std::optional<std::pair<Bytes, StoreVersion>>(std::move(current));
}

namespace {

// Store::StartWrite's default: the pieces in memory, one Put at Commit.
class BufferedStoreWriter final : public StoreWriter {
 public:
  explicit BufferedStoreWriter(Store& store) : store_(&store) {}
  Status Append(std::span<const std::uint8_t> bytes) override {
    if (spent_) return Spent();
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return OkStatus();
  }
  Status Commit(std::string_view key) override {
    if (spent_) return Spent();
    spent_ = true;
    Status put = store_->Put(key, bytes_);
    bytes_ = Bytes();
    return put;
  }

 private:
  static Status Spent() {
    return Error(SyncCode::kInternal, Category::kInternal, "store writer used after its commit");
  }
  Store* store_;
  Bytes bytes_;
  bool spent_ = false;
};

}  // namespace

Result<std::unique_ptr<StoreWriter>> Store::StartWrite() {
  return std::unique_ptr<StoreWriter>(std::make_unique<BufferedStoreWriter>(*this));
}

namespace {

// An S3 target's store with its retries: networks fail in passing, folders
// do not (folder stores are returned bare).
Result<std::unique_ptr<Store>> OpenS3Store(const Target& target, bool check, Clock* clock,
                                           std::shared_ptr<obs::RequestMeter> meter = nullptr) {
  const s3::CredentialEnvironment env = s3::CredentialEnvironment::FromProcess();
  s3::S3StoreOptions options = s3::S3StoreOptionsFromEnvironment(env);
  options.clock = clock;
  options.http.meter = std::move(meter);
  HX_ASSIGN_OR_RETURN(std::unique_ptr<s3::S3Store> store,
                      s3::S3Store::Open(target, env, std::move(options)));
  RetryOptions retry = s3::S3RetryOptionsFromEnvironment(env);
  retry.clock = clock;
  if (check) {
    // The probe of init retries a transient failure (a 503, a reset) under
    // the very policy every later call of the store gets.
    RetryPolicy policy(retry);
    HX_RETURN_IF_ERROR(policy.Run([&] { return store->CheckTarget(); }));
  }
  return std::unique_ptr<Store>(std::make_unique<RetryingStore>(std::move(store), retry));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(const Target& target, Env& env, Clock* clock,
                                         std::shared_ptr<obs::RequestMeter> meter) {
  if (target.kind == TargetKind::kHub) return OpenHubStore(target, clock, std::move(meter));
  if (target.kind == TargetKind::kS3) {
    return OpenS3Store(target, /*check=*/false, clock, std::move(meter));
  }
  HX_ASSIGN_OR_RETURN(std::unique_ptr<FolderStore> store, FolderStore::Open(target, {}, env));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> CreateStore(const Target& target, Env& env, Clock* clock) {
  if (target.kind == TargetKind::kHub) return OpenHubStore(target, clock, nullptr);
  if (target.kind == TargetKind::kS3) return OpenS3Store(target, /*check=*/true, clock);
  HX_RETURN_IF_ERROR(CreateFolderStoreRoot(target.path, env));
  return OpenStore(target, env, clock);
}

}  // namespace hx
