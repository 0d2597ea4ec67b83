#include "requests/review_source.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "carrel/encoding.h"

namespace carrel {
namespace {

using nlohmann::json;

// Signed decisions: what, when, by whom, on what basis; the scope as counts only.
Status ReviewableDecisions(Transaction& tx, std::vector<Reviewable>* out) {
  return tx.Exec(
      "SELECT d.id, c.reference, d.outcome, d.signed_at, d.signed_by, d.appointment_id, "
      "c.type, c.process, d.policy_version FROM case_decisions d JOIN cases c ON c.id = "
      "d.case_id ORDER BY d.id",
      {}, [&](const Row& row) -> Status {
        Reviewable r;
        r.subject = "decision";
        r.subject_id = row.Int(0);
        r.case_reference = row.Text(1);
        r.what = row.Text(2);
        CARREL_ASSIGN_OR_RETURN(r.at, ParseInstant(row.Text(3)));
        r.by = row.Int(4);
        r.detail.appointment = row.Int(5);
        r.detail.request_type = row.Text(6);
        r.detail.process = row.Text(7);
        r.policy_version = row.Text(8);
        out->push_back(std::move(r));
        return Status::Ok();
      });
}

// Declines: when, by whom (a decline is not signed, it is a step of the case).
Status ReviewableDeclines(Transaction& tx, std::vector<Reviewable>* out) {
  return tx.Exec(
      "SELECT c.id, c.reference, e.at, e.actor, e.appointment_id, c.type FROM cases c JOIN "
      "case_events e ON e.case_id = c.id AND e.action = 'decline' ORDER BY c.id",
      {}, [&](const Row& row) -> Status {
        Reviewable r;
        r.subject = "decline";
        r.subject_id = row.Int(0);
        r.case_reference = row.Text(1);
        r.what = "decline";
        CARREL_ASSIGN_OR_RETURN(r.at, ParseInstant(row.Text(2)));
        std::string actor = row.Text(3);
        if (actor.starts_with("user/")) r.by = std::atoll(actor.c_str() + 5);
        r.detail.appointment = row.Int(4);
        r.detail.request_type = row.Text(5);
        out->push_back(std::move(r));
        return Status::Ok();
      });
}

// Designee appointments, with their period and whether they were revoked.
Status ReviewableAppointments(Transaction& tx, std::vector<Reviewable>* out) {
  return tx.Exec(
      "SELECT a.id, a.statement, a.signed_by, a.scope, a.valid_from, a.valid_to, a.revoked_at "
      "FROM appointments a ORDER BY a.id",
      {}, [&](const Row& row) -> Status {
        Reviewable r;
        r.subject = "appointment";
        r.subject_id = row.Int(0);
        r.what = "designee appointment (" + row.Text(3) + ")";
        json statement = json::parse(row.Text(1), nullptr, false);
        r.by = row.Int(2);
        r.at = {};
        if (auto from = ParseInstant(row.Text(4)); from.ok()) r.at = *from;
        if (statement.is_object()) r.detail.designee = statement.value("designee_username", "");
        r.detail.valid_from = row.Text(4);
        r.detail.valid_to = row.Text(5);
        if (!row.IsNull(6)) r.detail.revoked_at = row.Text(6);
        if (statement.is_object()) r.policy_version = statement.value("policy_version", "");
        out->push_back(std::move(r));
        return Status::Ok();
      });
}

// The request workflow's part of what the Board reviews: signed decisions, declines and the
// Director's designee appointments.
class RequestsSubjects : public ReviewSource {
 public:
  bool Holds(std::string_view subject) const override {
    return subject == "decision" || subject == "decline" || subject == "appointment";
  }

  Status List(Transaction& tx, std::string_view subject, std::vector<Reviewable>* out) override {
    if (subject == "decision") return ReviewableDecisions(tx, out);
    if (subject == "decline") return ReviewableDeclines(tx, out);
    return ReviewableAppointments(tx, out);
  }

  StatusOr<std::optional<std::string>> Find(Transaction& tx, std::string_view subject,
                                            int64_t id) override {
    std::optional<std::string> reference;
    auto found = [&](const Row& row) {
      reference = row.Text(0);
      return Status::Ok();
    };
    if (subject == "decision") {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT c.reference FROM case_decisions d JOIN cases c ON c.id = "
                  "d.case_id WHERE d.id = ?",
                  {id}, found));
    } else if (subject == "decline") {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT c.reference FROM cases c WHERE c.id = ? AND EXISTS "
                  "(SELECT 1 FROM case_events e WHERE e.case_id = c.id AND "
                  "e.action = 'decline')",
                  {id}, found));
    } else {
      CARREL_RETURN_IF_ERROR(tx.Exec("SELECT '' FROM appointments WHERE id = ?", {id}, found));
    }
    return reference;
  }
};

}  // namespace

ReviewSource& RequestsReviewSource() {
  static RequestsSubjects source;
  return source;
}

}  // namespace carrel
