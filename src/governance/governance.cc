// The Board of Trustees' part of the policy: versions and amendments (§6), review of
// decisions (§5). docs/governance.md describes both.

#include "carrel/governance.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "carrel/encoding.h"
#include "util/enum_names.h"

namespace carrel {

namespace {

// The Board's fixed sets and their names, as stored and shown.
constexpr std::pair<BallotVote, std::string_view> kVoteNames[] = {
    {BallotVote::kFor, "for"},
    {BallotVote::kAgainst, "against"},
    {BallotVote::kAbstain, "abstain"}};
constexpr std::pair<ProposalState, std::string_view> kProposalStateNames[] = {
    {ProposalState::kOpen, "open"},
    {ProposalState::kAdopted, "adopted"},
    {ProposalState::kNotAdopted, "not_adopted"}};
constexpr std::pair<RulingOutcome, std::string_view> kRulingNames[] = {
    {RulingOutcome::kAffirm, "affirm"},
    {RulingOutcome::kReverse, "reverse"},
    {RulingOutcome::kComment, "comment"}};

}  // namespace

std::string_view BallotVoteName(BallotVote vote) { return NameOf(kVoteNames, vote); }
StatusOr<BallotVote> ParseBallotVote(std::string_view name) {
  return ValueNamed(kVoteNames, name, "vote");
}
std::string_view ProposalStateName(ProposalState state) {
  return NameOf(kProposalStateNames, state);
}
StatusOr<ProposalState> ParseProposalState(std::string_view name) {
  return ValueNamed(kProposalStateNames, name, "a proposal's state");
}
std::string_view RulingOutcomeName(RulingOutcome outcome) { return NameOf(kRulingNames, outcome); }
StatusOr<RulingOutcome> ParseRulingOutcome(std::string_view name) {
  return ValueNamed(kRulingNames, name, "outcome");
}

using json = nlohmann::json;

namespace {

constexpr char kReviewKey[] = "board/reviews";
constexpr size_t kMaxPolicyBytes = 256 * 1024;
constexpr size_t kMaxDiffCells = 4'000'000;

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Label(Transaction& tx, Date day, Status* status) {
  std::string base = FormatDate(day);
  for (int n = 1;; ++n) {
    std::string label = n == 1 ? base : base + "-" + std::to_string(n);
    auto taken = tx.QueryInt("SELECT count(*) FROM policy_versions WHERE label = ?", {label});
    if (!taken.ok()) {
      *status = taken.status();
      return "";
    }
    if (*taken == 0) return label;
  }
}

json VoteJson(const PolicyVote& v) {
  return {{"for", v.in_favour},
          {"against", v.against},
          {"abstain", v.abstaining},
          {"meeting_date", FormatDate(v.meeting_date)},
          {"majority_of_those_voting", v.majority_of_those_voting},
          {"closed_by", v.closed_by}};
}

std::vector<std::string> Usernames(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const json& name : list) {
    if (name.is_string()) out.push_back(name.get<std::string>());
  }
  return out;
}

// The vote column as recorded by CloseVote; "{}" (history from the profile) reads as none.
std::optional<PolicyVote> VoteFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("for")) return std::nullopt;
  PolicyVote v;
  v.in_favour = Usernames(j["for"]);
  v.against = Usernames(j.value("against", json::array()));
  v.abstaining = Usernames(j.value("abstain", json::array()));
  if (auto d = ParseDate(j.value("meeting_date", "")); d.ok()) v.meeting_date = *d;
  v.majority_of_those_voting = j.value("majority_of_those_voting", false);
  v.closed_by = j.value("closed_by", "");
  return v;
}

PolicyVersion VersionFromRow(const Row& row) {
  // id, label, event, effective_on, title, body, sha256, note, proposal_id, vote, recorded_at
  PolicyVersion v;
  v.id = row.Int(0);
  v.label = row.Text(1);
  if (auto e = Stored(ParsePolicyEvent(row.Text(2))); e.ok()) v.event = *e;
  if (auto d = ParseDate(row.Text(3)); d.ok()) v.effective_on = *d;
  v.title = row.Text(4);
  if (!row.IsNull(5)) v.text = row.Text(5);
  v.sha256 = row.Text(6);
  v.note = row.Text(7);
  v.proposal_id = row.Int(8);
  v.vote = VoteFromJson(row.Text(9));
  if (auto t = ParseInstant(row.Text(10)); t.ok()) v.recorded_at = *t;
  return v;
}

constexpr char kVersionColumns[] =
    "id, label, event, effective_on, title, body, sha256, note, proposal_id, vote, recorded_at";

StatusOr<std::vector<PolicyVersion>> ReadVersions(Transaction& tx, std::string_view where,
                                                  std::initializer_list<Value> params) {
  std::vector<PolicyVersion> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      std::string("SELECT ") + kVersionColumns + " FROM policy_versions " + std::string(where),
      params, [&](const Row& row) {
        out.push_back(VersionFromRow(row));
        return Status::Ok();
      }));
  return out;
}

}  // namespace

