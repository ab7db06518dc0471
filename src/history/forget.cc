// hx sync forget (forget.h): the record codec, the retention rules, the
// command.
#include "history/forget.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <sstream>

#include "base/hex.h"
#include "base/printable.h"
#include "base/utc_time.h"
#include "crypto/keys.h"
#include "hash/blake3.h"
#include "history/reader.h"
#include "json/json_fields.h"
#include "meta/manifest.h"
#include "meta/records.h"
#include "sync/session.h"

namespace hx {
namespace {

using json = nlohmann::json;
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kWhat = "forget record";
constexpr std::size_t kMaxPolicyBytes = 1024;

json Unsigned(const VaultContext& ctx, const ForgetRecord& r) {
  return json{{"author", r.author},       {"created_ms", r.created_ms},
              {"format_version", kFormatVersion}, {"policy", r.policy},
              {"snapshots", r.snapshots}, {"vault_id", ctx.vault_id}};
}

std::string KeyOf(std::span<const std::uint8_t> bytes) {
  Blake3Hasher hasher;
  hasher.Update(bytes);
  Blake3Digest digest;
  hasher.Finalize(digest);
  return std::string(kForgetPrefix) + ToHex(digest) + ".json";
}

bool SortedUnique(const std::vector<std::string>& ids) {
  for (std::size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) return false;
  }
  return true;
}

std::tm Utc(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

Result<EncodedForget> EncodeForgetRecord(const VaultContext& ctx, const ForgetRecord& record) {
  if (record.snapshots.empty() || record.snapshots.size() > kMaxForgetIds ||
      !SortedUnique(record.snapshots) || record.policy.size() > kMaxPolicyBytes ||
      !IsLowerHex(record.author, kShortIdHexLength) || record.created_ms < 0) {
    return EncoderBug("EncodeForgetRecord", "not a record hx would read");
  }
  for (const std::string& id : record.snapshots) {
    if (!IsLowerHex(id, kLongIdHexLength)) return EncoderBug("EncodeForgetRecord", "bad id");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes,
                      WriteSignedRecordJson(kWhat, ctx.keys.mac, Unsigned(ctx, record)));
  EncodedForget out;
  out.bytes = ToByteVector(bytes);
  out.key = KeyOf(out.bytes);
  return out;
}

namespace {

Result<ForgetRecord> DecodeForgetFields(const VaultContext& ctx, std::string_view key,
                                        std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxForgetRecordBytes) return CorruptRecord(kWhat, "too large");
  if (KeyOf(bytes) != key) {
    return CorruptRecord(kWhat, "its bytes do not hash to its name " + std::string(key));
  }
  HX_ASSIGN_OR_RETURN(const json value,
                      ParseRecordJson(kWhat, AsText(bytes), kMaxForgetRecordBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::string(kWhat)));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(kWhat, value, AsText(bytes)));
  ForgetRecord r;
  HX_ASSIGN_OR_RETURN(r.author, HexField(fields, "author", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(r.created_ms, TimeField(fields, "created_ms"));
  HX_ASSIGN_OR_RETURN(const std::string mac_hex, HexField(fields, "mac", kLongIdHexLength));
  HX_ASSIGN_OR_RETURN(r.policy, AsStoreRecord(fields.String("policy")));
  HX_ASSIGN_OR_RETURN(r.snapshots,
                      HexArrayField(fields, "snapshots", kLongIdHexLength, kMaxForgetIds));
  HX_ASSIGN_OR_RETURN(const std::string vault_id,
                      HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (r.policy.size() > kMaxPolicyBytes) return CorruptRecord(kWhat, "policy too long");
  if (r.snapshots.empty() || !SortedUnique(r.snapshots)) {
    return CorruptRecord(kWhat, "snapshots must be sorted, unique and not empty");
  }
  if (vault_id != ctx.vault_id) {
    return CorruptRecord(kWhat, "belongs to vault " + vault_id + ", not to this vault");
  }
  HX_ASSIGN_OR_RETURN(const bool verifies,
                      RecordMacVerifies(kWhat, ctx.keys.mac, Unsigned(ctx, r), mac_hex));
  if (!verifies) {
    return CorruptRecord(kWhat, "MAC does not verify: tampered with or not written with this "
                                "vault's key");
  }
  return r;
}

}  // namespace

// Every refusal is the store's record being bad (KC_SYNC_STATE_FAILED), even
// where a shared JSON helper words it as an input error (a non-object value).
Result<ForgetRecord> DecodeForgetRecord(const VaultContext& ctx, std::string_view key,
                                        std::span<const std::uint8_t> bytes) {
  return AsStoreRecord(DecodeForgetFields(ctx, key, bytes));
}

Result<std::set<std::string>> ReadForgotten(Store& store, const VaultContext& ctx,
                                            std::vector<std::string>* problems) {
  std::set<std::string> out;
  HX_ASSIGN_OR_RETURN(const std::vector<StoreObjectInfo> listed, store.List(kForgetPrefix));
  std::size_t read = 0;
  for (const StoreObjectInfo& info : listed) {
    if (++read > kMaxForgetRecords) {
      if (problems) problems->push_back("more than 10000 forget records: the rest are ignored");
      break;
    }
    Result<Bytes> bytes = store.Get(info.key, kMaxForgetRecordBytes);
    if (!bytes.ok()) {
      if (bytes.error().category != Category::kNotFound &&
          bytes.error().category != Category::kCorrupt) {
        return std::move(bytes).error();
      }
      if (problems) problems->push_back(info.key + ": " + bytes.error().message);
      continue;
    }
    Result<ForgetRecord> record = DecodeForgetRecord(ctx, info.key, *bytes);
    if (!record.ok()) {
      if (problems) problems->push_back(info.key + ": " + record.error().message);
      continue;
    }
    out.insert(record->snapshots.begin(), record->snapshots.end());
  }
  return out;
}

std::optional<std::int64_t> ParseRetentionDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 6 || digits == text.size()) return std::nullopt;
    const std::int64_t n = std::stoll(std::string(text.substr(0, digits)));
    std::int64_t unit = 0;
    switch (text[digits]) {
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      case 'w': unit = 7 * std::int64_t{86'400'000}; break;
      case 'm': unit = 30 * std::int64_t{86'400'000}; break;
      case 'y': unit = 365 * std::int64_t{86'400'000}; break;
      default: return std::nullopt;
    }
    // Bounded (n < 10^6, unit <= 1 y): no sum of segments can overflow
    // before this refuses anything beyond 1000 years.
    constexpr std::int64_t kMaxTotalMs = 1000 * 365 * std::int64_t{86'400'000};
    if (n * unit > kMaxTotalMs - total) return std::nullopt;
    total += n * unit;
    text.remove_prefix(digits + 1);
  }
  return total;
}

