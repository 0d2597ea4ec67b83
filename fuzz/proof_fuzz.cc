// libFuzzer target: what `carrel audit verify-proof` is given by someone else: a verifier key
// (the first line) and a proof bundle (the rest: a signed head, an entry's inclusion, the
// log's consistency with an earlier head), through src/audit/proof.cc, checkpoint.cc and
// merkle.cc. The seed corpus holds real proofs of a small log signed by a fixed test key, so
// mutations reach past the signature into the proofs. Checks, beyond "no crash, no leak, no
// undefined behaviour":
//  - a bundle taken was signed by that key: its head opens on its own with the same verifier;
//  - a refusal is kInvalidArgument (it does not parse) or kDataLoss (it does not verify).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "carrel/audit.h"
#include "carrel/library.h"
#include "fuzz/support/fuzz_support.h"

using carrel::fuzz::Broken;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!carrel::InitCrypto().ok()) Broken("proof", "libsodium did not start");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return 0;
  auto verifier = carrel::NoteVerifier::Parse(text.substr(0, newline));
  if (!verifier.ok()) {
    if (verifier.status().code() != carrel::StatusCode::kInvalidArgument) {
      Broken("proof", "a bad key refused as something else than bad input");
    }
    return 0;
  }
  if (carrel::NoteVerifier::Parse(verifier->ToString()).status().code() !=
      carrel::StatusCode::kOk) {
    Broken("proof", "a key taken does not read back as written");
  }
  auto check = carrel::VerifyProofBundle(text.substr(newline + 1), *verifier);
  if (!check.ok()) {
    carrel::StatusCode code = check.status().code();
    if (code != carrel::StatusCode::kInvalidArgument && code != carrel::StatusCode::kDataLoss) {
      Broken("proof", "a refusal that is neither bad input nor a failed proof");
    }
    return 0;
  }
  nlohmann::json bundle = nlohmann::json::parse(text.substr(newline + 1));
  auto head = carrel::OpenCheckpoint(bundle["checkpoint"].get<std::string>(), *verifier);
  if (!head.ok() || head->size != check->head_size)
    Broken("proof", "a proof taken without its head");
  if (check->said.empty()) Broken("proof", "a proof taken that proves nothing");
  return 0;
}
