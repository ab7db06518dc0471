// hx sync forget: restic's rules over the head's history, a signed record
// that only accumulates, and what is never forgotten (the head, what a device
// offline for long last saw). Forgetting deletes nothing.
#include <algorithm>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "base/hex.h"
#include "hash/blake3.h"
#include "history/forget.h"
#include "history/history.h"
#include "history/verify.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

constexpr std::int64_t kT0 = 1'796'544'000'000;  // 2026-12-06T08:00:00Z
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;

class ForgetTest : public ::testing::Test {
 protected:
  ForgetTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 5) {}
  void SetUp() override { HX_ASSERT_OK(a_.Init(kT0)); }

  // Pushes and records the pack bytes that push added (pack_bytes_[seq]).
  std::uint64_t PushAt(std::int64_t ms, const std::string& text) {
    std::map<std::string, std::string> before = store_->Objects();
    a_.Write("f.txt", text);
    Result<PushReport> pushed = a_.Push(ms);
    std::uint64_t added = 0;
    for (const auto& [key, bytes] : store_->Objects()) {
      if (key.starts_with("blobs/") && before.count(key) == 0) added += bytes.size();
    }
    if (pushed.ok() && pushed->head_seq) pack_bytes_[*pushed->head_seq] = added;
    EXPECT_TRUE(pushed.ok() && pushed->outcome == "published");
    return pushed.ok() ? pushed->head_seq.value_or(0) : 0;
  }
  Result<ForgetReport> Forget(ForgetOptions o) {
    return SyncForget(a_.vault(), a_.options(kT0 + 100 * kDay), o);
  }
  std::set<std::string> Forgotten() {
    std::set<std::string> out;
    Result<LogReport> log = SyncLog(a_.vault(), a_.options(kT0 + 100 * kDay), {"", 100, 0});
    EXPECT_TRUE(log.ok());
    for (const LogEntry& e : log->snapshots) {
      if (e.forgotten) out.insert(std::to_string(e.seq));
    }
    return out;
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_;
  std::map<std::uint64_t, std::uint64_t> pack_bytes_;
};

TEST_F(ForgetTest, KeepLastAndKeepDailyKeepWhatResticWouldAndTheRestIsMarkedNotDeleted) {
  // Two pushes a day for three days: seqs 1..6.
  for (int day = 0; day < 3; ++day) {
    PushAt(kT0 + day * kDay, "day " + std::to_string(day) + " morning");
    PushAt(kT0 + day * kDay + 6 * kHour, "day " + std::to_string(day) + " evening, longer");
  }
  const std::size_t objects_before = store_->Objects().size();
  ForgetOptions dry;
  dry.keep_last = 1;
  dry.keep_daily = 2;
  dry.dry_run = true;
  Result<ForgetReport> preview = Forget(dry);
  HX_ASSERT_OK(preview);
  EXPECT_EQ(preview->kept, 2u);  // 6 (last, daily, head) and 4 (daily: day 1's newest)
  EXPECT_EQ(preview->forgotten_now, 4u);
  EXPECT_TRUE(preview->record_key.empty());
  EXPECT_EQ(store_->Objects().size(), objects_before);

  ForgetOptions real = dry;
  real.dry_run = false;
  Result<ForgetReport> done = Forget(real);
  HX_ASSERT_OK(done);
  EXPECT_FALSE(done->record_key.empty());
  EXPECT_EQ(Forgotten(), (std::set<std::string>{"1", "2", "3", "5"}));
  // One record more, nothing deleted.
  EXPECT_EQ(store_->Objects().size(), objects_before + 1);
  // A forgotten snapshot is still restorable until a prune removes it.
  Result<RestoreReport> restored =
      SyncRestore(a_.vault(), a_.options(kT0 + 100 * kDay), {"f.txt", "1", ""});
  HX_ASSERT_OK(restored);
  EXPECT_EQ(a_.Read(restored->written_to), "day 0 morning");
  // Verify checks the retained snapshots only.
  Result<VerifyReport> verified =
      SyncVerify(a_.vault(), a_.options(kT0 + 100 * kDay), {std::nullopt, std::nullopt});
  HX_ASSERT_OK(verified);
  EXPECT_EQ(verified->snapshots_checked, 2u);
  EXPECT_EQ(verified->snapshots_forgotten, 4u);
  // What a prune could free: the four packs only forgotten snapshots use
  // (each held one version of f.txt and that snapshot's root tree).
  EXPECT_EQ(verified->packs_unreferenced, 4u);
  EXPECT_EQ(verified->bytes_unreferenced,
            pack_bytes_[1] + pack_bytes_[2] + pack_bytes_[3] + pack_bytes_[5]);
  EXPECT_EQ(verified->garbage_bytes_in_live_packs, 0u);

  // Forgetting again forgets nothing more; the records accumulate.
  Result<ForgetReport> again = Forget(real);
  HX_ASSERT_OK(again);
  EXPECT_EQ(again->forgotten_now, 0u);
  EXPECT_EQ(again->already_forgotten, 4u);
}

