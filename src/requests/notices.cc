// Requests, part 2: nondisclosure orders and the notices they hold back, and the deadlines each
// role sees in its inbox (docs/requests.md, "Nondisclosure orders and patron notice").

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "carrel/encoding.h"
#include "carrel/outbound_hook.h"
#include "carrel/requests.h"
#include "requests/fields.h"
#include "requests/impl.h"
#include "util/enum_names.h"

namespace carrel {

using json = nlohmann::json;

namespace {

// "N-" and 16 random hex digits: says nothing about the patron or the case.
std::string NoticeReference() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  return "N-" + HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace

Status Requests::Impl::QueueNotices(Transaction& tx, const Loaded& l, const CaseDecision& decision,
                                    Instant now) {
  if (!profile_->notify_patrons) return Status::Ok();
  std::string categories;
  for (const std::string& c : decision.scope.categories) {
    categories += (categories.empty() ? "" : ", ") + c;
  }
  std::string requester = l.intake.agency.empty() ? "a requester" : l.intake.agency;
  for (int64_t patron : decision.scope.patron_ids) {
    auto key = vault_->keyring().Get(Vault::PatronKeyName(patron));
    if (!key.ok()) continue;  // the patron's records are gone: there is no one to tell
    std::string text =
        profile_->name + " released records about you on " +
        FormatDate(calendar_->LocalDate(now)) + " (" + categories +
        (decision.scope.from ? ", from " + FormatDate(*decision.scope.from) : "") +
        (decision.scope.to ? ", to " + FormatDate(*decision.scope.to) : "") + ") to " +
        requester + ", on the basis of " +
        (decision.basis == "court_order" ? std::string("a court order") :
         decision.basis == "patron_permission" ? std::string("your written permission")
                                               : std::string("your own request")) +
        ". Request reference " + l.summary.reference + ". Ask the Library Director for details.";
    CARREL_ASSIGN_OR_RETURN(int64_t id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM patron_notices"));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO patron_notices (id, reference, case_id, patron_id, body, state, queued_at) "
        "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
        {id, NoticeReference(), l.id, patron,
         Blob{Vault::Seal(**key, "patron_notices", "body", id, text)}, FormatInstant(now)}));
  }
  return Status::Ok();
}

StatusOr<int64_t> Requests::Impl::SendDueNotices() {
  Instant now = clock_->Now();
  std::string today = FormatDate(calendar_->LocalDate(now));
  std::vector<std::pair<std::string, std::string>> sent;  // notice, case
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    sent.clear();
    std::vector<std::tuple<int64_t, std::string, std::string>> due;
    CARREL_RETURN_IF_ERROR(tx.Exec(
        std::string("SELECT n.id, n.reference, c.reference FROM patron_notices n JOIN cases c "
                    "ON c.id = n.case_id WHERE n.state = 'queued' AND NOT ") +
            kOrderInForceSql + " ORDER BY n.id",
        {today}, [&](const Row& row) {
          due.emplace_back(row.Int(0), row.Text(1), row.Text(2));
          return Status::Ok();
        }));
    for (const auto& [id, reference, case_reference] : due) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE patron_notices SET state = 'sent', sent_at = ? WHERE id = ?",
                  {FormatInstant(now), id}));
      CARREL_RETURN_IF_ERROR(
          audit_
              ->Append(tx, SystemActor("notices"),
                       {"notice.send", "notice", reference, case_reference, "{}"})
              .status());
      sent.emplace_back(reference, case_reference);
    }
    return Status::Ok();
  }));
  for (const auto& [reference, case_reference] : sent) {
    outbound_->PatronNoticeDue(reference);
  }
  return static_cast<int64_t>(sent.size());
}

