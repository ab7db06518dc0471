// Helpers of the resumable-transfer tests (resume_test.cc,
// resume_scenarios_test.cc): seeded incompressible data sets, a store
// wrapper that counts pack bytes, and a push or pull run in a forked child
// that kills itself at a checkpoint.
//
// Thread-safety: used by one test at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/seeded_file_test_util.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"
#include "sync/sync_test_util.h"

namespace hx::testing {

inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

// `total` bytes in eight files (and a few small ones) under `vault`.
void WriteDataSet(const std::filesystem::path& vault, std::uint64_t total, std::uint64_t seed);
// Every entry of a vault (.hx/ left out), files as size and hash.
std::map<std::string, std::string> VaultTree(const std::filesystem::path& root);

// Counts the bytes of pack objects (keys under blobs/) put and read.
class PackCounter final : public StoreWrapper {
 public:
  explicit PackCounter(std::unique_ptr<Store> inner) : StoreWrapper(std::move(inner)) {}
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    Status put = StoreWrapper::Put(key, bytes);
    if (put.ok() && key.starts_with("blobs/")) up += bytes.size();
    return put;
  }
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    Result<Bytes> got = StoreWrapper::GetRange(key, range);
    if (got.ok() && key.starts_with("blobs/")) down += got->size();
    return got;
  }
  Result<Bytes> Get(std::string_view key, std::uint64_t max_size) override {
    Result<Bytes> got = StoreWrapper::Get(key, max_size);
    if (got.ok() && key.starts_with("blobs/")) down += got->size();
    return got;
  }
  std::atomic<std::uint64_t> up{0};
  std::atomic<std::uint64_t> down{0};
};

// What one run moved: the CountingStore's view and the pack bytes.
struct Moved {
  StoreCounts counts;
  std::uint64_t pack_up = 0;
  std::uint64_t pack_down = 0;
};

// Wraps a device's store in CountingStore(PackCounter(store)) and reads
// them back after the run. The session owns (and destroys) the wrapped store
// when the run ends, so the outermost wrapper copies the figures out into the
// Meter as it goes: Take() never reads a store that is gone.
class Meter {
 public:
  explicit Meter(Device& device) : device_(device) {
    device_.wrap_store = [this](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto packs = std::make_unique<PackCounter>(std::move(inner));
      PackCounter* packs_raw = packs.get();
      auto counting = std::make_unique<CountingStore>(std::move(packs));
      CountingStore* counting_raw = counting.get();
      return std::make_unique<Tap>(*this, std::move(counting), counting_raw, packs_raw);
    };
  }
  ~Meter() { device_.wrap_store = nullptr; }
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;
  // Valid while the run's store lives (nullptr before and after).
  PackCounter* packs() const { return packs_; }
  // The figures of the live store, else of the last one at its end.
  Moved Take() const { return tap_ != nullptr ? tap_->Read() : last_; }

 private:
  class Tap final : public StoreWrapper {
   public:
    Tap(Meter& meter, std::unique_ptr<Store> inner, CountingStore* counting, PackCounter* packs)
        : StoreWrapper(std::move(inner)), meter_(meter), counting_(counting), packs_(packs) {
      meter_.tap_ = this;
      meter_.packs_ = packs_;
    }
    ~Tap() override {
      meter_.last_ = Read();
      if (meter_.tap_ == this) {
        meter_.tap_ = nullptr;
        meter_.packs_ = nullptr;
      }
    }
    Tap(const Tap&) = delete;
    Tap& operator=(const Tap&) = delete;
    Moved Read() const {
      Moved m;
      m.counts = counting_->Counts();
      m.pack_up = packs_->up;
      m.pack_down = packs_->down;
      return m;
    }

   private:
    Meter& meter_;
    CountingStore* counting_;
    PackCounter* packs_;
  };

  Device& device_;
  const Tap* tap_ = nullptr;
  PackCounter* packs_ = nullptr;
  Moved last_;
};

// The packs on the store: key -> size.
std::map<std::string, std::uint64_t> StoredPacks(const StoreFixture& fixture);
std::uint64_t Sum(const std::map<std::string, std::uint64_t>& packs);
std::uint64_t Largest(const std::map<std::string, std::uint64_t>& packs);

// Runs `run` (a push or pull of `device`) in a forked child that kills
// itself with SIGKILL the `nth` time the engine passes `point`; the child
// first writes the pack bytes its store had read (PackCounter::down) to a
// pipe. Returns them; fails the test if the child was not killed there.
std::uint64_t RunKilledAt(Device& device, const std::string& point, int nth,
                          const std::function<void(const SyncOptions&)>& run);

void Push(const SyncOptions& options, const std::filesystem::path& vault);
void Pull(const SyncOptions& options, const std::filesystem::path& vault);

// Fails every call of `op` on a pack after the first `after` (a connection
// lost for good).
std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> LoseConnection(StoreOp op,
                                                                             std::uint64_t after);

}  // namespace hx::testing
