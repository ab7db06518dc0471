#include "sync/sync_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "store/store.h"
#include "store/store_wrappers.h"
#include "store/target_uri.h"

namespace hx::testing {
namespace fs = std::filesystem;

namespace {

class FolderStoreFixture : public StoreFixture {
 public:
  FolderStoreFixture() : root_(dir_.path() / "store") {}
  std::string Name() const override { return "folder"; }
  std::string TargetUri() const override { return root_.string(); }
  std::map<std::string, std::string> Objects() const override {
    std::map<std::string, std::string> out;
    std::error_code ec;
    if (!fs::exists(root_, ec)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      out[fs::relative(e.path(), root_).string()] = bytes.str();
    }
    return out;
  }
  void Overwrite(const std::string& key, const std::string& bytes) override {
    std::ofstream out(root_ / key, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

 private:
  TempDir dir_;
  fs::path root_;
};

}  // namespace

void StoreFixture::Remove(const std::string& key) {
  Result<Target> target = ParseTargetUri(TargetUri(), Options(), "/");
  ASSERT_TRUE(target.ok()) << target.error().ToShortString();
  Result<std::unique_ptr<Store>> store = OpenStore(*target);
  ASSERT_TRUE(store.ok()) << store.error().ToShortString();
  const Status deleted = (*store)->Delete(key);
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToShortString();
}

void PrintTo(const NamedStoreFixture& fixture, std::ostream* os) { *os << fixture.name; }

std::unique_ptr<StoreFixture> MakeFolderStoreFixture() {
  return std::make_unique<FolderStoreFixture>();
}

std::function<void(std::span<std::uint8_t>)> SeededRandom(std::uint64_t seed) {
  auto state = std::make_shared<std::uint64_t>(seed);
  return [state](std::span<std::uint8_t> out) {
    for (std::uint8_t& b : out) {
      std::uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      b = static_cast<std::uint8_t>(z ^ (z >> 31));
    }
  };
}

Device::Device(const StoreFixture& store, std::string name, std::uint64_t seed)
    : store_(store), name_(std::move(name)), seed_(seed), dir_(std::make_unique<TempDir>()) {
  vault_ = dir_->path() / name_;
  fs::create_directories(vault_);
}

SyncOptions Device::options(std::int64_t now_ms) const {
  SyncOptions o;
  o.target_uri = store_.TargetUri();
  o.target_options = store_.Options();
  o.now_ms = now_ms;
  o.cwd = "/";
  // Like HX_PASSPHRASE: one value, so no other one to try after it failed.
  o.passphrase = [p = passphrase](const PassphraseRequest& request)
      -> Result<std::optional<std::string>> {
    if (request.attempt > 1) return std::optional<std::string>();
    return std::optional<std::string>(p);
  };
  o.wrap_store = wrap_store;
  return o;
}

Result<InitReport> Device::Init(std::int64_t now_ms, bool encrypted) {
  InitOptions init;
  init.no_encryption = !encrypted;
  // The cheapest Argon2id libsodium allows: tests need speed, not strength.
  init.kdf_opslimit = 1;
  init.kdf_memlimit = 8192;
  if (seed_ != 0) init.random = SeededRandom(seed_);
  return SyncInit(vault_, options(now_ms), init);
}

Result<PushReport> Device::Push(std::int64_t now_ms, bool allow_mass_delete) {
  SyncOptions o = options(now_ms);
  o.allow_mass_delete = allow_mass_delete;
  return SyncPush(vault_, o);
}

Result<PullReport> Device::Pull(std::int64_t now_ms, bool allow_mass_delete) {
  SyncOptions o = options(now_ms);
  o.allow_mass_delete = allow_mass_delete;
  return SyncPull(vault_, o);
}

Result<StatusReport> Device::Status(std::int64_t now_ms) { return SyncStatus(vault_, options(now_ms)); }

Result<RepairReport> Device::Repair(std::int64_t now_ms) {
  return SyncRepair(vault_, options(now_ms));
}

void Device::Write(const std::string& path, const std::string& contents) const {
  const fs::path full = vault_ / path;
  fs::create_directories(full.parent_path());
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string Device::Read(const std::string& path) const {
  std::ifstream in(vault_ / path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

bool Device::Exists(const std::string& path) const {
  std::error_code ec;
  return fs::symlink_status(vault_ / path, ec).type() != fs::file_type::not_found;
}

void Device::Remove(const std::string& path) const {
  std::error_code ec;
  fs::remove_all(vault_ / path, ec);
}

std::map<std::string, std::string> ReadFolderTree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
    // Lexically: fs::relative resolves symlinks (a link would be listed
    // under its target's name).
    const std::string rel = it->path().lexically_relative(root).string();
    if (rel == ".hx") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      out[rel] = "link:" + fs::read_symlink(it->path()).string();
    } else if (it->is_directory()) {
      out[rel] = "dir";
    } else {
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      out[rel] = "file:" + bytes.str();
    }
  }
  return out;
}

std::unique_ptr<Device> StoreScenarioTest::NewDevice(const std::string& name) {
  auto device = std::make_unique<Device>(*store_, name);
  auto init = device->Init(now_);
  EXPECT_TRUE(init.ok()) << init.error().ToShortString();
  return device;
}

std::string StoreScenarioTest::StoreObject(const std::string& key) const {
  const auto objects = store_->Objects();
  auto it = objects.find(key);
  return it == objects.end() ? std::string() : it->second;
}

std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> RefuseManifestWrites(
    Category category) {
  return [category](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    auto faults = std::make_unique<FaultInjectingStore>(std::move(inner), /*seed=*/1);
    for (StoreOp op : {StoreOp::kPut, StoreOp::kPutIfAbsent, StoreOp::kPutIfMatch}) {
      FaultRule rule = FaultRule::FailPrefix(op, "manifests/", category);
      rule.times = FaultRule::kForever;
      faults->AddRule(rule);
    }
    return faults;
  };
}

void ExpectManifestRefusedWarning(const std::vector<Error>& warnings, const std::string& human,
                                  const nlohmann::json& json, std::string_view done) {
  ASSERT_EQ(warnings.size(), 1u);
  const Error& warning = warnings[0];
  EXPECT_EQ(warning.code, SyncCode::kAuthFailed);
  EXPECT_EQ(warning.category, Category::kAuth);
  const std::string said = "everything was " + std::string(done);
  EXPECT_TRUE(warning.message.starts_with(said)) << warning.message;
  const std::string key = warning.details.at("key");
  EXPECT_TRUE(key.starts_with("manifests/")) << key;
  EXPECT_NE(human.find("warning: " + said), std::string::npos) << human;
  ASSERT_EQ(json.at("warnings").size(), 1u);
  EXPECT_EQ(json.at("warnings").at(0).at("code"), "KC_SYNC_AUTH_FAILED");
}

std::map<std::string, std::string> Device::Snapshot() const { return ReadFolderTree(vault_); }

}  // namespace hx::testing
