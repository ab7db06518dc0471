// Crypto kernels: AEAD seal/open of 1 MiB and of a small object with each
// backend (the basis of DefaultAeadBackend), the synthetic nonce, and one
// Argon2id derivation at the default and at libsodium's named parameters.
// Run: hx_bench --benchmark_filter='Aead|Synthetic|Argon2id'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "crypto/aead.h"
#include "crypto/kdf.h"

namespace {

std::vector<std::uint8_t> Payload(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  hx::RandomBytes(out);
  return out;
}

hx::AeadBackend BackendArg(const benchmark::State& state) {
  return state.range(0) == 0 ? hx::AeadBackend::kLibsodium : hx::AeadBackend::kOpenSsl;
}

// Args: backend (0 libsodium, 1 openssl), message size.
void BM_AeadSeal(benchmark::State& state) {
  const hx::SecretKey key = hx::SecretKey::Random();
  const auto payload = Payload(static_cast<std::size_t>(state.range(1)));
  const auto ad = hx::EncodeAssociatedData({"vault", "chunk", "0123456789abcdef"});
  hx::AeadNonce nonce{};
  for (auto _ : state) {
    auto sealed = hx::AeadSealWithNonce(key, nonce, ad, payload, BackendArg(state));
    benchmark::DoNotOptimize(sealed);
  }
  state.SetLabel(std::string(hx::ToString(BackendArg(state))));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_AeadSeal)
    ->ArgNames({"openssl", "size"})
    ->ArgsProduct({{0, 1}, {64, 256, 1024, 4096, 16 << 10, 1 << 20}});

void BM_AeadOpen(benchmark::State& state) {
  const hx::SecretKey key = hx::SecretKey::Random();
  const auto payload = Payload(static_cast<std::size_t>(state.range(1)));
  const auto ad = hx::EncodeAssociatedData({"vault", "chunk", "0123456789abcdef"});
  const auto sealed = hx::AeadSealRandom(key, ad, payload);
  for (auto _ : state) {
    auto opened = hx::AeadOpen(key, ad, sealed, BackendArg(state));
    benchmark::DoNotOptimize(opened);
  }
  state.SetLabel(std::string(hx::ToString(BackendArg(state))));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_AeadOpen)
    ->ArgNames({"openssl", "size"})
    ->ArgsProduct({{0, 1}, {256, 1 << 20}});

// The extra keyed-BLAKE3 pass that a synthetic nonce costs, per byte.
void BM_SyntheticNonce(benchmark::State& state) {
  const hx::SecretKey nonce_key = hx::SecretKey::Random();
  const auto payload = Payload(1 << 20);
  for (auto _ : state) {
    auto nonce = hx::SyntheticNonce(nonce_key, {}, payload);
    benchmark::DoNotOptimize(nonce);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_SyntheticNonce);

// Args: opslimit, memlimit in MiB. One derivation per iteration.
void BM_Argon2id(benchmark::State& state) {
  hx::KdfParams params = hx::NewKdfParams();
  params.opslimit = static_cast<std::uint64_t>(state.range(0));
  params.memlimit = static_cast<std::uint64_t>(state.range(1)) << 20;
  for (auto _ : state) {
    auto key = hx::DeriveKeyFromPassphrase("correct horse battery staple", params);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_Argon2id)
    ->ArgNames({"ops", "MiB"})
    ->Args({static_cast<std::int64_t>(hx::kDefaultOpslimit),
            static_cast<std::int64_t>(hx::kDefaultMemlimit >> 20)})
    ->Args({2, 64})    // INTERACTIVE
    ->Args({3, 256})   // MODERATE
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

}  // namespace
