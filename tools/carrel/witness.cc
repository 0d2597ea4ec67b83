// `carrel audit witness`: a trustee's, or another machine's, copy of the log's signed heads.
// Each run fetches the server's public checkpoint, checks its signature with the key the
// witness was given (never one the server supplies), and checks that the log only grew since
// the head it kept last: a smaller size is a rollback, a different root at the same size or a
// failed consistency proof is a fork. Only then is the new head kept.

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "carrel/audit.h"
#include "carrel/library.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

StatusOr<json> FetchJson(const std::string& url, const std::string& path) {
  httplib::Client client(url);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  auto res = client.Get(path);
  if (!res) return Unavailable("cannot reach the server at " + url);
  json body = json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string detail = body.is_object() ? body.value("detail", "") : "";
    return Unavailable("the server at " + url + " answered " + std::to_string(res->status) +
                       (detail.empty() ? "" : ": " + detail));
  }
  if (!body.is_object()) return DataLoss("the server at " + url + " sent something not JSON");
  return body;
}

StatusOr<std::optional<std::string>> ReadKept(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<std::string>();
  std::ifstream in(file, std::ios::binary);
  if (!in) return FailedPrecondition("cannot read " + file.string());
  std::stringstream s;
  s << in.rdbuf();
  return std::optional<std::string>(s.str());
}

// Writes `text` to `file` whole or not at all.
Status WriteAtomically(const fs::path& file, const std::string& text) {
  fs::path partial = file.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return FailedPrecondition("cannot write " + partial.string());
  }
  std::error_code ec;
  fs::rename(partial, file, ec);
  if (ec) return FailedPrecondition("cannot write " + file.string() + ": " + ec.message());
  return Status::Ok();
}

Status Witness(const std::string& url, const std::string& vkey, const std::string& store,
               std::string* report) {
  CARREL_RETURN_IF_ERROR(InitCrypto());
  CARREL_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::Parse(vkey));
  std::error_code ec;
  fs::create_directories(fs::path(store) / "heads", ec);
  if (ec) return FailedPrecondition("cannot create " + store + ": " + ec.message());
  chmod(store.c_str(), 0700);

  CARREL_ASSIGN_OR_RETURN(json checkpoint, FetchJson(url, "/api/v1/audit/checkpoint"));
  if (!checkpoint.contains("checkpoint") || !checkpoint["checkpoint"].is_string()) {
    return DataLoss("the server's checkpoint has no signed note");
  }
  std::string note = checkpoint["checkpoint"].get<std::string>();
  auto fresh = OpenCheckpoint(note, verifier);
  if (!fresh.ok()) {
    return DataLoss("the server's checkpoint is not signed by the log's key: " +
                    fresh.status().message());
  }
  fs::path latest = fs::path(store) / "latest";
  CARREL_ASSIGN_OR_RETURN(std::optional<std::string> kept_text, ReadKept(latest));
  if (kept_text) {
    auto kept = OpenCheckpoint(*kept_text, verifier);
    if (!kept.ok()) {
      return DataLoss("the head kept in " + latest.string() + " does not verify: " +
                      kept.status().message());
    }
    if (fresh->size < kept->size) {
      return DataLoss("rollback: the log's signed head went back from size " +
                      std::to_string(kept->size) + " to " + std::to_string(fresh->size));
    }
    if (fresh->size == kept->size && fresh->root != kept->root) {
      return DataLoss("fork: two different logs were signed at size " +
                      std::to_string(kept->size));
    }
    if (fresh->size > kept->size) {
      CARREL_ASSIGN_OR_RETURN(json proof, FetchJson(url, "/api/v1/audit/consistency?from=" +
                                                             std::to_string(kept->size) +
                                                             "&to=" + std::to_string(fresh->size)));
      std::vector<Hash> path;
      if (!proof.contains("consistency_proof") || !proof["consistency_proof"].is_array()) {
        return DataLoss("the server's consistency proof is malformed");
      }
      for (const json& h : proof["consistency_proof"]) {
        if (!h.is_string()) return DataLoss("the server's consistency proof is malformed");
        CARREL_ASSIGN_OR_RETURN(Hash hash, HashFromBase64(h.get<std::string>()));
        path.push_back(hash);
      }
      if (!VerifyConsistency(kept->size, fresh->size, kept->root, fresh->root, path)) {
        return DataLoss("fork: the log signed at size " + std::to_string(fresh->size) +
                        " does not extend the one kept at size " + std::to_string(kept->size));
      }
    }
    *report = "witnessed size " + std::to_string(fresh->size) + ", consistent with the head " +
              "kept at size " + std::to_string(kept->size);
  } else {
    *report = "witnessed size " + std::to_string(fresh->size) + " (the first head kept)";
  }
  CARREL_RETURN_IF_ERROR(
      WriteAtomically(fs::path(store) / "heads" / (std::to_string(fresh->size) + ".note"), note));
  return WriteAtomically(latest, note);
}

}  // namespace

int AuditWitness(const std::string& url, const std::string& vkey, const std::string& store) {
  std::string report;
  Status s = Witness(url, vkey, store, &report);
  if (!s.ok()) return Fail(s);
  std::printf("carrel: %s\n", report.c_str());
  return 0;
}

}  // namespace carrel::cli
