// Handlers of the Board's routes (policy §5, §6), the public policy and transparency report,
// and a patron's notices (rows in routes.cc). The core (Governance, Requests) checks the role
// again, signs with step-up and audits.

#include "api/governance_routes.h"

#include <nlohmann/json.hpp>

#include "carrel/encoding.h"
#include "requests/fields.h"
#include "requests/render.h"

namespace carrel {

namespace {

// The Board's recorded vote; {} for a version from the profile's history.
json VoteJson(const std::optional<PolicyVote>& vote) {
  if (!vote) return json::object();
  return {{"for", vote->in_favour},
          {"against", vote->against},
          {"abstain", vote->abstaining},
          {"meeting_date", FormatDate(vote->meeting_date)},
          {"majority_of_those_voting", vote->majority_of_those_voting},
          {"closed_by", vote->closed_by}};
}

// What the Board is shown of a subject, the fields its kind has.
json DetailJson(const Reviewable& r) {
  const ReviewDetail& d = r.detail;
  if (r.subject == "decision") {
    return {
        {"appointment", d.appointment}, {"request_type", d.request_type}, {"process", d.process}};
  }
  if (r.subject == "decline")
    return {{"appointment", d.appointment}, {"request_type", d.request_type}};
  if (r.subject == "appointment") {
    return {{"designee", d.designee},
            {"valid_from", d.valid_from},
            {"valid_to", d.valid_to},
            {"revoked_at", d.revoked_at ? json(*d.revoked_at) : json(nullptr)}};
  }
  if (r.subject == "retention_schedule") return {{"reason", d.reason}};
  return json::object();
}

json VersionSummaryJson(const PolicyVersion& v) {
  return {{"label", v.label},
          {"event", PolicyEventName(v.event)},
          {"effective_on", FormatDate(v.effective_on)},
          {"title", v.title},
          {"text_on_file", v.text.has_value()},
          {"sha256", v.sha256},
          {"note", v.note},
          {"proposal", v.proposal_id},
          {"vote", VoteJson(v.vote)},
          {"recorded_at", FormatInstant(v.recorded_at)}};
}

json ProposalJson(const PolicyProposal& p) {
  json ballots = json::array();
  for (const BoardBallot& b : p.ballots) {
    ballots.push_back({{"member", b.member},
                       {"member_id", b.member_id},
                       {"vote", BallotVoteName(b.vote)},
                       {"cast_at", FormatInstant(b.cast_at)},
                       {"statement", b.statement},
                       {"signature", Base64Encode(b.signature)}});
  }
  return {{"id", p.id},
          {"event", PolicyEventName(p.event)},
          {"title", p.title},
          {"text", p.text},
          {"summary", p.summary},
          {"proposed_by", p.proposed_by},
          {"proposed_at", FormatInstant(p.proposed_at)},
          {"state", ProposalStateName(p.state)},
          {"meeting_date", DateJson(p.meeting_date)},
          {"closed_at", p.closed_at ? json(FormatInstant(*p.closed_at)) : json(nullptr)},
          {"version", p.version_label},
          {"ballots", ballots}};
}

json ReviewJson(const BoardReview& r) {
  json comments = json::array();
  for (const ReviewComment& c : r.comments) {
    comments.push_back({{"id", c.id},
                        {"author", c.author},
                        {"at", FormatInstant(c.at)},
                        {"text", c.text}});
  }
  return {{"id", r.id},
          {"subject", r.subject},
          {"subject_id", r.subject_id},
          {"case", r.case_reference},
          {"opened_by", r.opened_by},
          {"opened_at", FormatInstant(r.opened_at)},
          {"reason", r.reason},
          {"outcome", r.outcome ? json(RulingOutcomeName(*r.outcome)) : json(nullptr)},
          {"explanation", r.explanation},
          {"statement", r.statement},
          {"signature", Base64Encode(r.signature)},
          {"decided_by", r.decided_by},
          {"decided_at", r.decided_at ? json(FormatInstant(*r.decided_at)) : json(nullptr)},
          {"comments", comments}};
}

std::string DiffText(const std::vector<DiffLine>& lines) {
  std::string out;
  for (const DiffLine& l : lines) {
    out.push_back(l.op);
    out += ' ';
    out += l.text;
    out.push_back('\n');
  }
  return out;
}

}  // namespace

json RulingJson(const std::optional<BoardRuling>& ruling) {
  if (!ruling) return nullptr;
  return {{"review", ruling->review_id},
          {"outcome", RulingOutcomeName(ruling->outcome)},
          {"decided_at", FormatInstant(ruling->decided_at)}};
}

// ---- the policy ---------------------------------------------------------------------------

StatusOr<ApiResponse> PolicyCurrent(ApiContext& c) {
  const Profile& p = c.library.profile();
  CARREL_ASSIGN_OR_RETURN(PolicyVersion current, c.library.governance().Current());
  CARREL_ASSIGN_OR_RETURN(auto history, c.library.governance().History());
  json events = json::array();
  for (const PolicyVersion& v : history) {
    events.push_back({{"event", PolicyEventName(v.event)},
                      {"date", FormatDate(v.effective_on)},
                      {"version", v.label},
                      {"note", v.note}});
  }
  return JsonResponse({
      {"library", p.name},
      {"title", current.title},
      {"version", current.label},
      {"text", current.text.value_or("")},
      {"sha256", current.sha256},
      {"history", events},
      {"statute", {{"citation", p.statute_citation}, {"summary", p.statute_summary}}},
  });
}

StatusOr<ApiResponse> PolicyVersions(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto history, c.library.governance().History());
  json out = json::array();
  for (const PolicyVersion& v : history) out.push_back(VersionSummaryJson(v));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> PolicyVersionText(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(PolicyVersion v,
                          c.library.governance().Version(c.request.path_params[0]));
  json out = VersionSummaryJson(v);
  out["text"] = v.text ? json(*v.text) : json(nullptr);
  return JsonResponse(out);
}

StatusOr<ApiResponse> PolicyVersionChanges(ApiContext& c) {
  const std::string& label = c.request.path_params[0];
  CARREL_ASSIGN_OR_RETURN(auto lines, c.library.governance().Changes(label));
  int64_t added = 0, removed = 0;
  json out = json::array();
  for (const DiffLine& l : lines) {
    if (l.op == '+') ++added;
    if (l.op == '-') ++removed;
    out.push_back({{"op", std::string(1, l.op)}, {"text", l.text}});
  }
  return JsonResponse({{"version", label},
                       {"lines_added", added},
                       {"lines_removed", removed},
                       {"unchanged", added == 0 && removed == 0},
                       {"diff", DiffText(lines)},
                       {"lines", out}});
}

// ---- amendments ---------------------------------------------------------------------------

StatusOr<ApiResponse> ProposalList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.governance().Proposals(c.principal->id));
  json out = json::array();
  for (const PolicyProposal& p : list) out.push_back(ProposalJson(p));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> ProposalCreate(ApiContext& c) {
  std::string event_name = TextOf(c.body, "event");
  CARREL_ASSIGN_OR_RETURN(PolicyEventKind event,
                          ParsePolicyEvent(event_name.empty() ? "amended" : event_name));
  std::string title = TextOf(c.body, "title");
  std::string text = TextOf(c.body, "text");
  std::string summary = TextOf(c.body, "summary");
  CARREL_ASSIGN_OR_RETURN(PolicyProposal p, c.library.governance().Propose(c.principal->id, event,
                                                                           title, text, summary));
  return JsonResponse(ProposalJson(p), 201);
}