std::vector<DiffLine> DiffLines(std::string_view before, std::string_view after) {
  std::vector<std::string_view> a = SplitLines(before), b = SplitLines(after);
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  std::vector<DiffLine> out;
  for (size_t i = 0; i < head; ++i) out.push_back({' ', std::string(a[i])});
  size_t n = a.size() - head - tail, m = b.size() - head - tail;
  if (n * m > kMaxDiffCells) {
    // Too large to align line by line: everything between is replaced.
    for (size_t i = 0; i < n; ++i) out.push_back({'-', std::string(a[head + i])});
    for (size_t j = 0; j < m; ++j) out.push_back({'+', std::string(b[head + j])});
  } else {
    // lcs[i][j]: the longest common subsequence of a[head+i..] and b[head+j..].
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        at(i, j) = a[head + i] == b[head + j] ? at(i + 1, j + 1) + 1
                                              : std::max(at(i + 1, j), at(i, j + 1));
      }
    }
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] == b[head + j]) {
        out.push_back({' ', std::string(a[head + i])});
        ++i;
        ++j;
      } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
        out.push_back({'+', std::string(b[head + j])});
        ++j;
      } else {
        out.push_back({'-', std::string(a[head + i])});
        ++i;
      }
    }
  }
  for (size_t i = a.size() - tail; i < a.size(); ++i) out.push_back({' ', std::string(a[i])});
  return out;
}

Governance::Governance(const GovernanceDeps& deps, std::string library_id)
    : store_(deps.store),
      vault_(deps.vault),
      audit_(deps.audit),
      accounts_(deps.accounts),
      profile_(deps.profile),
      clock_(deps.clock),
      library_id_(std::move(library_id)),
      review_sources_(deps.review_sources) {}

StatusOr<ReviewSource*> Governance::SourceOf(std::string_view subject) const {
  for (ReviewSource* source : review_sources_) {
    if (source->Holds(subject)) return source;
  }
  return InvalidArgument("subject must be decision, decline, retention_schedule or appointment");
}

Status Governance::Load() {
  std::string in_force;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t count, tx.QueryInt("SELECT count(*) FROM policy_versions"));
    if (count == 0) {
      // The profile's history: the document on file is the newest version's text, and a
      // re-endorsement left the text it re-endorsed unchanged, so that version has it too.
      const auto& history = profile_->policy_history;
      std::vector<std::optional<std::string>> texts(history.size());
      if (!history.empty()) texts.back() = profile_->policy_text;
      for (size_t i = history.size(); i-- > 1;) {
        if (history[i].event == PolicyEventKind::kReEndorsed && texts[i]) texts[i - 1] = texts[i];
      }
      std::string now = FormatInstant(clock_->Now());
      // Labels are the events' dates, the newest the profile's version label; two events on
      // one day get "-2", "-3".
      std::vector<std::string> labels(history.size());
      std::set<std::string> taken;
      if (!history.empty()) {
        labels.back() = profile_->policy_version;
        taken.insert(labels.back());
      }
      for (size_t i = 0; i + 1 < history.size(); ++i) {
        std::string base = FormatDate(history[i].date);
        labels[i] = base;
        for (int n = 2; taken.count(labels[i]) > 0; ++n) labels[i] = base + "-" + std::to_string(n);
        taken.insert(labels[i]);
      }
      for (size_t i = 0; i < history.size(); ++i) {
        const PolicyEvent& e = history[i];
        const std::string& label = labels[i];
        std::string note = e.note;
        if (!texts[i]) {
          note += std::string(note.empty() ? "" : " ") +
                  "(The library holds no copy of this version's text.)";
        }
        Value body = texts[i] ? Value(*texts[i]) : Value(std::monostate{});
        CARREL_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO policy_versions (label, event, effective_on, title, body, sha256, note, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            {label, std::string(PolicyEventName(e.event)), FormatDate(e.date),
             profile_->policy_title, body, texts[i] ? Sha256Hex(*texts[i]) : std::string(), note,
             now}));
      }
      if (history.empty()) {
        CARREL_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO policy_versions (label, event, effective_on, title, body, sha256, "
                    "recorded_at) VALUES (?, 'adopted', ?, ?, ?, ?, ?)",
                    {profile_->policy_version, FormatDate(Date{}), profile_->policy_title,
                     profile_->policy_text, Sha256Hex(profile_->policy_text), now}));
      }
    }
    CARREL_ASSIGN_OR_RETURN(in_force, VersionInForce(tx));
    return Status::Ok();
  }));
  audit_->set_policy_version(in_force);
  return Status::Ok();
}

StatusOr<std::string> Governance::VersionInForce(Transaction& tx) {
  std::string label;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT label FROM policy_versions ORDER BY id DESC LIMIT 1", {},
                                 [&](const Row& row) {
                                   label = row.Text(0);
                                   return Status::Ok();
                                 }));
  if (label.empty()) return FailedPrecondition("the library has no policy version on record");
  return label;
}

