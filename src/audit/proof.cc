// Checking a proof bundle with nothing but the log's verifier key (`carrel audit verify-proof`).

#include <nlohmann/json.hpp>

#include "carrel/audit.h"
#include "carrel/encoding.h"

namespace carrel {
namespace {

using nlohmann::json;

StatusOr<std::vector<Hash>> ParseHashList(const json& list) {
  if (!list.is_array()) return InvalidArgument("the proof's path is not a list");
  std::vector<Hash> out;
  for (const json& item : list) {
    if (!item.is_string()) return InvalidArgument("the proof's path holds a non-string");
    CARREL_ASSIGN_OR_RETURN(Hash h, HashFromBase64(item.get<std::string>()));
    out.push_back(h);
  }
  return out;
}

bool IsText(const json& object, const char* key) {
  return object.contains(key) && object[key].is_string();
}

}  // namespace

StatusOr<ProofCheck> VerifyProofBundle(std::string_view text, const NoteVerifier& verifier) {
  json bundle = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (bundle.is_discarded() || !bundle.is_object() || !IsText(bundle, "checkpoint")) {
    return InvalidArgument("not a carrel proof (JSON with a checkpoint)");
  }
  CARREL_ASSIGN_OR_RETURN(Checkpoint head,
                          OpenCheckpoint(bundle["checkpoint"].get<std::string>(), verifier));
  ProofCheck check;
  check.head_size = head.size;
  if (bundle.contains("inclusion")) {
    const json& inc = bundle["inclusion"];
    if (!inc.is_object() || !inc.contains("index") || !inc["index"].is_number_integer() ||
        !IsText(inc, "entry") || !inc.contains("path")) {
      return InvalidArgument("the inclusion proof needs index, entry and path");
    }
    CARREL_ASSIGN_OR_RETURN(std::string entry, Base64Decode(inc["entry"].get<std::string>()));
    CARREL_ASSIGN_OR_RETURN(std::vector<Hash> path, ParseHashList(inc["path"]));
    // An index past what int64 holds is no entry of any log.
    if (inc["index"].is_number_unsigned() &&
        inc["index"].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return DataLoss("the inclusion proof does not verify");
    }
    int64_t index = inc["index"].get<int64_t>();
    if (!VerifyInclusion(LeafHash(entry), index, head.size, path, head.root)) {
      return DataLoss("the inclusion proof does not verify");
    }
    auto decoded = DecodeAuditEntry(entry);
    check.said += "entry " + std::to_string(index) + " (" +
                  (decoded.ok() ? decoded->action : std::string("undecodable")) + ") is in the log";
  }
  if (bundle.contains("consistency")) {
    const json& con = bundle["consistency"];
    if (!con.is_object() || !IsText(con, "earlier") || !con.contains("proof")) {
      return InvalidArgument("the consistency proof needs earlier and proof");
    }
    CARREL_ASSIGN_OR_RETURN(Checkpoint earlier,
                            OpenCheckpoint(con["earlier"].get<std::string>(), verifier));
    CARREL_ASSIGN_OR_RETURN(std::vector<Hash> proof, ParseHashList(con["proof"]));
    if (!VerifyConsistency(earlier.size, head.size, earlier.root, head.root, proof)) {
      return DataLoss("the log of size " + std::to_string(head.size) +
                      " is not consistent with the head of size " + std::to_string(earlier.size));
    }
    if (!check.said.empty()) check.said += "; ";
    check.said += "the log only grew since the head of size " + std::to_string(earlier.size);
  }
  if (check.said.empty()) return InvalidArgument("the proof file holds no proof");
  return check;
}

}  // namespace carrel