StatusOr<ApiResponse> ProposalView(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(PolicyProposal p, c.library.governance().Proposal(c.principal->id, id));
  return JsonResponse(ProposalJson(p));
}

StatusOr<ApiResponse> ProposalVote(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(BallotVote vote, ParseBallotVote(TextOf(c.body, "vote")));
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(PolicyProposal p,
                          c.library.governance().Vote(c.principal->id, password, id, vote));
  return JsonResponse(ProposalJson(p));
}

StatusOr<ApiResponse> ProposalClose(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string date_text = TextOf(c.body, "meeting_date");
  CARREL_ASSIGN_OR_RETURN(Date date, ParseDate(date_text));
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(PolicyProposal p,
                          c.library.governance().CloseVote(c.principal->id, password, id, date));
  return JsonResponse(ProposalJson(p));
}

// ---- review -------------------------------------------------------------------------------

StatusOr<ApiResponse> BoardDecisions(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto items, c.library.governance().ReviewableItems(c.principal->id));
  json out = json::array();
  for (const Reviewable& r : items) {
    out.push_back({{"subject", r.subject},
                   {"subject_id", r.subject_id},
                   {"case", r.case_reference},
                   {"what", r.what},
                   {"at", FormatInstant(r.at)},
                   {"by", r.by},
                   {"policy_version", r.policy_version},
                   {"detail", DetailJson(r)},
                   {"open_review", r.open_review},
                   {"board_ruling", RulingJson(r.ruling)}});
  }
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> BoardReviewList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.governance().Reviews(c.principal->id));
  json out = json::array();
  for (const BoardReview& r : list) out.push_back(ReviewJson(r));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> BoardReviewOpen(ApiContext& c) {
  std::string subject = TextOf(c.body, "subject");
  int64_t subject_id = IntOf(c.body, "subject_id");
  std::string reason = TextOf(c.body, "reason");
  CARREL_ASSIGN_OR_RETURN(BoardReview r, c.library.governance().OpenReview(c.principal->id, subject,
                                                                           subject_id, reason));
  return JsonResponse(ReviewJson(r), 201);
}

StatusOr<ApiResponse> BoardReviewView(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(BoardReview r, c.library.governance().Review(c.principal->id, id));
  return JsonResponse(ReviewJson(r));
}

StatusOr<ApiResponse> BoardReviewComment(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string text = TextOf(c.body, "text");
  CARREL_ASSIGN_OR_RETURN(BoardReview r,
                          c.library.governance().AddComment(c.principal->id, id, text));
  return JsonResponse(ReviewJson(r), 201);
}

StatusOr<ApiResponse> BoardReviewRule(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(RulingOutcome outcome, ParseRulingOutcome(TextOf(c.body, "outcome")));
  std::string explanation = TextOf(c.body, "explanation");
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(BoardReview r, c.library.governance().Rule(c.principal->id, password, id,
                                                                     outcome, explanation));
  return JsonResponse(ReviewJson(r));
}

// ---- public report and patron notices -----------------------------------------------------

StatusOr<ApiResponse> TransparencyJson(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(TransparencyReport report, c.library.requests().Transparency());
  return JsonResponse(TransparencyReportJson(report));
}

StatusOr<ApiResponse> TransparencyPage(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(TransparencyReport report, c.library.requests().Transparency());
  return HtmlDocument(TransparencyHtml(TransparencyReportJson(report)));
}

StatusOr<ApiResponse> MyNotices(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.accounts().RequireChosenPin(c.principal->id, c.library.profile().min_pin_length));
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.requests().MyNotices(c.actor, c.principal->id));
  json out = json::array();
  for (const PatronNotice& n : list) {
    out.push_back({{"reference", n.reference},
                   {"sent_at", n.sent_at ? json(FormatInstant(*n.sent_at)) : json(nullptr)},
                   {"text", n.text}});
  }
  return ListPage(c, std::move(out));
}

}  // namespace carrel