StatusOr<PolicyVersion> Governance::InForceAt(Transaction& tx, Instant t) {
  CARREL_ASSIGN_OR_RETURN(
      std::vector<PolicyVersion> v,
      ReadVersions(tx, "WHERE recorded_at <= ? ORDER BY id DESC LIMIT 1", {FormatInstant(t)}));
  if (v.empty()) {
    // Before any version was recorded here (a library that kept its policy in the profile
    // only): the profile's version in force, the newest the Board did not adopt in carrel.
    CARREL_ASSIGN_OR_RETURN(v,
                            ReadVersions(tx, "WHERE proposal_id = 0 ORDER BY id DESC LIMIT 1", {}));
  }
  if (v.empty()) return FailedPrecondition("the library has no policy version on record");
  return std::move(v.front());
}

StatusOr<PolicyVersion> Governance::Current() {
  std::vector<PolicyVersion> v;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(v, ReadVersions(tx, "ORDER BY id DESC LIMIT 1", {}));
    return Status::Ok();
  }));
  if (v.empty()) return FailedPrecondition("the library has no policy version on record");
  return std::move(v.front());
}

StatusOr<std::vector<PolicyVersion>> Governance::History() {
  std::vector<PolicyVersion> v;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(v, ReadVersions(tx, "ORDER BY id", {}));
    return Status::Ok();
  }));
  return v;
}

StatusOr<PolicyVersion> Governance::Version(std::string_view label) {
  std::vector<PolicyVersion> v;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(v, ReadVersions(tx, "WHERE label = ?", {std::string(label)}));
    return Status::Ok();
  }));
  if (v.empty()) return NotFound("no policy version with that label");
  return std::move(v.front());
}

StatusOr<std::vector<DiffLine>> Governance::Changes(std::string_view label) {
  std::vector<PolicyVersion> v;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        v, ReadVersions(tx,
                        "WHERE id <= (SELECT id FROM policy_versions WHERE label = ?) "
                        "ORDER BY id DESC LIMIT 2",
                        {std::string(label)}));
    return Status::Ok();
  }));
  if (v.empty() || v.front().label != label) return NotFound("no policy version with that label");
  if (v.size() == 1) {
    if (!v[0].text) return FailedPrecondition("the library holds no copy of that version's text");
    return DiffLines("", *v[0].text);
  }
  if (!v[0].text || !v[1].text) {
    return FailedPrecondition("the library holds no copy of the text of " +
                              (v[0].text ? v[1].label : v[0].label) + ": no comparison");
  }
  return DiffLines(*v[1].text, *v[0].text);
}

// ---- proposals and votes ------------------------------------------------------------------

StatusOr<User> Governance::Member(int64_t user_id, std::string_view refusal) {
  return accounts_->ActiveInRole(user_id, Role::kBoard, refusal);
}

StatusOr<PolicyProposal> Governance::ReadProposal(Transaction& tx, int64_t id) {
  std::optional<PolicyProposal> p;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, event, title, body, summary, proposed_by, proposed_at, base_version, state, "
      "meeting_date, closed_at, version_label FROM policy_proposals WHERE id = ?",
      {id}, [&](const Row& row) -> Status {
        PolicyProposal q;
        q.id = row.Int(0);
        CARREL_ASSIGN_OR_RETURN(q.event, Stored(ParsePolicyEvent(row.Text(1))));
        q.title = row.Text(2);
        q.text = row.Text(3);
        q.summary = row.Text(4);
        q.proposed_by = row.Int(5);
        CARREL_ASSIGN_OR_RETURN(q.proposed_at, ParseInstant(row.Text(6)));
        q.base_version_id = row.Int(7);
        CARREL_ASSIGN_OR_RETURN(q.state, Stored(ParseProposalState(row.Text(8))));
        if (!row.IsNull(9)) {
          CARREL_ASSIGN_OR_RETURN(Date d, ParseDate(row.Text(9)));
          q.meeting_date = d;
        }
        if (!row.IsNull(10)) {
          CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(row.Text(10)));
          q.closed_at = t;
        }
        q.version_label = row.Text(11);
        p = std::move(q);
        return Status::Ok();
      }));
  if (!p) return NotFound("no proposal with that number");
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT b.member_id, b.vote, b.cast_at, b.statement, b.signature FROM policy_ballots b "
      "WHERE b.proposal_id = ? ORDER BY b.cast_at, b.member_id",
      {id}, [&](const Row& row) -> Status {
        BoardBallot b;
        b.member_id = row.Int(0);
        CARREL_ASSIGN_OR_RETURN(b.vote, Stored(ParseBallotVote(row.Text(1))));
        CARREL_ASSIGN_OR_RETURN(b.cast_at, ParseInstant(row.Text(2)));
        b.statement = row.Text(3);
        b.signature = row.Bytes(4);
        p->ballots.push_back(std::move(b));
        return Status::Ok();
      }));
  for (BoardBallot& b : p->ballots) {
    CARREL_ASSIGN_OR_RETURN(b.member, Accounts::UsernameIn(tx, b.member_id));
  }
  return std::move(*p);
}

