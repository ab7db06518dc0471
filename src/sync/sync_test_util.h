// Test helpers for the sync engine: devices (vault folders) syncing through
// one store, with small file-system helpers. The scenarios are written once
// against a StoreFixture, so the same tests run against every kind of store
// (the folder store here; S3 adds its own fixture).
//
// Thread-safety: used by one test at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/temp_dir_test_util.h"
#include "sync/engine.h"
#include "sync/repair.h"

namespace hx::testing {

// Where the devices of a test meet.
class StoreFixture {
 public:
  virtual ~StoreFixture() = default;
  virtual std::string Name() const = 0;
  // The target URI and options every device uses.
  virtual std::string TargetUri() const = 0;
  virtual TargetOptions Options() const { return {}; }
  // Every object of the store: key -> bytes.
  virtual std::map<std::string, std::string> Objects() const = 0;
  // Replaces one object's bytes (integrity tests; a head restored from an
  // older copy).
  virtual void Overwrite(const std::string& key, const std::string& bytes) = 0;
  // Deletes one object (a store that lost a record). By default through a
  // Store opened on TargetUri() and Options(), so it works for every kind.
  virtual void Remove(const std::string& key);
};

// A folder store in a temporary folder.
std::unique_ptr<StoreFixture> MakeFolderStoreFixture();

// A store kind the shared scenarios (sync_scenarios_test.cc) run against:
// `make` returns a fresh, empty store of that kind for each test.
using FixtureFactory = std::function<std::unique_ptr<StoreFixture>()>;
struct NamedStoreFixture {
  std::string name;  // the test-name suffix: [A-Za-z0-9_]
  FixtureFactory make;
};
// The store kinds of this test binary's scenarios. Defined once per binary,
// next to the fixtures it needs: the folder store in
// sync_scenarios_folder_test.cc (hx_sync_test), S3 in sync_s3_test.cc
// (hx_sync_s3_test). Called during static initialization: it must not
// start anything (the factories do, when a test runs).
std::vector<NamedStoreFixture> ScenarioStores();
// Prints the name (gtest's output and ctest's test names show it).
void PrintTo(const NamedStoreFixture& fixture, std::ostream* os);

// One device: a vault folder initialized against the store.
// Every entry of a folder tree by relative path ("file:<bytes>",
// "link:<target>", "dir"), .hx/ left out.
std::map<std::string, std::string> ReadFolderTree(const std::filesystem::path& root);

class Device {
 public:
  // `seed` != 0 makes the device's node id (and, for the first device, the
  // vault's ids and keys) deterministic.
  Device(const StoreFixture& store, std::string name, std::uint64_t seed = 0);

  const std::filesystem::path& vault() const { return vault_; }
  const std::string& name() const { return name_; }

  Result<InitReport> Init(std::int64_t now_ms = 1000, bool encrypted = true);
  Result<PushReport> Push(std::int64_t now_ms, bool allow_mass_delete = false);
  Result<PullReport> Pull(std::int64_t now_ms, bool allow_mass_delete = false);
  Result<StatusReport> Status(std::int64_t now_ms = 0);
  // hx sync repair (sync/repair.h).
  Result<RepairReport> Repair(std::int64_t now_ms);

  // Files relative to the vault.
  void Write(const std::string& path, const std::string& contents) const;
  std::string Read(const std::string& path) const;
  bool Exists(const std::string& path) const;
  void Remove(const std::string& path) const;
  // Every file, symlink and directory of the vault (not .hx/), with file
  // contents: "path" -> "file:<contents>", "dir", "link:<target>".
  std::map<std::string, std::string> Snapshot() const;  // ReadFolderTree(vault())

  SyncOptions options(std::int64_t now_ms) const;
  std::string passphrase = "correct horse battery staple";
  std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap_store;

 private:
  const StoreFixture& store_;
  std::string name_;
  std::uint64_t seed_;
  std::unique_ptr<TempDir> dir_;
  std::filesystem::path vault_;
};

// The fixture of the scenarios that run against every store kind of a test
// binary (ScenarioStores(): sync_scenarios_test.cc,
// sync_recovery_scenarios_test.cc): a fresh store per test, devices
// initialized against it, and a clock that moves a second per step.
class StoreScenarioTest : public ::testing::TestWithParam<NamedStoreFixture> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }

  // A device initialized against the store (the first one creates the vault).
  std::unique_ptr<Device> NewDevice(const std::string& name);
  std::int64_t Tick() { return now_ += 1000; }
  // The bytes of the store's object `key` ("" if there is none).
  std::string StoreObject(const std::string& key) const;

  std::unique_ptr<StoreFixture> store_;
  std::int64_t now_ = 1'700'000'000'000;
};

// A Device::wrap_store under which every write under manifests/ is refused
// with `category`: kAuth is a store that refuses it for want of permission,
// as S3 answers AccessDenied to read-only credentials (and a read-only
// folder EACCES).
std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> RefuseManifestWrites(
    Category category = Category::kAuth);

// Checks that a report (pull's or link's: its warnings, text and JSON)
// carries exactly the warning of a store that refused this device's
// manifest for want of permission: KC_SYNC_AUTH_FAILED, category auth,
// detail key (the manifest's), "everything was <done>, but ...".
void ExpectManifestRefusedWarning(const std::vector<Error>& warnings, const std::string& human,
                                  const nlohmann::json& json, std::string_view done);

// A deterministic byte source for InitOptions::random (splitmix64).
std::function<void(std::span<std::uint8_t>)> SeededRandom(std::uint64_t seed);

// Asserts that a result is OK, printing the error otherwise.
#define HX_ASSERT_OK(expr)                                                        \
  do {                                                                            \
    const auto& hx_r_ = (expr);                                                   \
    ASSERT_TRUE(hx_r_.ok()) << #expr << ": " << hx_r_.error().ToShortString(); \
  } while (false)

}  // namespace hx::testing
