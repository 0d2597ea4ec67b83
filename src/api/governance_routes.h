#pragma once

#include <cstddef>
#include <optional>

#include "api/context.h"

namespace carrel {

// The largest body a proposal may carry: a policy text of up to 256 KiB, escaped as JSON.
inline constexpr size_t kPolicyBodyBytes = 1024 * 1024;

// The Board's ruling on something, as every view of that thing shows it (null when none).
json RulingJson(const std::optional<BoardRuling>& ruling);

// The policy (public), its versions and what each changed.
StatusOr<ApiResponse> PolicyCurrent(ApiContext& c);
StatusOr<ApiResponse> PolicyVersions(ApiContext& c);
StatusOr<ApiResponse> PolicyVersionText(ApiContext& c);
StatusOr<ApiResponse> PolicyVersionChanges(ApiContext& c);
// Amendments: the Board's proposals, ballots and the closing of a vote.
StatusOr<ApiResponse> ProposalList(ApiContext& c);
StatusOr<ApiResponse> ProposalCreate(ApiContext& c);
StatusOr<ApiResponse> ProposalView(ApiContext& c);
StatusOr<ApiResponse> ProposalVote(ApiContext& c);
StatusOr<ApiResponse> ProposalClose(ApiContext& c);
// The Board's review of decisions.
StatusOr<ApiResponse> BoardDecisions(ApiContext& c);
StatusOr<ApiResponse> BoardReviewList(ApiContext& c);
StatusOr<ApiResponse> BoardReviewOpen(ApiContext& c);
StatusOr<ApiResponse> BoardReviewView(ApiContext& c);
StatusOr<ApiResponse> BoardReviewComment(ApiContext& c);
StatusOr<ApiResponse> BoardReviewRule(ApiContext& c);
// The public transparency report, as JSON and as a printable page.
StatusOr<ApiResponse> TransparencyJson(ApiContext& c);
StatusOr<ApiResponse> TransparencyPage(ApiContext& c);
// A patron's notices of releases of their records.
StatusOr<ApiResponse> MyNotices(ApiContext& c);

}  // namespace carrel
