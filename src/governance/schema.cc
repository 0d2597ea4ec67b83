#include "governance/schema.h"

namespace carrel {
namespace {

constexpr char kGovernanceSchema[] = R"sql(
-- Every version of the policy the library has adopted. The newest is in force. A version the
-- library has no copy of keeps body NULL.
CREATE TABLE policy_versions (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,
  event TEXT NOT NULL CHECK (event IN ('adopted', 'amended', 're-endorsed')),
  effective_on TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT,
  sha256 TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  proposal_id INTEGER NOT NULL DEFAULT 0,
  vote TEXT NOT NULL DEFAULT '{}',
  recorded_at TEXT NOT NULL
);
CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
  BEGIN SELECT RAISE(ABORT, 'a policy version is never edited: the Board adopts a new one'); END;
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
  BEGIN SELECT RAISE(ABORT, 'a policy version is never deleted'); END;

CREATE TABLE policy_proposals (
  id INTEGER PRIMARY KEY,
  event TEXT NOT NULL CHECK (event IN ('amended', 're-endorsed')),
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  summary TEXT NOT NULL,
  proposed_by INTEGER NOT NULL,
  proposed_at TEXT NOT NULL,
  base_version INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'adopted', 'not_adopted')),
  meeting_date TEXT,
  closed_at TEXT,
  closed_by INTEGER,
  closing TEXT,
  closing_public_key BLOB,
  closing_signature BLOB,
  version_label TEXT NOT NULL DEFAULT ''
);

-- One signed ballot per member per proposal.
CREATE TABLE policy_ballots (
  proposal_id INTEGER NOT NULL REFERENCES policy_proposals (id),
  member_id INTEGER NOT NULL,
  vote TEXT NOT NULL CHECK (vote IN ('for', 'against', 'abstain')),
  cast_at TEXT NOT NULL,
  statement TEXT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  PRIMARY KEY (proposal_id, member_id)
);
CREATE TRIGGER policy_ballots_no_update BEFORE UPDATE ON policy_ballots
  BEGIN SELECT RAISE(ABORT, 'a ballot is never changed'); END;

-- The Board's reviews. The reason, comments and explanation are sealed (they may speak of a
-- case); a ruling, once made, is final.
CREATE TABLE board_reviews (
  id INTEGER PRIMARY KEY,
  subject TEXT NOT NULL
    CHECK (subject IN ('decision', 'decline', 'retention_schedule', 'appointment')),
  subject_id INTEGER NOT NULL,
  case_reference TEXT NOT NULL DEFAULT '',
  opened_by INTEGER NOT NULL,
  opened_at TEXT NOT NULL,
  reason BLOB NOT NULL,
  outcome TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'affirm', 'reverse', 'comment')),
  explanation BLOB,
  statement TEXT,
  public_key BLOB,
  signature BLOB,
  decided_by INTEGER,
  decided_at TEXT
);
CREATE INDEX board_reviews_subject ON board_reviews (subject, subject_id);
CREATE TRIGGER board_reviews_final BEFORE UPDATE ON board_reviews WHEN OLD.outcome <> ''
  BEGIN SELECT RAISE(ABORT, 'a ruling of the Board is final'); END;
CREATE TRIGGER board_reviews_no_delete BEFORE DELETE ON board_reviews
  BEGIN SELECT RAISE(ABORT, 'a review is never deleted'); END;

CREATE TABLE review_comments (
  id INTEGER PRIMARY KEY,
  review_id INTEGER NOT NULL REFERENCES board_reviews (id),
  author_id INTEGER NOT NULL,
  at TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX review_comments_review ON review_comments (review_id, id);
)sql";

constexpr char kProposalsFixedSchema[] = R"sql(
-- What the Board votes on never changes under the ballots, and a closed vote stays closed.
CREATE TRIGGER policy_proposals_text_fixed BEFORE UPDATE OF event, title, body, summary,
  proposed_by, proposed_at, base_version ON policy_proposals
  BEGIN SELECT RAISE(ABORT, 'the text of a proposal is never changed: propose again'); END;
CREATE TRIGGER policy_proposals_closed_final BEFORE UPDATE ON policy_proposals
  WHEN OLD.state <> 'open'
  BEGIN SELECT RAISE(ABORT, 'a closed vote is final'); END;
CREATE TRIGGER policy_proposals_no_delete BEFORE DELETE ON policy_proposals
  BEGIN SELECT RAISE(ABORT, 'a proposal is never deleted'); END;
)sql";

}  // namespace

const std::vector<Migration>& GovernanceMigrations() {
  static const std::vector<Migration> migrations = {
      {9, "policy versions, amendments and Board reviews", kGovernanceSchema},
      {12, "proposals fixed under their ballots", kProposalsFixedSchema},
  };
  return migrations;
}

}  // namespace carrel