Result<ForgetReport> SyncForget(const std::filesystem::path& vault, const SyncOptions& options,
                                const ForgetOptions& forget) {
  std::optional<std::int64_t> within;
  if (!forget.keep_within.empty()) {
    within = ParseRetentionDuration(forget.keep_within);
    if (!within) {
      return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                   "--keep-within takes a duration such as 36h, 7d, 2w, 6m or 1y2m, not '" +
                       forget.keep_within + "'");
    }
  }
  // The rules, in the order they are described.
  const std::vector<std::pair<std::string, std::optional<std::uint64_t>>> buckets = {
      {"hourly", forget.keep_hourly}, {"daily", forget.keep_daily},
      {"weekly", forget.keep_weekly}, {"monthly", forget.keep_monthly},
      {"yearly", forget.keep_yearly}};
  std::string policy;
  const auto describe = [&policy](const std::string& rule) {
    policy += (policy.empty() ? "" : ", ") + rule;
  };
  if (forget.keep_last) describe("keep-last " + std::to_string(*forget.keep_last));
  if (within) describe("keep-within " + forget.keep_within);
  for (const auto& [name, n] : buckets) {
    if (n) describe("keep-" + name + " " + std::to_string(*n));
  }
  if (policy.empty()) {
    return Error(SyncCode::kInputInvalid, Category::kInvalidInput,
                 "give at least one rule (--keep-last, --keep-within, --keep-hourly, "
                 "--keep-daily, --keep-weekly, --keep-monthly, --keep-yearly): without one, "
                 "every snapshot but the head would be forgotten");
  }

  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  ForgetReport report;
  report.target = s.target.ToUri();
  report.policy = policy;
  report.dry_run = forget.dry_run;
  HistoryReader reader(s);
  HX_RETURN_IF_ERROR(reader.LoadAll());
  HX_ASSIGN_OR_RETURN(const std::optional<Head> head, reader.ReadHeadOnce());
  const std::vector<SnapshotInfo>& history = reader.snapshots();  // newest first
  if (history.empty()) return report;
  HX_ASSIGN_OR_RETURN(const std::set<std::string> already,
                      ReadForgotten(*s.store, s.ctx, &report.warnings));

  std::vector<std::vector<std::string>> reasons(history.size());
  const auto keep = [&](std::size_t i, std::string why) { reasons[i].push_back(std::move(why)); };
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (head && history[i].id == head->snapshot_id) keep(i, "head");
    if (forget.keep_last && i < *forget.keep_last) keep(i, "last");
    if (within && history[i].created_ms >= history.front().created_ms - *within) {
      keep(i, "within");
    }
  }
  for (const auto& [name, n] : buckets) {
    if (!n) continue;
    std::optional<std::int64_t> last_bucket;
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < history.size() && count < *n; ++i) {
      const std::int64_t ms = history[i].created_ms;
      const std::tm tm = Utc(ms);
      std::int64_t bucket = 0;
      if (name == "hourly") bucket = ms / 3'600'000;
      if (name == "daily") bucket = ms / 86'400'000;
      if (name == "weekly") bucket = (ms / 86'400'000 + 3) / 7;  // ISO weeks start on Monday
      if (name == "monthly") bucket = (tm.tm_year + 1900) * 12 + tm.tm_mon;
      if (name == "yearly") bucket = tm.tm_year + 1900;
      if (last_bucket && *last_bucket == bucket) continue;
      last_bucket = bucket;
      keep(i, name);
      ++count;
    }
  }
  // What each device last saw stays: a device offline since then finds its
  // base again.
  HX_ASSIGN_OR_RETURN(const std::vector<std::string> nodes, ListManifests(*s.store));
  for (const std::string& node : nodes) {
    Result<std::optional<DeviceManifest>> manifest = ReadManifest(*s.store, s.ctx, node);
    if (!manifest.ok() || !*manifest) {
      report.warnings.push_back("the manifest of device " + node + " does not read" +
                                (manifest.ok() ? "" : ": " + manifest.error().message));
      continue;
    }
    for (std::size_t i = 0; i < history.size(); ++i) {
      if (history[i].seq == (*manifest)->last_seen_head_seq) keep(i, "device " + node.substr(0, 8));
    }
  }

  ForgetRecord record;
  record.author = s.node_id();
  record.created_ms = options.now_ms;
  record.policy = policy;
  for (std::size_t i = 0; i < history.size(); ++i) {
    ForgetReport::Item item;
    item.seq = history[i].seq;
    item.snapshot_id = history[i].id;
    item.created_ms = history[i].created_ms;
    item.already_forgotten = already.count(history[i].id) != 0;
    item.kept = !reasons[i].empty() && !item.already_forgotten;
    item.reasons = std::move(reasons[i]);
    if (item.already_forgotten) {
      ++report.already_forgotten;
    } else if (item.kept) {
      ++report.kept;
    } else {
      ++report.forgotten_now;
      record.snapshots.push_back(item.snapshot_id);
    }
    report.snapshots.push_back(std::move(item));
  }
  std::sort(record.snapshots.begin(), record.snapshots.end());
  if (record.snapshots.empty() || forget.dry_run) return report;
  for (std::size_t from = 0; from < record.snapshots.size(); from += kMaxForgetIds) {
    ForgetRecord part = record;
    part.snapshots.assign(
        record.snapshots.begin() + static_cast<std::ptrdiff_t>(from),
        record.snapshots.begin() +
            static_cast<std::ptrdiff_t>(std::min(record.snapshots.size(), from + kMaxForgetIds)));
    HX_ASSIGN_OR_RETURN(const EncodedForget encoded, EncodeForgetRecord(s.ctx, part));
    Result<StoreVersion> put = s.store->PutIfAbsent(encoded.key, encoded.bytes);
    // The same record twice (a retried run) has the same name and bytes.
    if (!put.ok() && put.error().category != Category::kAborted) return std::move(put).error();
    report.record_key = encoded.key;
  }
  return report;
}

