#include "repo/vault.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/hex.h"
#include "chunk/gear_table.h"
#include "crypto/keys.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"

namespace hx {

using json = nlohmann::json;

std::string_view ToString(VaultEncryption encryption) {
  switch (encryption) {
    case VaultEncryption::kPassphrase: return "passphrase";
    case VaultEncryption::kNone: return "none";
  }
  return "unknown";
}

namespace {

std::span<const std::uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The associated data of the wrapped master key: the vault id's characters.
std::span<const std::uint8_t> WrapAd(const VaultConfig& config) { return AsBytes(config.vault_id); }

Error CorruptConfig(std::string_view target, std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt,
               "vault.json at " + std::string(target) + " is corrupt: " + std::move(message))
      .With("key", std::string(kVaultConfigKey));
}

// A reader error (KC_SYNC_INPUT_INVALID) as a corrupt vault.json, keeping its
// message and details.
Error AsCorrupt(std::string_view target, Error error) {
  Error corrupt = CorruptConfig(target, std::move(error.message));
  for (auto& [key, value] : error.details) corrupt.details.insert_or_assign(key, value);
  return corrupt;
}

Error KeyMismatch(std::string message) {
  return Error(SyncCode::kKeyMismatch, Category::kAuth, std::move(message));
}

// The problem with `config`'s fields, if any (shared by the encoder and the
// parser, so that what one writes the other reads).
std::optional<std::string> ConfigProblem(const VaultConfig& config) {
  if (!IsLowerHex(config.vault_id, 32)) return "vault_id must be 32 lowercase hex digits";
  if (config.created_ms < 0) return "created_ms must not be negative";
  if (Status chunker = ValidateChunkerOptions(config.chunker); !chunker.ok()) {
    return "chunker: " + chunker.error().message;
  }
  if (!IsLowerHex(config.key_fingerprint, 64)) {
    return "key_fingerprint must be 64 lowercase hex digits";
  }
  if (config.encryption == VaultEncryption::kPassphrase) {
    if (!config.kdf) return "a passphrase vault needs kdf";
    if (Status kdf = ValidateKdfParams(*config.kdf); !kdf.ok()) return "kdf: " + kdf.error().message;
    if (config.wrapped_master_key.size() != kWrappedMasterKeySize) {
      return "wrapped_master_key must be " + std::to_string(kWrappedMasterKeySize) + " bytes";
    }
    if (config.clear_master_key) return "a passphrase vault must not hold a clear master key";
  } else {
    if (!config.clear_master_key) return "an unencrypted vault needs master_key";
    if (config.kdf || !config.wrapped_master_key.empty()) {
      return "an unencrypted vault must not have kdf or wrapped_master_key";
    }
  }
  return std::nullopt;
}

Result<std::size_t> SizeField(JsonFields& fields, std::string_view key, std::string_view target) {
  auto value = fields.Int(key);
  if (!value.ok()) return AsCorrupt(target, std::move(value).error());
  if (*value < 0) return CorruptConfig(target, "chunker." + std::string(key) + " is negative");
  return static_cast<std::size_t>(*value);
}

Result<ChunkerOptions> ParseChunker(JsonFields& fields, std::string_view target) {
  ChunkerOptions options;
  HX_ASSIGN_OR_RETURN(options.avg_size, SizeField(fields, "avg_size", target));
  HX_ASSIGN_OR_RETURN(options.max_size, SizeField(fields, "max_size", target));
  HX_ASSIGN_OR_RETURN(options.min_size, SizeField(fields, "min_size", target));
  HX_ASSIGN_OR_RETURN(std::size_t level, SizeField(fields, "normalization_level", target));
  options.normalization_level = static_cast<int>(std::min<std::size_t>(level, 1000));
  if (Status unknown = fields.RejectUnknownFields(); !unknown.ok()) {
    return AsCorrupt(target, std::move(unknown).error());
  }
  return options;
}

Result<KdfParams> ParseKdf(JsonFields& fields, std::string_view target) {
  auto algorithm = fields.String("algorithm");
  auto memlimit = fields.Int("memlimit");
  auto opslimit = fields.Int("opslimit");
  auto salt = fields.String("salt");
  if (!algorithm.ok()) return AsCorrupt(target, std::move(algorithm).error());
  if (!memlimit.ok()) return AsCorrupt(target, std::move(memlimit).error());
  if (!opslimit.ok()) return AsCorrupt(target, std::move(opslimit).error());
  if (!salt.ok()) return AsCorrupt(target, std::move(salt).error());
  if (Status unknown = fields.RejectUnknownFields(); !unknown.ok()) {
    return AsCorrupt(target, std::move(unknown).error());
  }
  if (*memlimit < 0 || *opslimit < 0) return CorruptConfig(target, "kdf limits are negative");
  auto params = ParseKdfParams(*algorithm, static_cast<std::uint64_t>(*opslimit),
                               static_cast<std::uint64_t>(*memlimit), *salt);
  if (!params.ok()) return AsCorrupt(target, std::move(params).error());
  return std::move(*params);
}

// The string field `key`, or a corrupt-config error.
Result<std::string> StringField(JsonFields& fields, std::string_view key, std::string_view target) {
  auto value = fields.String(key);
  if (!value.ok()) return AsCorrupt(target, std::move(value).error());
  return std::move(*value);
}

Result<std::vector<std::uint8_t>> HexField(JsonFields& fields, std::string_view key,
                                           std::size_t bytes, std::string_view target) {
  HX_ASSIGN_OR_RETURN(std::string text, StringField(fields, key, target));
  if (!IsLowerHex(text, 2 * bytes)) {
    return CorruptConfig(target, std::string(key) + " must be " + std::to_string(2 * bytes) +
                                     " lowercase hex digits");
  }
  return *FromHex(text);
}

}  // namespace