StatusOr<PolicyProposal> Governance::Propose(int64_t member_id, PolicyEventKind event,
                                             std::string_view title, std::string_view text,
                                             std::string_view summary) {
  CARREL_RETURN_IF_ERROR(Member(member_id,
                                "only a member of the Board of Trustees proposes an "
                                "amendment of the policy")
                             .status());
  if (event == PolicyEventKind::kAdopted) {
    return InvalidArgument("event must be amended or re-endorsed");
  }
  if (title.empty() || title.size() > 300) return InvalidArgument("title must be 1-300 characters");
  if (text.empty() || text.size() > kMaxPolicyBytes) {
    return InvalidArgument("the policy text must be 1 byte to 256 KiB");
  }
  if (summary.empty() || summary.size() > 4000) {
    return InvalidArgument("summary (what the proposal changes) must be 1-4000 characters");
  }
  int64_t id = 0;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::vector<PolicyVersion> current;
    CARREL_ASSIGN_OR_RETURN(current, ReadVersions(tx, "ORDER BY id DESC LIMIT 1", {}));
    if (current.empty()) return FailedPrecondition("the library has no policy version on record");
    const PolicyVersion& base = current.front();
    if (event == PolicyEventKind::kReEndorsed && (!base.text || *base.text != text)) {
      return InvalidArgument("a re-endorsement keeps the text in force unchanged");
    }
    if (event == PolicyEventKind::kAmended && base.text && *base.text == text &&
        base.title == title) {
      return InvalidArgument("the amendment changes nothing: propose a re-endorsement instead");
    }
    CARREL_ASSIGN_OR_RETURN(id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM policy_proposals"));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO policy_proposals (id, event, title, body, summary, proposed_by, "
                "proposed_at, base_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {id, std::string(PolicyEventName(event)), std::string(title), std::string(text),
                 std::string(summary), member_id, FormatInstant(clock_->Now()), base.id}));
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"policy.propose", "policy_proposal", std::to_string(id), "",
                  json{{"event", PolicyEventName(event)},
                       {"base", base.label},
                       {"sha256", Sha256Hex(text)}}
                      .dump()})
        .status();
  }));
  return Proposal(member_id, id);
}

StatusOr<PolicyProposal> Governance::Vote(int64_t member_id, std::string_view password,
                                          int64_t proposal, BallotVote vote) {
  CARREL_ASSIGN_OR_RETURN(User member, Member(member_id,
                                              "only a member of the Board of Trustees votes "
                                              "on the policy"));
  std::optional<PolicyProposal> p;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(p, ReadProposal(tx, proposal));
    return Status::Ok();
  }));
  if (p->state != ProposalState::kOpen) {
    return FailedPrecondition("the vote on this proposal is closed");
  }
  std::string at = FormatInstant(clock_->Now());
  std::string statement = json{
      {"type", "carrel policy ballot"},
      {"library", library_id_},
      {"proposal", proposal},
      {"text_sha256", Sha256Hex(p->text)},
      {"title", p->title},
      {"member", member_id},
      {"vote", BallotVoteName(vote)},
      {"at", at}}.dump();
  CARREL_ASSIGN_OR_RETURN(std::string signature,
                          accounts_->Sign(member_id, password, SignedPurpose::kBallot, statement));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(std::string state, [&]() -> StatusOr<std::string> {
      std::string s;
      CARREL_RETURN_IF_ERROR(tx.Exec("SELECT state FROM policy_proposals WHERE id = ?", {proposal},
                                     [&](const Row& row) {
                                       s = row.Text(0);
                                       return Status::Ok();
                                     }));
      return s;
    }());
    if (state != ProposalStateName(ProposalState::kOpen))
      return FailedPrecondition("the vote on this proposal is closed");
    Status s = tx.Exec(
        "INSERT INTO policy_ballots (proposal_id, member_id, vote, cast_at, statement, "
        "public_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {proposal, member_id, std::string(BallotVoteName(vote)), at, statement,
         Blob{member.signing_public_key}, Blob{signature}});
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("you have already voted on this proposal; a ballot is not changed");
    }
    CARREL_RETURN_IF_ERROR(s);
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"policy.vote", "policy_proposal", std::to_string(proposal), "",
                  json{{"vote", BallotVoteName(vote)}}.dump()})
        .status();
  }));
  return Proposal(member_id, proposal);
}

