#pragma once

#include <cstddef>

#include "api/context.h"

namespace carrel {

// The largest body a document upload may carry (base64 of a scan of about 9 MiB).
inline constexpr size_t kDocumentBodyBytes = 12 * 1024 * 1024;

StatusOr<ApiResponse> RequestIntake(ApiContext& c);
StatusOr<ApiResponse> RequestList(ApiContext& c);
StatusOr<ApiResponse> RequestView(ApiContext& c);
StatusOr<ApiResponse> RequestAcknowledge(ApiContext& c);
StatusOr<ApiResponse> RequestConsultCounsel(ApiContext& c);
StatusOr<ApiResponse> RequestDecline(ApiContext& c);
StatusOr<ApiResponse> RequestReferToCounsel(ApiContext& c);
StatusOr<ApiResponse> RequestAdvise(ApiContext& c);
StatusOr<ApiResponse> RequestDecide(ApiContext& c);
StatusOr<ApiResponse> RequestPrepareDisclosure(ApiContext& c);
StatusOr<ApiResponse> RequestDeliver(ApiContext& c);
StatusOr<ApiResponse> RequestReceipt(ApiContext& c);
StatusOr<ApiResponse> RequestMediaResponse(ApiContext& c);
StatusOr<ApiResponse> RequestWarrant(ApiContext& c);
StatusOr<ApiResponse> RequestClose(ApiContext& c);
StatusOr<ApiResponse> RequestNondisclosure(ApiContext& c);
StatusOr<ApiResponse> RequestAddDocument(ApiContext& c);
StatusOr<ApiResponse> RequestReadDocument(ApiContext& c);
StatusOr<ApiResponse> RequestLetter(ApiContext& c);
StatusOr<ApiResponse> RequestScopeCounts(ApiContext& c);
StatusOr<ApiResponse> RequestDisclosureFile(ApiContext& c);
StatusOr<ApiResponse> RequestSteps(ApiContext& c);
StatusOr<ApiResponse> InboxList(ApiContext& c);
StatusOr<ApiResponse> InboxRead(ApiContext& c);
StatusOr<ApiResponse> AppointmentList(ApiContext& c);
StatusOr<ApiResponse> AppointmentSign(ApiContext& c);
StatusOr<ApiResponse> AppointmentRevoke(ApiContext& c);
StatusOr<ApiResponse> AbsenceList(ApiContext& c);
StatusOr<ApiResponse> AbsenceRecord(ApiContext& c);
StatusOr<ApiResponse> MyPermissions(ApiContext& c);
StatusOr<ApiResponse> GrantMyPermission(ApiContext& c);
StatusOr<ApiResponse> RevokeMyPermission(ApiContext& c);
StatusOr<ApiResponse> RecordPaperPermission(ApiContext& c);
StatusOr<ApiResponse> PatronPermissions(ApiContext& c);
StatusOr<ApiResponse> PermissionScan(ApiContext& c);
StatusOr<ApiResponse> ConfirmPermission(ApiContext& c);

}  // namespace carrel
