// Field encryption and blind indexes (docs/design.md §4): Vault::Seal and Vault::Open of a 256-byte
// field (XChaCha20-Poly1305 with associated data naming table, column and row), and the keyed
// BLAKE2b blind index of a card barcode, both as the bare libsodium call (32-byte key, 8-byte
// output) and through Vault::BlindIndex, which takes its key from the keyring's cache.
// CPU-bound: no database work is timed.

#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bench/bench_support.h"
#include "carrel/clock.h"
#include "carrel/library.h"
#include "carrel/status.h"
#include "carrel/vault.h"

namespace carrel {
namespace {

constexpr size_t kFieldBytes = 256;
// A demo-seed card barcode, normalized: what a checkout looks up.
constexpr std::string_view kBarcode = "21000000012345";

std::string Field() {
  std::string field(kFieldBytes, '\0');
  for (size_t i = 0; i < field.size(); ++i) field[i] = static_cast<char>('a' + i % 26);
  return field;
}

void BM_VaultSeal(benchmark::State& state) {
  if (Status s = InitCrypto(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  const SecretKey key = SecretKey::Random();
  const std::string field = Field();
  int64_t row = 0;
  for (auto _ : state) {
    std::string sealed = Vault::Seal(key, "patrons", "postal_address", ++row, field);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFieldBytes));
}

void BM_VaultOpen(benchmark::State& state) {
  if (Status s = InitCrypto(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  const SecretKey key = SecretKey::Random();
  const std::string sealed = Vault::Seal(key, "patrons", "postal_address", 42, Field());
  for (auto _ : state) {
    StatusOr<std::string> field = Vault::Open(key, "patrons", "postal_address", 42, sealed);
    if (!field.ok()) {
      state.SkipWithError(field.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(field);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kFieldBytes));
}

// The libsodium call itself: BLAKE2b with a 32-byte key and an 8-byte output.
void BM_BlindIndexBlake2b(benchmark::State& state) {
  if (Status s = InitCrypto(); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  const SecretKey key = SecretKey::Random();
  unsigned char out[8];
  for (auto _ : state) {
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(kBarcode.data()),
                       kBarcode.size(), key.data(), SecretKey::kSize);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

// A keyring of its own in the scratch directory, for Vault::BlindIndex.
Keyring* BenchKeyring() {
  static Keyring* const keyring = []() -> Keyring* {
    if (!InitCrypto().ok()) return nullptr;
    auto dir = bench::ScratchDir();
    if (!dir.ok()) return nullptr;
    auto made = Keyring::Create(*dir / "vault-bench-keyring.db",
                                MasterKeys{SecretKey::Random(), std::nullopt}, "vault-bench",
                                SystemClock());
    if (!made.ok()) return nullptr;
    return std::move(made).value().release();
  }();
  return keyring;
}

// Through the vault: the key name, the keyring cache lookup, then the same BLAKE2b call.
void BM_VaultBlindIndex(benchmark::State& state) {
  Keyring* keyring = BenchKeyring();
  if (keyring == nullptr) {
    state.SkipWithError("cannot create a keyring in the scratch directory");
    return;
  }
  Vault vault(keyring);
  for (auto _ : state) {
    StatusOr<std::string> index = vault.BlindIndex("card_barcode", kBarcode);
    if (!index.ok()) {
      state.SkipWithError(index.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(index);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_VaultSeal)->MinTime(0.3);
BENCHMARK(BM_VaultOpen)->MinTime(0.3);
BENCHMARK(BM_BlindIndexBlake2b)->MinTime(0.3);
BENCHMARK(BM_VaultBlindIndex)->MinTime(0.3);

}  // namespace
}  // namespace carrel