namespace {

// Every ballot counted was cast on exactly the proposal's text, by a member's own key.
Status VerifyBallots(Accounts& accounts, const PolicyProposal& p) {
  for (const BoardBallot& b : p.ballots) {
    json ballot = json::parse(b.statement, nullptr, false);
    auto voter = accounts.GetUser(b.member_id);
    if (!ballot.is_object() || ballot.value("text_sha256", "") != Sha256Hex(p.text) ||
        ballot.value("vote", "") != BallotVoteName(b.vote) || !voter.ok() ||
        !Accounts::VerifySignature(voter->signing_public_key, SignedPurpose::kBallot, b.statement,
                                   b.signature)) {
      return DataLoss("a ballot on this proposal does not verify: the vote cannot be closed");
    }
  }
  return Status::Ok();
}

// Who voted how, and the outcome: a majority of those voting (abstentions are not votes cast
// either way).
PolicyVote Tally(const PolicyProposal& p, Date meeting_date, const std::string& closed_by) {
  PolicyVote tally;
  for (const BoardBallot& b : p.ballots) {
    switch (b.vote) {
      case BallotVote::kFor:
        tally.in_favour.push_back(b.member);
        break;
      case BallotVote::kAgainst:
        tally.against.push_back(b.member);
        break;
      case BallotVote::kAbstain:
        tally.abstaining.push_back(b.member);
        break;
    }
  }
  tally.meeting_date = meeting_date;
  tally.majority_of_those_voting = tally.in_favour.size() > tally.against.size();
  tally.closed_by = closed_by;
  return tally;
}

// What the member closing the vote signs: the proposal's text by its digest, the tally, the
// outcome and the version it replaces.
std::string VoteStatement(const std::string& library_id, const PolicyProposal& p,
                          const std::string& replaces, const PolicyVote& tally,
                          const std::string& at) {
  const bool adopted = tally.majority_of_those_voting;
  return json{{"type", "carrel policy vote"},
              {"library", library_id},
              {"proposal", p.id},
              {"event", PolicyEventName(p.event)},
              {"title", p.title},
              {"replaces", replaces},
              {"text_sha256", Sha256Hex(p.text)},
              {"tally", VoteJson(tally)},
              {"outcome", adopted ? "adopted" : "not_adopted"},
              {"at", at}}
      .dump();
}

// What holds before a member signs the close of a vote: the vote open, ballots cast and each
// verifying, the proposal made on the version still in force, the meeting dated between that
// version and today.
Status CheckClosable(Accounts& accounts, const PolicyProposal& p,
                     const std::vector<PolicyVersion>& base, Date meeting_date, Date today) {
  if (p.state != ProposalState::kOpen) {
    return FailedPrecondition("the vote on this proposal is closed");
  }
  if (p.ballots.empty()) return FailedPrecondition("no member has voted on this proposal");
  CARREL_RETURN_IF_ERROR(VerifyBallots(accounts, p));
  if (base.empty() || base.front().id != p.base_version_id) {
    return FailedPrecondition(
        "the policy was amended after this proposal was made: propose "
        "again on the text now in force");
  }
  if (meeting_date < base.front().effective_on || meeting_date > today) {
    return InvalidArgument(
        "the date of the vote must lie between the version in force and "
        "today");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<PolicyProposal> Governance::CloseVote(int64_t member_id, std::string_view password,
                                               int64_t proposal, Date meeting_date) {
  CARREL_ASSIGN_OR_RETURN(User member, Member(member_id,
                                              "only a member of the Board of Trustees "
                                              "records the outcome of a vote"));
  std::optional<PolicyProposal> p;
  std::vector<PolicyVersion> base;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(p, ReadProposal(tx, proposal));
    CARREL_ASSIGN_OR_RETURN(base, ReadVersions(tx, "ORDER BY id DESC LIMIT 1", {}));
    return Status::Ok();
  }));
  CARREL_RETURN_IF_ERROR(CheckClosable(*accounts_, *p, base, meeting_date,
                                       std::chrono::floor<std::chrono::days>(clock_->Now())));
  PolicyVote tally = Tally(*p, meeting_date, member.username);
  const bool adopted = tally.majority_of_those_voting;
  const size_t yes = tally.in_favour.size(), no = tally.against.size();
  std::string at = FormatInstant(clock_->Now());
  std::string statement = VoteStatement(library_id_, *p, base.front().label, tally, at);
  CARREL_ASSIGN_OR_RETURN(
      std::string signature,
      accounts_->Sign(member_id, password, SignedPurpose::kBallotClose, statement));
  std::string label;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(std::string in_force, VersionInForce(tx));
    CARREL_ASSIGN_OR_RETURN(int64_t current, tx.QueryInt("SELECT max(id) FROM policy_versions"));
    if (current != p->base_version_id) {
      return FailedPrecondition("the policy was amended after this proposal was made: propose "
                                "again on the text now in force");
    }
    // The tally signed is the tally recorded: a ballot cast meanwhile means closing again.
    CARREL_ASSIGN_OR_RETURN(int64_t ballots,
                            tx.QueryInt("SELECT count(*) FROM policy_ballots WHERE "
                                        "proposal_id = ?",
                                        {proposal}));
    if (ballots != static_cast<int64_t>(p->ballots.size())) {
      return FailedPrecondition("a ballot was cast while the vote was being closed: close it "
                                "again");
    }
    if (adopted) {
      Status st;
      label = Label(tx, meeting_date, &st);
      CARREL_RETURN_IF_ERROR(st);
      CARREL_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO policy_versions (label, event, effective_on, title, body, sha256, note, "
          "proposal_id, vote, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {label, std::string(PolicyEventName(p->event)), FormatDate(meeting_date), p->title,
           p->text, Sha256Hex(p->text), p->summary, proposal, VoteJson(tally).dump(), at}));
    }
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE policy_proposals SET state = ?, meeting_date = ?, closed_at = ?, closed_by = ?, "
        "closing = ?, closing_public_key = ?, closing_signature = ?, version_label = ? WHERE "
        "id = ? AND state = 'open'",
        {std::string(
             ProposalStateName(adopted ? ProposalState::kAdopted : ProposalState::kNotAdopted)),
         FormatDate(meeting_date), at, member_id, statement, Blob{member.signing_public_key},
         Blob{signature}, label, proposal}));
    if (tx.changes() == 0) return FailedPrecondition("the vote on this proposal is closed");
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {adopted ? "policy.adopt" : "policy.not_adopted", "policy_proposal",
                  std::to_string(proposal), "",
                  json{{"for", yes},
                       {"against", no},
                       {"abstain", tally.abstaining.size()},
                       {"version", label},
                       {"replaces", in_force}}
                      .dump()})
        .status();
  }));
  // The new version is in force at once: every entry and decision from now on records it.
  if (adopted) audit_->set_policy_version(label);
  return Proposal(member_id, proposal);
}