StatusOr<std::vector<PatronNotice>> Requests::Impl::CaseNotices(Transaction& tx, int64_t case_id) {
  std::vector<PatronNotice> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT n.id, n.reference, c.reference, n.patron_id, n.state, n.queued_at, n.sent_at FROM "
      "patron_notices n JOIN cases c ON c.id = n.case_id WHERE n.case_id = ? ORDER BY n.id",
      {case_id}, [&](const Row& row) -> Status {
        PatronNotice n;
        n.id = row.Int(0);
        n.reference = row.Text(1);
        n.case_reference = row.Text(2);
        n.patron_id = row.Int(3);
        CARREL_ASSIGN_OR_RETURN(n.state, Stored(ParseNoticeState(row.Text(4))));
        CARREL_ASSIGN_OR_RETURN(n.queued_at, ParseInstant(row.Text(5)));
        if (!row.IsNull(6)) {
          CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(row.Text(6)));
          n.sent_at = t;
        }
        out.push_back(std::move(n));
        return Status::Ok();
      }));
  return out;
}

StatusOr<std::vector<PatronNotice>> Requests::Impl::MyNotices(const Actor& actor,
                                                              int64_t patron_id) {
  std::vector<PatronNotice> out;
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(patron_id)));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    out.clear();
    std::vector<std::string> bodies;
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "SELECT n.id, n.reference, n.state, n.queued_at, n.sent_at, n.body FROM patron_notices "
        "n WHERE n.patron_id = ? AND n.state = 'sent' ORDER BY n.id",
        {patron_id}, [&](const Row& row) -> Status {
          PatronNotice n;
          n.id = row.Int(0);
          n.reference = row.Text(1);
          n.patron_id = patron_id;
          CARREL_ASSIGN_OR_RETURN(n.state, Stored(ParseNoticeState(row.Text(2))));
          CARREL_ASSIGN_OR_RETURN(n.queued_at, ParseInstant(row.Text(3)));
          CARREL_ASSIGN_OR_RETURN(Instant sent, ParseInstant(row.Text(4)));
          n.sent_at = sent;
          bodies.push_back(row.Bytes(5));
          out.push_back(std::move(n));
          return Status::Ok();
        }));
    for (size_t i = 0; i < out.size(); ++i) {
      CARREL_ASSIGN_OR_RETURN(out[i].text,
                              Vault::Open(*key, "patron_notices", "body", out[i].id, bodies[i]));
    }
    return audit_
        ->Append(tx, actor, {"patron.notices", "patron", std::to_string(patron_id), "",
                             json{{"count", out.size()}}.dump()})
        .status();
  }));
  return out;
}

// ---- deadlines ------------------------------------------------------------------------------

// What the Director or an acting designee must watch: return dates of process on open cases,
// nondisclosure reviews and expiries, and requests not yet acknowledged in time.
Status Requests::Impl::HeadDeadlines(Transaction& tx, Instant now,
                                     std::vector<Deadline>* deadlines) {
  std::vector<Deadline>& out = *deadlines;
  const Date today = calendar_->LocalDate(now);
  const std::string horizon =
      FormatDate(today + std::chrono::days(profile_->deadline_warning_days));
  // Return dates of process on open cases, within the warning window or past.
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT reference, return_date FROM cases WHERE closed_at IS NULL AND return_date IS "
              "NOT NULL AND return_date <= ? ORDER BY return_date, id",
              {horizon}, [&](const Row& row) -> Status {
                CARREL_ASSIGN_OR_RETURN(Date due, ParseDate(row.Text(1)));
                out.push_back({"return_date", row.Text(0), 0, row.Text(1), due < today});
                return Status::Ok();
              }));
  // Nondisclosure orders: their review dates and expiries (an expiry releases held notices).
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT reference, nondisclosure_review, nondisclosure_expires FROM cases WHERE "
      "nondisclosure = 1 AND ((nondisclosure_review IS NOT NULL AND nondisclosure_review <= "
      "?) OR (nondisclosure_expires IS NOT NULL AND nondisclosure_expires <= ? AND "
      "nondisclosure_expires >= ?)) ORDER BY id",
      {horizon, horizon, FormatDate(today - std::chrono::days(1))}, [&](const Row& row) -> Status {
        if (!row.IsNull(1) && row.Text(1) <= horizon) {
          CARREL_ASSIGN_OR_RETURN(Date due, ParseDate(row.Text(1)));
          out.push_back({"nondisclosure_review", row.Text(0), 0, row.Text(1), due < today});
        }
        if (!row.IsNull(2) && row.Text(2) <= horizon) {
          out.push_back({"nondisclosure_expires", row.Text(0), 0, row.Text(2), false});
        }
        return Status::Ok();
      }));
  // Requests not acknowledged within the profile's hours of opening time.
  auto allowed = std::chrono::hours(profile_->acknowledge_within_open_hours);
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT reference, received_at FROM cases WHERE state IN ('received', "
              "'warrant_executed') AND acknowledged_at IS NULL ORDER BY id",
              {}, [&](const Row& row) -> Status {
                CARREL_ASSIGN_OR_RETURN(Instant received, ParseInstant(row.Text(1)));
                auto open = calendar_->OpenTimeBetween(received, now);
                Instant due = calendar_->AfterOpenTime(received, allowed);
                out.push_back({"acknowledge", row.Text(0), 0, FormatInstant(due), open >= allowed});
                return Status::Ok();
              }));
  return Status::Ok();
}

