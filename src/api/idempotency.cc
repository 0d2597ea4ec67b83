#include "api/idempotency.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "api/problem.h"
#include "carrel/vault.h"

namespace carrel {

namespace {

// A test of the retry path stops the server here, after the commit and before the answer
// (CARREL_FAULT=exit-after-idempotent-commit); nothing else reads this variable.
bool ExitAfterCommit() {
  static const bool fault = [] {
    const char* v = std::getenv("CARREL_FAULT");
    return v != nullptr && std::string_view(v) == "exit-after-idempotent-commit";
  }();
  return fault;
}

// The key the answer is sealed under: the keyring's idempotency key and the client's own.
StatusOr<SecretKey> SealingKey(Library& library, std::string_view scoped) {
  CARREL_ASSIGN_OR_RETURN(auto server_key,
                          library.vault().keyring().GetOrCreate("blind/idempotency_seal"));
  unsigned char out[SecretKey::kSize];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(scoped.data()),
                     scoped.size(), server_key->data(), SecretKey::kSize);
  auto key = SecretKey::FromBytes(std::string_view(reinterpret_cast<char*>(out), sizeof out));
  sodium_memzero(out, sizeof out);
  return key;
}

std::string AnswerText(const ApiResponse& r) {
  return nlohmann::json{{"status", r.status}, {"type", r.content_type}, {"body", r.body}}.dump();
}

ApiResponse AnswerFrom(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  ApiResponse r(j.value("status", 500), j.value("type", std::string("application/json")),
                j.value("body", std::string()));
  r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

}  // namespace

bool ValidIdempotencyKey(std::string_view key) {
  if (key.size() < 16 || key.size() > 128) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

ApiResponse RunIdempotent(Library& library, std::string_view caller, std::string_view action,
                          std::string_view key, const ApiRequest& request,
                          const std::function<ApiResponse()>& handler) {
  std::string scoped = std::string(caller) + "\n" + std::string(action) + "\n" + std::string(key);
  auto id = library.vault().BlindIndex("idempotency_key", scoped);
  auto fingerprint = library.vault().BlindIndex(
      "idempotency_request", request.method + " " + request.path + "\n" + request.body);
  auto sealing = SealingKey(library, scoped);
  if (!id.ok() || !fingerprint.ok() || !sealing.ok()) {
    return Problem("server-error", 500, "the server could not complete the request", request.path);
  }
  Instant now = library.clock().Now();
  std::string created = FormatInstant(now);
  std::string expired = FormatInstant(now - kIdempotencyKeyLifetime);
  std::optional<ApiResponse> answer;
  bool recorded = false;
  Status written = WithWriteTransaction(library.store(), [&](Transaction& tx) -> Status {
    // Records older than a day go first (a few at a time), then this key's, if any.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM "
                "idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT 64)",
                {expired}));
    std::string stored_request, stored_answer;
    bool found = false;
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT request, answer FROM idempotency_keys WHERE id = ?",
                                   {Blob{*id}}, [&](const Row& row) {
                                     found = true;
                                     stored_request = row.Bytes(0);
                                     stored_answer = row.Bytes(1);
                                     return Status::Ok();
                                   }));
    if (found) {
      if (stored_request != *fingerprint) {
        answer = Problem("idempotency-key-reused", 422,
                         "this Idempotency-Key was used with a different request; use a new key "
                         "for a new request",
                         request.path);
        return Status::Ok();
      }
      auto opened = Vault::Open(*sealing, "idempotency_keys", "answer", 0, stored_answer);
      if (!opened.ok()) return opened.status();
      answer = AnswerFrom(*opened);
      return Status::Ok();
    }
    // The work, in this transaction: what the handler writes commits with the record below.
    ApiResponse r = handler();
    if (r.status >= 200 && r.status < 300) {
      recorded = true;
      CARREL_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO idempotency_keys (id, request, answer, created_at) VALUES (?, ?, ?, ?)",
          {Blob{*id}, Blob{*fingerprint},
           Blob{Vault::Seal(*sealing, "idempotency_keys", "answer", 0, AnswerText(r))}, created}));
    }
    answer = std::move(r);
    return Status::Ok();
  });
  if (!written.ok()) {
    spdlog::error("{}: cannot record an idempotent answer: {}", action, written.ToString());
    return ProblemResponse(written, request.path);
  }
  if (recorded && ExitAfterCommit()) _exit(86);
  return std::move(*answer);
}

}  // namespace carrel