StatusOr<std::vector<PolicyProposal>> Governance::Proposals(int64_t user_id) {
  CARREL_RETURN_IF_ERROR(Member(user_id, "proposals are the Board's").status());
  std::vector<PolicyProposal> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    std::vector<int64_t> ids;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id FROM policy_proposals ORDER BY id", {}, [&](const Row& row) {
          ids.push_back(row.Int(0));
          return Status::Ok();
        }));
    for (int64_t id : ids) {
      CARREL_ASSIGN_OR_RETURN(PolicyProposal p, ReadProposal(tx, id));
      out.push_back(std::move(p));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<PolicyProposal> Governance::Proposal(int64_t user_id, int64_t proposal) {
  CARREL_RETURN_IF_ERROR(Member(user_id, "proposals are the Board's").status());
  std::optional<PolicyProposal> p;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(p, ReadProposal(tx, proposal));
    return Status::Ok();
  }));
  return std::move(*p);
}

// ---- review of decisions ------------------------------------------------------------------

StatusOr<std::optional<BoardRuling>> Governance::RulingOn(Transaction& tx, std::string_view subject,
                                                          int64_t subject_id) {
  std::optional<BoardRuling> ruling;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, outcome, decided_at FROM board_reviews WHERE subject = ? AND subject_id = ? "
      "AND outcome IN ('affirm', 'reverse') ORDER BY id DESC LIMIT 1",
      {std::string(subject), subject_id}, [&](const Row& row) -> Status {
        BoardRuling r;
        r.review_id = row.Int(0);
        CARREL_ASSIGN_OR_RETURN(r.outcome, Stored(ParseRulingOutcome(row.Text(1))));
        CARREL_ASSIGN_OR_RETURN(r.decided_at, ParseInstant(row.Text(2)));
        ruling = r;
        return Status::Ok();
      }));
  return ruling;
}

StatusOr<std::vector<int64_t>> Governance::ReversedIn(Transaction& tx, std::string_view subject,
                                                      std::optional<Instant> by) {
  std::vector<int64_t> ids;
  auto add = [&](const Row& row) {
    ids.push_back(row.Int(0));
    return Status::Ok();
  };
  const char* sql =
      "SELECT subject_id FROM board_reviews WHERE subject = ? AND outcome = 'reverse'";
  if (by) {
    CARREL_RETURN_IF_ERROR(tx.Exec(std::string(sql) + " AND decided_at <= ? ORDER BY subject_id",
                                   {std::string(subject), FormatInstant(*by)}, add));
  } else {
    CARREL_RETURN_IF_ERROR(
        tx.Exec(std::string(sql) + " ORDER BY subject_id", {std::string(subject)}, add));
  }
  return ids;
}

StatusOr<std::vector<Governance::OpenReviewRef>> Governance::OpenReviewsIn(Transaction& tx) {
  std::vector<OpenReviewRef> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, case_reference, opened_at FROM board_reviews WHERE outcome = '' ORDER BY id", {},
      [&](const Row& row) {
        out.push_back({row.Int(0), row.Text(1), row.Text(2)});
        return Status::Ok();
      }));
  return out;
}

StatusOr<std::vector<Governance::OpenVote>> Governance::OpenVotesIn(Transaction& tx,
                                                                    int64_t member_id) {
  std::vector<OpenVote> out;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT p.id, p.proposed_at, (SELECT count(*) FROM policy_ballots b WHERE "
              "b.proposal_id = p.id AND b.member_id = ?) FROM policy_proposals p WHERE p.state = "
              "'open' ORDER BY p.id",
              {member_id}, [&](const Row& row) {
                out.push_back({row.Int(0), row.Text(1), row.Int(2) != 0});
                return Status::Ok();
              }));
  return out;
}

Status Governance::CheckNotReversed(Transaction& tx, std::string_view subject,
                                    int64_t subject_id) {
  CARREL_ASSIGN_OR_RETURN(std::optional<BoardRuling> ruling, RulingOn(tx, subject, subject_id));
  if (ruling && ruling->outcome == RulingOutcome::kReverse) {
    return PermissionDenied("the Board of Trustees reversed this " + std::string(subject) +
                            " (review " + std::to_string(ruling->review_id) + ")");
  }
  return Status::Ok();
}