Result<NewVault> CreateVaultConfig(const VaultCreateOptions& options, const RandomFn& random) {
  if (options.passphrase && options.passphrase->empty()) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the passphrase is empty; choose one, or create the vault without "
                        "encryption explicitly");
  }
  if (options.created_ms < 0) {
    return InvalidInput(SyncCode::kInputInvalid, "created_ms must not be negative");
  }
  HX_RETURN_IF_ERROR(ValidateChunkerOptions(options.chunker));

  std::array<std::uint8_t, 16> vault_id{};
  random(vault_id);
  SecretKey master;
  random(master.mutable_bytes());
  KdfParams kdf = options.kdf;
  random(kdf.salt);

  NewVault out;
  VaultConfig& config = out.config;
  config.vault_id = ToHex(vault_id);
  config.created_ms = options.created_ms;
  config.chunker = options.chunker;
  config.key_fingerprint = KeyFingerprint(master);
  if (options.passphrase) {
    if (Status valid = ValidateKdfParams(kdf); !valid.ok()) {
      Error error = std::move(valid).error();
      error.code = SyncCode::kInputInvalid;
      error.category = Category::kInvalidInput;
      return error;
    }
    config.encryption = VaultEncryption::kPassphrase;
    HX_ASSIGN_OR_RETURN(SecretKey kek, DeriveKeyFromPassphrase(*options.passphrase, kdf));
    config.wrapped_master_key = WrapMasterKey(kek, master, WrapAd(config));
    config.kdf = kdf;
  } else {
    config.encryption = VaultEncryption::kNone;
    config.clear_master_key = master.Clone();
  }
  out.master = std::move(master);
  return out;
}

Result<std::string> EncodeVaultConfig(const VaultConfig& config) {
  if (std::optional<std::string> problem = ConfigProblem(config)) {
    return InternalError("cannot encode vault.json: " + *problem);
  }
  json value = {
      {"chunker",
       {{"avg_size", config.chunker.avg_size},
        {"max_size", config.chunker.max_size},
        {"min_size", config.chunker.min_size},
        {"normalization_level", config.chunker.normalization_level}}},
      {"created_ms", config.created_ms},
      {"encryption", std::string(ToString(config.encryption))},
      {"format", std::string(kVaultFormat)},
      {"format_version", kVaultFormatVersion},
      {"key_fingerprint", config.key_fingerprint},
      {"vault_id", config.vault_id},
  };
  if (config.encryption == VaultEncryption::kPassphrase) {
    value["kdf"] = {{"algorithm", config.kdf->algorithm},
                    {"memlimit", config.kdf->memlimit},
                    {"opslimit", config.kdf->opslimit},
                    {"salt", ToHex(config.kdf->salt)}};
    value["wrapped_master_key"] = ToHex(config.wrapped_master_key);
  } else {
    value["master_key"] = ToHex(config.clear_master_key->bytes());
  }
  return WriteCanonicalJson(value);
}

