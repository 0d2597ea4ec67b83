#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/accounts.h"
#include "carrel/audit.h"
#include "carrel/clock.h"
#include "carrel/profile.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// The Board of Trustees' part (policy §5 and §6, docs/design.md §8): the policy as versioned
// documents amended by the Board's vote, and the Board's review of every decision taken under the
// policy.

// The Board's recorded vote on an amendment it adopted here: who voted how (usernames), the
// meeting's date and who closed the vote. A majority of those voting adopts; abstentions are not
// votes cast either way.
struct PolicyVote {
  std::vector<std::string> in_favour, against, abstaining;
  Date meeting_date{};
  bool majority_of_those_voting = false;
  std::string closed_by;
};

// One version of the policy. Versions are never edited; the newest is the one in force.
struct PolicyVersion {
  int64_t id = 0;
  std::string label;  // "2010-09-15": the date it took effect (a suffix when two share a day)
  PolicyEventKind event = PolicyEventKind::kAdopted;
  Date effective_on{};
  std::string title;
  std::optional<std::string> text;  // nullopt: the library has no copy of this version's text
  std::string sha256;               // of the text, hex; "" without one
  std::string note;
  int64_t proposal_id = 0;          // the Board proposal adopted; 0 for history from the profile
  std::optional<PolicyVote> vote;   // for a version the Board adopted here
  Instant recorded_at{};
};

// One line of a readable diff: ' ' unchanged, '-' removed, '+' added.
struct DiffLine {
  char op = ' ';
  std::string text;
};
// A line diff (longest common subsequence) of two texts.
std::vector<DiffLine> DiffLines(std::string_view before, std::string_view after);

// A member's ballot, and where a proposal stands. Stored and shown by name.
enum class BallotVote : uint8_t { kFor, kAgainst, kAbstain };
std::string_view BallotVoteName(BallotVote vote);  // "for", "against", "abstain"
StatusOr<BallotVote> ParseBallotVote(std::string_view name);
enum class ProposalState : uint8_t { kOpen, kAdopted, kNotAdopted };
std::string_view ProposalStateName(ProposalState state);  // "open", "adopted", "not_adopted"
StatusOr<ProposalState> ParseProposalState(std::string_view name);

struct BoardBallot {
  int64_t member_id = 0;
  std::string member;  // username
  BallotVote vote = BallotVote::kAbstain;
  Instant cast_at{};
  std::string statement;  // the signed ballot
  std::string signature;
};

// An amendment (or re-endorsement) put to the Board.
struct PolicyProposal {
  int64_t id = 0;
  PolicyEventKind event = PolicyEventKind::kAmended;  // kAmended or kReEndorsed
  std::string title;
  std::string text;
  std::string summary;  // what it changes, in words
  int64_t proposed_by = 0;
  Instant proposed_at{};
  int64_t base_version_id = 0;  // the version in force when proposed
  ProposalState state = ProposalState::kOpen;
  std::optional<Date> meeting_date;
  std::optional<Instant> closed_at;
  std::string version_label;    // the version it became, once adopted
  std::vector<BoardBallot> ballots;
};

// What can be reviewed: a signed decision on a request (release, partial, refusal), a decline,
// a retention schedule version, a designee appointment.
inline constexpr std::string_view kReviewSubjects[] = {"decision", "decline", "retention_schedule",
                                                       "appointment"};

// How the Board rules on a review. Affirm and reverse are final words on the subject; a comment
// closes the review and leaves the subject as it was.
enum class RulingOutcome : uint8_t { kAffirm, kReverse, kComment };
std::string_view RulingOutcomeName(RulingOutcome outcome);  // "affirm", "reverse", "comment"
StatusOr<RulingOutcome> ParseRulingOutcome(std::string_view name);

// The Board's final word on a subject, shown wherever the subject is shown.
struct BoardRuling {
  int64_t review_id = 0;
  RulingOutcome outcome = RulingOutcome::kAffirm;  // kAffirm or kReverse
  Instant decided_at{};
};