StatusOr<std::vector<Reviewable>> Governance::ReviewableItems(int64_t member_id) {
  CARREL_RETURN_IF_ERROR(
      Member(member_id, "only the Board of Trustees reviews decisions").status());
  std::vector<Reviewable> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    for (std::string_view subject : kReviewSubjects) {
      CARREL_ASSIGN_OR_RETURN(ReviewSource * source, SourceOf(subject));
      CARREL_RETURN_IF_ERROR(source->List(tx, subject, &out));
    }
    for (Reviewable& r : out) {
      if (r.subject == "decline" || r.subject == "retention_schedule") {
        // Signed or taken under the version in force then.
        CARREL_ASSIGN_OR_RETURN(PolicyVersion then, InForceAt(tx, r.at));
        r.policy_version = then.label;
      }
      CARREL_ASSIGN_OR_RETURN(r.ruling, RulingOn(tx, r.subject, r.subject_id));
      CARREL_RETURN_IF_ERROR(tx.Exec(
          "SELECT id FROM board_reviews WHERE subject = ? AND subject_id = ? AND outcome = ''",
          {r.subject, r.subject_id}, [&](const Row& row) {
            r.open_review = row.Int(0);
            return Status::Ok();
          }));
    }
    return Status::Ok();
  }));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) {
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"board.decisions", "library", std::to_string(out.size()), "", "{}"})
        .status();
  }));
  return out;
}

StatusOr<BoardReview> Governance::OpenReview(int64_t member_id, std::string_view subject,
                                             int64_t subject_id, std::string_view reason) {
  CARREL_RETURN_IF_ERROR(
      Member(member_id, "only the Board of Trustees reviews decisions").status());
  if (std::find(std::begin(kReviewSubjects), std::end(kReviewSubjects), subject) ==
      std::end(kReviewSubjects)) {
    return InvalidArgument("subject must be decision, decline, retention_schedule or appointment");
  }
  if (reason.size() > 8000) return InvalidArgument("the reason is longer than 8000 characters");
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(kReviewKey));
  int64_t id = 0;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(ReviewSource * source, SourceOf(subject));
    CARREL_ASSIGN_OR_RETURN(std::optional<std::string> found,
                            source->Find(tx, subject, subject_id));
    if (!found) return NotFound("nothing of that kind with that number to review");
    const std::string& reference = *found;
    CARREL_ASSIGN_OR_RETURN(auto ruling, RulingOn(tx, subject, subject_id));
    if (ruling) {
      return FailedPrecondition("the Board has already ruled on this (review " +
                                std::to_string(ruling->review_id) + "): its ruling is final");
    }
    CARREL_ASSIGN_OR_RETURN(int64_t open,
                            tx.QueryInt("SELECT count(*) FROM board_reviews WHERE subject = ? AND "
                                        "subject_id = ? AND outcome = ''",
                                        {std::string(subject), subject_id}));
    if (open > 0) return AlreadyExists("a review of this is already open");
    CARREL_ASSIGN_OR_RETURN(id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM board_reviews"));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO board_reviews (id, subject, subject_id, case_reference, opened_by, "
        "opened_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {id, std::string(subject), subject_id, reference, member_id, FormatInstant(clock_->Now()),
         Blob{Vault::Seal(*key, "board_reviews", "reason", id, reason)}}));
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"board.review.open", "board_review", std::to_string(id), reference,
                  json{{"subject", subject}, {"subject_id", subject_id}}.dump()})
        .status();
  }));
  return LoadReview(id);
}

StatusOr<BoardReview> Governance::AddComment(int64_t member_id, int64_t review,
                                             std::string_view text) {
  CARREL_RETURN_IF_ERROR(
      Member(member_id, "only the Board of Trustees comments on a review").status());
  if (text.empty() || text.size() > 8000) {
    return InvalidArgument("a comment must be 1-8000 characters");
  }
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(kReviewKey));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(BoardReview r, ReadReview(tx, review, false));
    if (r.outcome) return FailedPrecondition("the review is closed: its ruling is final");
    CARREL_ASSIGN_OR_RETURN(int64_t id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM review_comments"));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO review_comments (id, review_id, author_id, at, body) VALUES (?, ?, ?, ?, ?)",
        {id, review, member_id, FormatInstant(clock_->Now()),
         Blob{Vault::Seal(*key, "review_comments", "body", id, text)}}));
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"board.review.comment", "board_review", std::to_string(review),
                  r.case_reference, json{{"comment", id}}.dump()})
        .status();
  }));
  return LoadReview(review);
}