Result<VaultConfig> ParseVaultConfig(std::string_view bytes, std::string_view target) {
  if (bytes.size() > kMaxVaultConfigBytes) {
    return CorruptConfig(target, "it is " + std::to_string(bytes.size()) + " bytes long");
  }
  JsonReadOptions read_options;
  read_options.max_input_bytes = kMaxVaultConfigBytes;
  auto parsed = ParseJson(bytes, read_options);
  if (!parsed.ok()) return AsCorrupt(target, std::move(parsed).error());
  auto fields_or = JsonFields::Of(*parsed, "vault.json");
  if (!fields_or.ok()) return AsCorrupt(target, std::move(fields_or).error());
  JsonFields& fields = *fields_or;

  // Identify the record and its version before anything else, so that a
  // newer layout is reported as such and never misread as a corrupt old one.
  HX_ASSIGN_OR_RETURN(std::string format, StringField(fields, "format", target));
  if (format != kVaultFormat) return CorruptConfig(target, "it is not an hx vault record");
  auto version = fields.Int("format_version");
  if (!version.ok()) return AsCorrupt(target, std::move(version).error());
  if (*version > kVaultFormatVersion) {
    return Error(SyncCode::kStateFailed, Category::kUnsupported,
                 "the vault at " + std::string(target) + " was made by a newer hx (format_version " +
                     std::to_string(*version) + "); upgrade hx to use it")
        .With("format_version", std::to_string(*version));
  }
  if (*version != kVaultFormatVersion) {
    return CorruptConfig(target, "unknown format_version " + std::to_string(*version));
  }
  auto canonical = WriteCanonicalJson(*parsed);
  if (!canonical.ok() || *canonical != bytes) {
    return CorruptConfig(target, "it is not canonical JSON");
  }

  VaultConfig config;
  HX_ASSIGN_OR_RETURN(config.vault_id, StringField(fields, "vault_id", target));
  auto created = fields.Int("created_ms");
  if (!created.ok()) return AsCorrupt(target, std::move(created).error());
  config.created_ms = *created;
  auto chunker = fields.Object("chunker");
  if (!chunker.ok()) return AsCorrupt(target, std::move(chunker).error());
  HX_ASSIGN_OR_RETURN(config.chunker, ParseChunker(*chunker, target));
  HX_ASSIGN_OR_RETURN(config.key_fingerprint, StringField(fields, "key_fingerprint", target));
  HX_ASSIGN_OR_RETURN(std::string encryption, StringField(fields, "encryption", target));
  if (encryption == "passphrase") {
    config.encryption = VaultEncryption::kPassphrase;
    auto kdf = fields.Object("kdf");
    if (!kdf.ok()) return AsCorrupt(target, std::move(kdf).error());
    HX_ASSIGN_OR_RETURN(config.kdf, ParseKdf(*kdf, target));
    HX_ASSIGN_OR_RETURN(config.wrapped_master_key,
                        HexField(fields, "wrapped_master_key", kWrappedMasterKeySize, target));
  } else if (encryption == "none") {
    config.encryption = VaultEncryption::kNone;
    HX_ASSIGN_OR_RETURN(std::vector<std::uint8_t> key,
                        HexField(fields, "master_key", kSecretKeySize, target));
    config.clear_master_key.emplace(std::span<const std::uint8_t, kSecretKeySize>(key));
  } else {
    return CorruptConfig(target, "unknown encryption (expected \"passphrase\" or \"none\")");
  }
  if (Status unknown = fields.RejectUnknownFields(); !unknown.ok()) {
    return AsCorrupt(target, std::move(unknown).error());
  }
  if (std::optional<std::string> problem = ConfigProblem(config)) {
    return CorruptConfig(target, *problem);
  }
  return config;
}

Status WriteVaultConfig(Store& store, const VaultConfig& config) {
  HX_ASSIGN_OR_RETURN(std::string bytes, EncodeVaultConfig(config));
  auto written = store.PutIfAbsent(kVaultConfigKey, AsBytes(bytes));
  if (!written.ok()) {
    if (written.error().category != Category::kAborted) return std::move(written).error();
    return Error(SyncCode::kStateFailed, Category::kAborted,
                 "a vault already exists at " + store.Describe() +
                     "; to use it from this device, join it with its passphrase (hx sync init "
                     "joins an existing vault), or choose a new target")
        .With("key", std::string(kVaultConfigKey));
  }
  return OkStatus();
}