struct ReviewComment {
  int64_t id = 0;
  int64_t author_id = 0;
  std::string author;  // username
  Instant at{};
  std::string text;  // sealed at rest
};

struct BoardReview {
  int64_t id = 0;
  std::string subject;
  int64_t subject_id = 0;
  std::string case_reference;  // for decisions and declines
  int64_t opened_by = 0;
  Instant opened_at{};
  std::string reason;  // sealed at rest
  std::optional<RulingOutcome> outcome;  // none while open
  std::string explanation;  // sealed at rest
  std::string statement;    // the signed ruling
  std::string signature;
  int64_t decided_by = 0;
  std::optional<Instant> decided_at;
  std::vector<ReviewComment> comments;
};

// What the Board is shown of a subject besides its kind, date and signer; which fields are set
// depends on the subject. No patron data.
struct ReviewDetail {
  int64_t appointment = 0;   // decisions and declines: the appointment a designee relied on, or 0
  std::string request_type;  // decisions and declines
  std::string process;       // decisions: the legal process presented
  std::string designee;      // appointments: the designee's username
  std::string valid_from, valid_to;       // appointments, as recorded
  std::optional<std::string> revoked_at;  // appointments
  std::string reason;                     // retention schedule versions: the reason signed
};

// One entry of what the Board can review, without patron data: a decision's scope is shown as
// counts.
struct Reviewable {
  std::string subject;
  int64_t subject_id = 0;
  std::string case_reference;
  std::string what;  // "release", "partial", "refuse", "decline", "retention schedule", ...
  Instant at{};
  int64_t by = 0;  // the user who signed or took it
  std::string policy_version;
  ReviewDetail detail;
  int64_t open_review = 0;
  std::optional<BoardRuling> ruling;  // the last final ruling
};

// Where the things the Board reviews are kept (decisions, declines and appointments in the
// request workflow, schedule versions in retention). The Board's module reads them through
// this interface alone, never through their tables.
class ReviewSource {
 public:
  virtual ~ReviewSource() = default;
  // Whether this source keeps `subject` (one of kReviewSubjects).
  virtual bool Holds(std::string_view subject) const = 0;
  // Every `subject` it keeps, read in `tx`, appended to `out`.
  virtual Status List(Transaction& tx, std::string_view subject, std::vector<Reviewable>* out) = 0;
  // The case reference of `subject` number `id` (empty when it has none); nullopt when there
  // is no such thing.
  virtual StatusOr<std::optional<std::string>> Find(Transaction& tx, std::string_view subject,
                                                    int64_t id) = 0;
};

// What Governance works with. None is owned; each must outlive it.
struct GovernanceDeps {
  Store* store = nullptr;
  Vault* vault = nullptr;
  AuditLog* audit = nullptr;
  Accounts* accounts = nullptr;
  const Profile* profile = nullptr;
  const Clock* clock = nullptr;
  std::vector<ReviewSource*> review_sources;  // together they keep every kReviewSubjects
};

class Governance {
 public:
  // Thread-safe.
  Governance(const GovernanceDeps& deps, std::string library_id);

  // Records the profile's policy history as the first versions when the library has none, and
  // sets the audit log's version in force to the newest.
  Status Load();

  // ---- the policy (§1, §6) ----
  StatusOr<PolicyVersion> Current();
  // The label of the version in force, read in `tx` (what a signed decision records).
  static StatusOr<std::string> VersionInForce(Transaction& tx);