json ForgetReport::ToJson() const {
  json list = json::array();
  for (const Item& item : snapshots) {
    list.push_back({{"already_forgotten", item.already_forgotten},
                    {"created_ms", item.created_ms},
                    {"kept", item.kept},
                    {"reasons", item.reasons},
                    {"seq", item.seq},
                    {"snapshot_id", item.snapshot_id}});
  }
  return {{"already_forgotten", already_forgotten}, {"dry_run", dry_run},
          {"forgotten_now", forgotten_now},         {"kept", kept},
          {"policy", policy},                       {"record_key", record_key},
          {"snapshots", std::move(list)},           {"target", target},
          {"warnings", warnings}};
}

std::string ForgetReport::ToHuman() const {
  std::ostringstream out;
  for (const Item& item : snapshots) {
    out << "seq " << item.seq << "  " << item.snapshot_id.substr(0, 12) << "  "
        << FormatUtcSeconds(item.created_ms) << "  ";
    if (item.already_forgotten) {
      out << "forgotten before";
    } else if (item.kept) {
      out << "keep (";
      for (std::size_t i = 0; i < item.reasons.size(); ++i) {
        out << (i ? ", " : "") << item.reasons[i];
      }
      out << ")";
    } else {
      out << (dry_run ? "would forget" : "forget");
    }
    out << "\n";
  }
  for (const std::string& w : warnings) out << "warning: " << Printable(w) << "\n";
  out << policy << ": " << kept << " kept, " << forgotten_now
      << (dry_run ? " would be forgotten" : " forgotten") << ", " << already_forgotten
      << " forgotten before";
  if (!record_key.empty()) out << " (record " << record_key << ")";
  out << "\n";
  return out.str();
}

}  // namespace hx
