// `carrel audit ...`: the log's key, signed heads, offline verification and proofs.

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "carrel/audit.h"
#include "carrel/encoding.h"
#include "carrel/library.h"
#include "carrel/profile.h"
#include "carrel/progress.h"
#include "tools/carrel/commands.h"
#include "tools/carrel/library_commands.h"

namespace carrel::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

StatusOr<std::string> ReadText(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + std::string(what) + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json HashList(const std::vector<Hash>& hashes) {
  json out = json::array();
  for (const Hash& h : hashes) out.push_back(HashBase64(h));
  return out;
}

// The verifier key from a file outside the data directory: --key-file, or the profile's
// [audit] verifier_key_file.
StatusOr<std::string> VerifierKeyFromOutside(const std::string& data, std::string file) {
  if (file.empty()) {
    auto profile = LoadProfile(Library::ProfilePath(data));
    if (profile.ok()) file = profile->verifier_key_file;
  }
  if (file.empty()) {
    return FailedPrecondition(
        "audit verify needs the log's verifier key from outside the data directory: --key "
        "VKEY, --key-file FILE, or [audit] verifier_key_file in the profile");
  }
  std::error_code ec;
  fs::path where = fs::weakly_canonical(file, ec);
  fs::path dir = fs::weakly_canonical(data, ec);
  auto [d, w] = std::mismatch(dir.begin(), dir.end(), where.begin(), where.end());
  if (d == dir.end()) {
    return FailedPrecondition("the verifier key file " + file +
                              " is inside the data directory; keep it where whoever holds the "
                              "data cannot change it");
  }
  CARREL_ASSIGN_OR_RETURN(std::string text, ReadText(file, "verifier key file"));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

int Fail(const Status& status) {
  std::fprintf(stderr, "carrel: %s\n", status.message().c_str());
  return 1;
}

int AuditKey(const std::string& data) {
  auto library = Library::Open(data, SystemClock());
  if (!library.ok()) return Fail(library.status());
  auto verifier = (*library)->AuditVerifier();
  if (!verifier.ok()) return Fail(verifier.status());
  std::printf("%s\n", verifier->ToString().c_str());
  return 0;
}

int AuditHead(const std::string& data) {
  auto library = Library::Open(data, SystemClock());
  if (!library.ok()) return Fail(library.status());
  // Signing on demand records the request first, so the head printed covers it.
  Status s = (*library)->RecordOperation(OperatorActor(), {"audit.head.sign", "audit_log", "", "", "{}"});
  if (!s.ok()) return Fail(s);
  auto head = (*library)->SignAuditHead();
  if (!head.ok()) return Fail(head.status());
  std::fputs(head->note.c_str(), stdout);
  return 0;
}

int AuditVerify(const std::string& data, const std::string& from_head, const std::string& vkey_arg,
                const std::string& key_file) {
  if (Status s = InitCrypto(); !s.ok()) return Fail(s);
  auto store = Library::OpenRecords(data);
  if (!store.ok()) return Fail(store.status());
  // Never the key stored in the data directory being checked: whoever could rewrite the log
  // could rewrite that key too.
  std::string vkey = vkey_arg;
  if (vkey.empty()) {
    auto outside = VerifierKeyFromOutside(data, key_file);
    if (!outside.ok()) return Fail(outside.status());
    vkey = *outside;
  }
  auto verifier = NoteVerifier::Parse(vkey);
  if (!verifier.ok()) return Fail(verifier.status());
  std::optional<Checkpoint> earlier;
  if (!from_head.empty()) {
    auto text = ReadText(from_head, "head file");
    if (!text.ok()) return Fail(text.status());
    auto c = OpenCheckpoint(*text, *verifier);
    if (!c.ok()) return Fail(c.status().WithContext(from_head));
    earlier = *c;
  }
  std::optional<Progress> progress;
  auto result = VerifyAuditLog(**store, *verifier, earlier, [&](int64_t done, int64_t total) {
    if (!progress) progress.emplace("verifying log", total);
    progress->Set(done);
  });
  if (progress) progress->Finish();
  if (!result.ok()) return Fail(result.status());
  if (!result->intact) {
    bool head_problem = result->problem.find("head") != std::string::npos;
    return Fail(DataLoss("the audit log is damaged at " +
                         std::string(head_problem ? "the head of size " : "entry ") +
                         std::to_string(result->first_bad_seq) + ": " + result->problem));
  }
  std::printf("carrel: audit log intact: %lld entries, root %s, %lld signed heads checked%s\n",
              static_cast<long long>(result->size),
              result->size > 0 ? HashBase64(result->root).c_str() : "(empty)",
              static_cast<long long>(result->heads_checked),
              earlier ? ", consistent with the earlier head" : "");
  return 0;
}

int AuditProve(const std::string& data, int64_t index, int64_t size,
               const std::string& from_head) {
  auto library = Library::Open(data, SystemClock());
  if (!library.ok()) return Fail(library.status());
  Library& lib = **library;
  Status s = lib.RecordOperation(OperatorActor(), {"audit.proof", "audit_log", "", "", "{}"});
  if (!s.ok()) return Fail(s);
  auto head = lib.SignAuditHead();
  if (!head.ok()) return Fail(head.status());
  auto verifier = lib.AuditVerifier();
  if (!verifier.ok()) return Fail(verifier.status());
  Checkpoint target = *head;
  if (size > 0 && size != head->size) {
    if (size > head->size) {
      return Fail(InvalidArgument("the log has " + std::to_string(head->size) +
                                  " entries; there is no tree of size " + std::to_string(size)));
    }
    // An older size: only one with a stored signed head can be proven against.
    std::string note;
    s = WithReadTransaction(lib.store(), [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(Checkpoint stored, lib.audit().HeadOfSize(tx, size));
      note = stored.note;
      return Status::Ok();
    });
    if (!s.ok()) return Fail(s);
    auto c = OpenCheckpoint(note, *verifier);
    if (!c.ok()) return Fail(c.status());
    target = *c;
  }
  json bundle = {{"checkpoint", target.note}};
  s = WithReadTransaction(lib.store(), [&](Transaction& tx) -> Status {
    if (index >= 0) {
      CARREL_ASSIGN_OR_RETURN(auto path, lib.audit().InclusionProof(tx, index, target.size));
      CARREL_ASSIGN_OR_RETURN(std::string entry, lib.audit().EncodedEntry(tx, index));
      bundle["inclusion"] = {{"index", index}, {"entry", Base64Encode(entry)}, {"path", HashList(path)}};
    }
    if (!from_head.empty()) {
      CARREL_ASSIGN_OR_RETURN(std::string text, ReadText(from_head, "head file"));
      CARREL_ASSIGN_OR_RETURN(Checkpoint earlier, OpenCheckpoint(text, *verifier));
      CARREL_ASSIGN_OR_RETURN(auto proof,
                              lib.audit().ConsistencyProof(tx, earlier.size, target.size));
      bundle["consistency"] = {{"earlier", earlier.note}, {"proof", HashList(proof)}};
    }
    return Status::Ok();
  });
  if (!s.ok()) return Fail(s);
  std::printf("%s\n", bundle.dump(2).c_str());
  return 0;
}

int AuditVerifyProof(const std::string& vkey, const std::string& proof_file) {
  if (Status s = InitCrypto(); !s.ok()) return Fail(s);
  auto verifier = NoteVerifier::Parse(vkey);
  if (!verifier.ok()) return Fail(verifier.status());
  auto text = ReadText(proof_file, "proof file");
  if (!text.ok()) return Fail(text.status());
  auto check = VerifyProofBundle(*text, *verifier);
  if (!check.ok()) {
    if (check.status().code() == StatusCode::kInvalidArgument) {
      return Fail(InvalidArgument(proof_file + ": " + check.status().message()));
    }
    return Fail(check.status());
  }
  std::printf("carrel: proof verified against the signed head of size %lld: %s\n",
              static_cast<long long>(check->head_size), check->said.c_str());
  return 0;
}

void AuditCommands::Register(CLI::App* app) {
  CLI::App* audit = app->add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  const char* kData = "The library's data directory";
  const char* kKey = "The log's verifier key, as carrel init printed it";
  CLI::App* key = table_.Add(audit, "key", "Print the log's public verifier key",
                             [this] { return AuditKey(data_); });
  key->add_option("--data", data_, kData)->required();
  CLI::App* head =
      table_.Add(audit, "head", "Sign and print the current tree head (a C2SP tlog-checkpoint)",
                 [this] { return AuditHead(data_); });
  head->add_option("--data", data_, kData)->required();
  CLI::App* verify =
      table_.Add(audit, "verify",
                 "Recompute every entry and the tree; check every signed head (needs no keys)",
                 [this] { return AuditVerify(data_, from_head_, vkey_, vkey_file_); });
  verify->add_option("--data", data_, kData)->required();
  verify->add_option("--from-head", from_head_,
                     "An earlier signed head the log must be consistent with");
  verify->add_option("--key", vkey_, kKey);
  verify->add_option("--key-file", vkey_file_,
                     "A file outside the data directory holding the verifier key");
  CLI::App* prove = table_.Add(
      audit, "prove",
      "Write a proof (JSON) that an entry is in the log and/or that the log grew from an "
      "earlier head",
      [this] { return AuditProve(data_, index_, size_, from_head_); });
  prove->add_option("--data", data_, kData)->required();
  prove->add_option("--index", index_, "Sequence number of the entry to prove");
  prove->add_option("--size", size_, "Tree size of a stored signed head (default: now)");
  prove->add_option("--from-head", from_head_, "Earlier signed head for a consistency proof");
  CLI::App* witness = table_.Add(
      audit, "witness", "Keep the server's signed heads elsewhere and check that the log only grew",
      [this] { return AuditWitness(url_, vkey_, store_); });
  witness->add_option("--url", url_, "The server, e.g. https://library.example.org")->required();
  witness->add_option("--key", vkey_, kKey)->required();
  witness->add_option("--store", store_, "Directory for the heads this witness keeps")->required();
  CLI::App* check =
      table_.Add(audit, "verify-proof", "Check a proof with nothing but the log's public key",
                 [this] { return AuditVerifyProof(vkey_, proof_file_); });
  check->add_option("--key", vkey_, "The log's verifier key (carrel audit key)")->required();
  check->add_option("--proof", proof_file_, "Proof file written by carrel audit prove")->required();
}

}  // namespace carrel::cli