  // Reads for other modules inside their own transaction (they never read the Board's tables).
  // The numbers of the `subject`s the Board reversed, by rulings given at or before `by` when
  // it is set.
  static StatusOr<std::vector<int64_t>> ReversedIn(Transaction& tx, std::string_view subject,
                                                   std::optional<Instant> by = std::nullopt);
  struct OpenReviewRef {
    int64_t id = 0;
    std::string case_reference;
    std::string opened_at;  // as recorded (FormatInstant)
  };
  // Reviews not yet ruled on, oldest first.
  static StatusOr<std::vector<OpenReviewRef>> OpenReviewsIn(Transaction& tx);
  struct OpenVote {
    int64_t proposal_id = 0;
    std::string proposed_at;  // as recorded (FormatInstant)
    bool voted = false;       // whether the member asked about has cast a ballot
  };
  // Proposals open for a vote, oldest first.
  static StatusOr<std::vector<OpenVote>> OpenVotesIn(Transaction& tx, int64_t member_id);
  // The version in force at `t` (the first on record when `t` precedes them all).
  static StatusOr<PolicyVersion> InForceAt(Transaction& tx, Instant t);
  StatusOr<std::vector<PolicyVersion>> History();
  StatusOr<PolicyVersion> Version(std::string_view label);
  // What `label` changed from the version before it. kFailedPrecondition when either text is
  // not on file.
  StatusOr<std::vector<DiffLine>> Changes(std::string_view label);

  // Board members only. A proposal is voted on by signed ballots (one per member, password
  // again), then closed by a member (signed): adopted when more of those voting are for than
  // against, the new version in force at once.
  StatusOr<PolicyProposal> Propose(int64_t member_id, PolicyEventKind event, std::string_view title,
                                   std::string_view text, std::string_view summary);
  StatusOr<PolicyProposal> Vote(int64_t member_id, std::string_view password, int64_t proposal,
                                BallotVote vote);
  StatusOr<PolicyProposal> CloseVote(int64_t member_id, std::string_view password,
                                     int64_t proposal, Date meeting_date);
  StatusOr<std::vector<PolicyProposal>> Proposals(int64_t user_id);
  StatusOr<PolicyProposal> Proposal(int64_t user_id, int64_t proposal);

  // ---- review of decisions (§5) ----
  StatusOr<std::vector<Reviewable>> ReviewableItems(int64_t member_id);
  StatusOr<BoardReview> OpenReview(int64_t member_id, std::string_view subject, int64_t subject_id,
                                   std::string_view reason);
  StatusOr<BoardReview> AddComment(int64_t member_id, int64_t review, std::string_view text);
  // Signed by the member (password again). Final: an affirmed or reversed subject is not
  // reviewed again.
  StatusOr<BoardReview> Rule(int64_t member_id, std::string_view password, int64_t review,
                             RulingOutcome outcome, std::string_view explanation);
  StatusOr<std::vector<BoardReview>> Reviews(int64_t member_id);
  StatusOr<BoardReview> Review(int64_t member_id, int64_t review);

  // The final ruling (affirm or reverse) on a subject, read in `tx`; nullopt when none.
  static StatusOr<std::optional<BoardRuling>> RulingOn(Transaction& tx, std::string_view subject,
                                                       int64_t subject_id);
  // kPermissionDenied, naming the review, when the Board reversed the subject; read in `tx`.
  static Status CheckNotReversed(Transaction& tx, std::string_view subject, int64_t subject_id);

 private:
  StatusOr<User> Member(int64_t user_id, std::string_view refusal);
  StatusOr<PolicyProposal> ReadProposal(Transaction& tx, int64_t id);
  StatusOr<BoardReview> ReadReview(Transaction& tx, int64_t id, bool with_comments);
  StatusOr<BoardReview> LoadReview(int64_t id);
  Actor MemberActor(int64_t id) const { return Actor{"user/" + std::to_string(id), "board"}; }

  Store* store_;
  Vault* vault_;
  AuditLog* audit_;
  Accounts* accounts_;
  const Profile* profile_;
  const Clock* clock_;
  std::string library_id_;
  std::vector<ReviewSource*> review_sources_;
  // The source that keeps `subject` (kInvalidArgument for none).
  StatusOr<ReviewSource*> SourceOf(std::string_view subject) const;
};

}  // namespace carrel