TEST_F(ForgetTest, TheHeadAndWhatAnOfflineDeviceLastSawAreNeverForgotten) {
  PushAt(kT0, "one");
  Device phone(*store_, "phone", 6);
  HX_ASSERT_OK(phone.Init(kT0 + 1));
  HX_ASSERT_OK(phone.Pull(kT0 + 2));  // phone saw seq 1, then went offline
  PushAt(kT0 + kHour, "two");
  PushAt(kT0 + 2 * kHour, "three!");
  ForgetOptions o;
  o.keep_last = 1;
  Result<ForgetReport> done = Forget(o);
  HX_ASSERT_OK(done);
  EXPECT_EQ(Forgotten(), (std::set<std::string>{"2"}));
  const auto& oldest = done->snapshots.back();
  EXPECT_EQ(oldest.seq, 1u);
  EXPECT_TRUE(oldest.kept);
  ASSERT_FALSE(oldest.reasons.empty());
  EXPECT_TRUE(oldest.reasons[0].starts_with("device ")) << oldest.reasons[0];
  // The offline device comes back and pulls as usual.
  HX_ASSERT_OK(phone.Pull(kT0 + 3 * kHour));
  EXPECT_EQ(phone.Read("f.txt"), "three!");

  ForgetOptions none;
  Result<ForgetReport> refused = Forget(none);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, SyncCode::kInputInvalid);
}

TEST_F(ForgetTest, ATamperedOrForeignRecordForgetsNothing) {
  PushAt(kT0, "one");
  PushAt(kT0 + kHour, "two");
  PushAt(kT0 + 2 * kHour, "three");
  ForgetOptions o;
  o.keep_last = 2;
  Result<ForgetReport> done = Forget(o);
  HX_ASSERT_OK(done);
  ASSERT_EQ(Forgotten(), (std::set<std::string>{"1"}));
  const std::string original = store_->Objects().at(done->record_key);
  std::string bytes = original;
  // Any flipped byte: the bytes no longer hash to the record's name.
  bytes[bytes.size() / 2] ^= 1;
  store_->Overwrite(done->record_key, bytes);
  EXPECT_TRUE(Forgotten().empty());
  // A record under a name that matches its bytes, with a MAC not made with
  // this vault's key (what anyone who can write to the store could forge).
  store_->Remove(done->record_key);
  std::string forged = original;
  const std::size_t mac = forged.find("\"mac\":\"") + 7;
  forged.replace(mac, 64, std::string(64, '0'));
  Blake3Hasher hasher;
  hasher.Update(forged);
  Blake3Digest digest;
  hasher.Finalize(digest);
  store_->Overwrite("forgets/" + ToHex(digest) + ".json", forged);
  EXPECT_TRUE(Forgotten().empty());
  ForgetOptions dry;
  dry.keep_last = 2;
  dry.dry_run = true;
  Result<ForgetReport> preview = Forget(dry);
  HX_ASSERT_OK(preview);
  EXPECT_EQ(preview->forgotten_now, 1u);
  ASSERT_FALSE(preview->warnings.empty());
  EXPECT_NE(preview->warnings[0].find("MAC does not verify"), std::string::npos)
      << preview->warnings[0];
}

TEST(RetentionDuration, ParsesResticStyleDurations) {
  EXPECT_EQ(ParseRetentionDuration("36h"), 36 * kHour);
  EXPECT_EQ(ParseRetentionDuration("7d"), 7 * kDay);
  EXPECT_EQ(ParseRetentionDuration("1y2m"), 365 * kDay + 60 * kDay);
  EXPECT_FALSE(ParseRetentionDuration("7").has_value());
  EXPECT_FALSE(ParseRetentionDuration("d").has_value());
  EXPECT_FALSE(ParseRetentionDuration("5x").has_value());
  EXPECT_FALSE(ParseRetentionDuration("").has_value());
}

// The duration is typed by a user but summed segment by segment: a long
// chain of large segments is refused, never an overflowed (negative) time.
TEST(RetentionDuration, AnAbsurdDurationIsRefusedNotOverflowed) {
  EXPECT_EQ(ParseRetentionDuration("1000y"), 1000 * 365 * kDay);
  EXPECT_FALSE(ParseRetentionDuration("1000y1h").has_value());
  std::string chain;
  for (int i = 0; i < 400; ++i) chain += "999999y";
  EXPECT_FALSE(ParseRetentionDuration(chain).has_value());
}

}  // namespace
}  // namespace hx