StatusOr<BoardReview> Governance::Rule(int64_t member_id, std::string_view password, int64_t review,
                                       RulingOutcome outcome, std::string_view explanation) {
  CARREL_ASSIGN_OR_RETURN(User member,
                          Member(member_id, "only the Board of Trustees rules on a review"));
  if (explanation.empty() || explanation.size() > 8000) {
    return InvalidArgument("the ruling needs an explanation of 1-8000 characters");
  }
  std::optional<BoardReview> r;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(r, ReadReview(tx, review, false));
    return Status::Ok();
  }));
  if (r->outcome) return FailedPrecondition("the review is closed: its ruling is final");
  std::string at = FormatInstant(clock_->Now());
  std::string statement = json{
      {"type", "carrel board ruling"},
      {"library", library_id_},
      {"review", review},
      {"subject", r->subject},
      {"subject_id", r->subject_id},
      {"case", r->case_reference},
      {"outcome", RulingOutcomeName(outcome)},
      {"explanation_sha256", Sha256Hex(explanation)},
      {"member", member_id},
      {"at", at}}.dump();
  CARREL_ASSIGN_OR_RETURN(std::string signature,
                          accounts_->Sign(member_id, password, SignedPurpose::kRuling, statement));
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(kReviewKey));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE board_reviews SET outcome = ?, explanation = ?, statement = ?, public_key = ?, "
        "signature = ?, decided_by = ?, decided_at = ? WHERE id = ? AND outcome = ''",
        {std::string(RulingOutcomeName(outcome)),
         Blob{Vault::Seal(*key, "board_reviews", "explanation", review, explanation)}, statement,
         Blob{member.signing_public_key}, Blob{signature}, member_id, at, review}));
    if (tx.changes() == 0) return FailedPrecondition("the review is closed: its ruling is final");
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"board.review.rule", "board_review", std::to_string(review), r->case_reference,
                  json{{"subject", r->subject},
                       {"subject_id", r->subject_id},
                       {"outcome", RulingOutcomeName(outcome)}}
                      .dump()})
        .status();
  }));
  return LoadReview(review);
}

StatusOr<BoardReview> Governance::ReadReview(Transaction& tx, int64_t id, bool with_comments) {
  std::optional<BoardReview> out;
  std::string reason, explanation;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, subject, subject_id, case_reference, opened_by, opened_at, reason, outcome, "
      "explanation, statement, signature, decided_by, decided_at FROM board_reviews WHERE id = ?",
      {id}, [&](const Row& row) -> Status {
        BoardReview r;
        r.id = row.Int(0);
        r.subject = row.Text(1);
        r.subject_id = row.Int(2);
        r.case_reference = row.Text(3);
        r.opened_by = row.Int(4);
        CARREL_ASSIGN_OR_RETURN(r.opened_at, ParseInstant(row.Text(5)));
        reason = row.Bytes(6);
        if (!row.Text(7).empty()) {
          CARREL_ASSIGN_OR_RETURN(r.outcome, Stored(ParseRulingOutcome(row.Text(7))));
        }
        explanation = row.Bytes(8);
        r.statement = row.Text(9);
        r.signature = row.Bytes(10);
        r.decided_by = row.Int(11);
        if (!row.IsNull(12)) {
          CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(row.Text(12)));
          r.decided_at = t;
        }
        out = std::move(r);
        return Status::Ok();
      }));
  if (!out) return NotFound("no review with that number");
  if (!with_comments) return std::move(*out);
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(kReviewKey));
  CARREL_ASSIGN_OR_RETURN(out->reason, Vault::Open(*key, "board_reviews", "reason", id, reason));
  if (!explanation.empty()) {
    CARREL_ASSIGN_OR_RETURN(out->explanation,
                            Vault::Open(*key, "board_reviews", "explanation", id, explanation));
  }
  std::vector<std::pair<ReviewComment, std::string>> sealed;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT c.id, c.author_id, c.at, c.body FROM review_comments c WHERE c.review_id = ? "
              "ORDER BY c.id",
              {id}, [&](const Row& row) -> Status {
                ReviewComment c;
                c.id = row.Int(0);
                c.author_id = row.Int(1);
                CARREL_ASSIGN_OR_RETURN(c.at, ParseInstant(row.Text(2)));
                sealed.emplace_back(std::move(c), row.Bytes(3));
                return Status::Ok();
              }));
  for (auto& [c, body] : sealed) {
    CARREL_ASSIGN_OR_RETURN(c.author, Accounts::UsernameIn(tx, c.author_id));
    CARREL_ASSIGN_OR_RETURN(c.text, Vault::Open(*key, "review_comments", "body", c.id, body));
    out->comments.push_back(std::move(c));
  }
  return std::move(*out);
}

StatusOr<std::vector<BoardReview>> Governance::Reviews(int64_t member_id) {
  CARREL_RETURN_IF_ERROR(Member(member_id, "reviews are the Board's").status());
  std::vector<BoardReview> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    std::vector<int64_t> ids;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id FROM board_reviews ORDER BY id", {}, [&](const Row& row) {
          ids.push_back(row.Int(0));
          return Status::Ok();
        }));
    for (int64_t id : ids) {
      CARREL_ASSIGN_OR_RETURN(BoardReview r, ReadReview(tx, id, false));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<BoardReview> Governance::LoadReview(int64_t review) {
  std::optional<BoardReview> r;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(r, ReadReview(tx, review, true));
    return Status::Ok();
  }));
  return std::move(*r);
}

StatusOr<BoardReview> Governance::Review(int64_t member_id, int64_t review) {
  CARREL_RETURN_IF_ERROR(Member(member_id, "reviews are the Board's").status());
  CARREL_ASSIGN_OR_RETURN(BoardReview r, LoadReview(review));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) {
    return audit_
        ->Append(tx, MemberActor(member_id),
                 {"board.review.view", "board_review", std::to_string(review), r.case_reference,
                  "{}"})
        .status();
  }));
  return r;
}

}  // namespace carrel