// Counsel's: advice due on the cases assigned to them.
Status Requests::Impl::CounselDeadlines(Transaction& tx, int64_t user_id, Date today,
                                        std::vector<Deadline>* deadlines) {
  std::vector<Deadline>& out = *deadlines;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT reference, return_date FROM cases WHERE counsel_id = ? AND state IN "
      "('counsel_review', 'counsel_determination_required', 'warrant_executed') ORDER BY id",
      {user_id}, [&](const Row& row) -> Status {
        bool overdue = false;
        if (!row.IsNull(1)) {
          CARREL_ASSIGN_OR_RETURN(Date due, ParseDate(row.Text(1)));
          overdue = due < today;
        }
        out.push_back({"advice_due", row.Text(0), 0, row.Text(1), overdue});
        return Status::Ok();
      }));
  return Status::Ok();
}

// A trustee's: open Board reviews, and votes open (to cast, or to close once cast).
Status Requests::Impl::BoardDeadlines(Transaction& tx, int64_t user_id,
                                      std::vector<Deadline>* deadlines) {
  std::vector<Deadline>& out = *deadlines;
  CARREL_ASSIGN_OR_RETURN(std::vector<Governance::OpenReviewRef> reviews,
                          Governance::OpenReviewsIn(tx));
  for (const Governance::OpenReviewRef& r : reviews) {
    out.push_back({"board_review_open", r.case_reference, r.id, r.opened_at, false});
  }
  CARREL_ASSIGN_OR_RETURN(std::vector<Governance::OpenVote> votes,
                          Governance::OpenVotesIn(tx, user_id));
  for (const Governance::OpenVote& v : votes) {
    out.push_back({v.voted ? "policy_vote_to_close" : "policy_vote_open", "", v.proposal_id,
                   v.proposed_at, false});
  }
  return Status::Ok();
}

StatusOr<std::vector<Deadline>> Requests::Impl::Deadlines(int64_t user_id) {
  CARREL_ASSIGN_OR_RETURN(User user, accounts_->GetUser(user_id));
  if (user.disabled) return PermissionDenied("the account is disabled");
  Instant now = clock_->Now();
  std::vector<Deadline> out;
  bool head = user.role == Role::kDirector;
  if (user.role == Role::kStaff) {
    CARREL_ASSIGN_OR_RETURN(bool designee, IsActingDesignee(user_id));
    head = designee;
  }
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    if (head) CARREL_RETURN_IF_ERROR(HeadDeadlines(tx, now, &out));
    if (user.role == Role::kCounsel) {
      CARREL_RETURN_IF_ERROR(CounselDeadlines(tx, user_id, calendar_->LocalDate(now), &out));
    }
    if (user.role == Role::kBoard) CARREL_RETURN_IF_ERROR(BoardDeadlines(tx, user_id, &out));
    return Status::Ok();
  }));
  return out;
}

}  // namespace carrel