Result<VaultConfig> ReadVaultConfig(Store& store) {
  auto bytes = store.Get(kVaultConfigKey, kMaxVaultConfigBytes);
  if (!bytes.ok()) {
    if (bytes.error().category == Category::kNotFound) {
      return Error(SyncCode::kStateFailed, Category::kNotFound,
                   "no vault at " + store.Describe() + ": run hx sync init")
          .With("key", std::string(kVaultConfigKey));
    }
    if (bytes.error().category == Category::kCorrupt) {
      return CorruptConfig(store.Describe(), "it is larger than " +
                                                 std::to_string(kMaxVaultConfigBytes) + " bytes");
    }
    return std::move(bytes).error();
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return ParseVaultConfig(text, store.Describe());
}

Result<SecretKey> UnlockVault(const VaultConfig& config,
                              std::optional<std::string_view> passphrase) {
  SecretKey master;
  if (config.encryption == VaultEncryption::kPassphrase) {
    if (!passphrase) {
      return KeyMismatch("this vault is protected by a passphrase; give it to open the vault");
    }
    if (!config.kdf) return InternalError("a passphrase vault config without kdf");
    HX_ASSIGN_OR_RETURN(SecretKey kek, DeriveKeyFromPassphrase(*passphrase, *config.kdf));
    HX_ASSIGN_OR_RETURN(master, UnwrapMasterKey(kek, config.wrapped_master_key, WrapAd(config)));
  } else {
    if (passphrase) {
      return KeyMismatch(
          "this vault is not encrypted (encryption \"none\"), but a passphrase was given; "
          "join it without a passphrase if that is what you want");
    }
    if (!config.clear_master_key) return InternalError("an unencrypted vault config without key");
    master = config.clear_master_key->Clone();
  }
  if (!FingerprintMatches(master, config.key_fingerprint)) {
    return KeyMismatch("the vault's master key does not match its key fingerprint");
  }
  return master;
}

Result<VaultConfig> RewrapVaultConfig(const VaultConfig& config, const SecretKey& master,
                                      std::string_view passphrase, const KdfParams& kdf,
                                      const RandomFn& random) {
  if (config.encryption != VaultEncryption::kPassphrase) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "this vault is not encrypted (encryption \"none\"): it has no passphrase "
                        "to change, and its key is in the clear on the store");
  }
  if (passphrase.empty()) {
    return InvalidInput(SyncCode::kInputInvalid, "the new passphrase is empty; choose one");
  }
  if (!FingerprintMatches(master, config.key_fingerprint)) {
    return KeyMismatch("the key given is not this vault's master key (fingerprint differs)");
  }
  KdfParams params = kdf;
  random(params.salt);
  if (Status valid = ValidateKdfParams(params); !valid.ok()) {
    Error error = std::move(valid).error();
    error.code = SyncCode::kInputInvalid;
    error.category = Category::kInvalidInput;
    return error;
  }
  VaultConfig out;
  out.vault_id = config.vault_id;
  out.created_ms = config.created_ms;
  out.chunker = config.chunker;
  out.encryption = VaultEncryption::kPassphrase;
  out.key_fingerprint = config.key_fingerprint;
  HX_ASSIGN_OR_RETURN(SecretKey kek, DeriveKeyFromPassphrase(passphrase, params));
  out.wrapped_master_key = WrapMasterKey(kek, master, WrapAd(out));
  out.kdf = params;
  return out;
}

Result<OpenedVault> InitOrJoinVault(Store& store, const VaultCreateOptions& options,
                                    const RandomFn& random) {
  // Join first: with two devices, the second init is the common case, and a
  // wrong passphrase must fail before anything is written.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto existing = ReadVaultConfig(store);
    if (existing.ok()) {
      HX_ASSIGN_OR_RETURN(SecretKey master, UnlockVault(*existing, options.passphrase));
      return OpenedVault{std::move(*existing), std::move(master), false};
    }
    if (existing.error().category != Category::kNotFound) return std::move(existing).error();
    if (attempt == 1) break;
    HX_ASSIGN_OR_RETURN(NewVault made, CreateVaultConfig(options, random));
    Status written = WriteVaultConfig(store, made.config);
    if (written.ok()) return OpenedVault{std::move(made.config), std::move(made.master), true};
    // Another device created the vault between our read and our write:
    // join the winner's vault instead (second attempt).
    if (written.error().category != Category::kAborted) return written.error();
  }
  return Error(SyncCode::kStateFailed, Category::kAborted,
               "vault.json at " + store.Describe() + " appeared and then vanished during init");
}

Result<VaultContext> MakeVaultContext(const VaultConfig& config, const SecretKey& master) {
  if (!FingerprintMatches(master, config.key_fingerprint)) {
    return KeyMismatch("this device's key does not open the vault (its fingerprint differs); "
                       "the vault at the target may have been re-created");
  }
  VaultContext context;
  context.vault_id = config.vault_id;
  const auto id_bytes = FromHex(config.vault_id);
  if (!id_bytes || id_bytes->size() != context.vault_id_bytes.size()) {
    return InternalError("vault config with an invalid vault_id");
  }
  std::copy(id_bytes->begin(), id_bytes->end(), context.vault_id_bytes.begin());
  context.keys = VaultKeys::Derive(master);
  context.key_fingerprint = config.key_fingerprint;
  context.chunker = config.chunker;
  return context;
}

Result<FastCdc> MakeVaultChunker(const VaultContext& context) {
  Blake3Key key{};
  std::copy(context.keys.chunker.bytes().begin(), context.keys.chunker.bytes().end(), key.begin());
  return FastCdc::Create(context.chunker, GearTable::FromKey(key));
}

}  // namespace hx
