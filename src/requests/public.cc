// The public face of the request workflow: each call goes to its implementation (impl.h), which
// keeps the step handlers and the case as loaded for a step out of include/carrel/requests.h.

#include <memory>
#include <string>
#include <utility>

#include "carrel/requests.h"
#include "requests/impl.h"

namespace carrel {

Requests::Requests(const RequestsDeps& deps, std::string library_id)
    : impl_(std::make_unique<Impl>(deps, std::move(library_id))) {}

Requests::~Requests() = default;

StatusOr<CaseActorInfo> Requests::ResolveActor(int64_t user_id) {
  return impl_->ResolveActor(user_id);
}

StatusOr<bool> Requests::IsActingDesignee(int64_t user_id) {
  return impl_->IsActingDesignee(user_id);
}

StatusOr<Appointment> Requests::Appoint(int64_t director_id, std::string_view password,
                                        int64_t designee_id, AppointmentScope scope, Instant from,
                                        Instant to) {
  return impl_->Appoint(director_id, password, designee_id, scope, from, to);
}

Status Requests::RevokeAppointment(int64_t director_id, std::string_view password, int64_t id) {
  return impl_->RevokeAppointment(director_id, password, id);
}

StatusOr<std::vector<Appointment>> Requests::Appointments(const Actor& actor) {
  return impl_->Appointments(actor);
}

StatusOr<Absence> Requests::RecordAbsence(int64_t director_id, Instant from, Instant to) {
  return impl_->RecordAbsence(director_id, from, to);
}

StatusOr<std::vector<Absence>> Requests::Absences(const Actor& actor) {
  return impl_->Absences(actor);
}

StatusOr<CaseSummary> Requests::Intake(int64_t user_id, const CaseIntake& intake) {
  return impl_->Intake(user_id, intake);
}

StatusOr<CaseSummary> Requests::Act(int64_t user_id, std::string_view reference,
                                    const StepArgs& args, std::string_view password) {
  return impl_->Act(user_id, reference, args, password);
}

StatusOr<std::vector<CaseSummary>> Requests::List(int64_t user_id) { return impl_->List(user_id); }

StatusOr<CaseFile> Requests::Get(int64_t user_id, std::string_view reference) {
  return impl_->Get(user_id, reference);
}

StatusOr<CaseDocument> Requests::AddDocument(int64_t user_id, std::string_view reference,
                                             std::string_view kind, std::string_view filename,
                                             std::string_view content) {
  return impl_->AddDocument(user_id, reference, kind, filename, content);
}

StatusOr<std::pair<CaseDocument, std::string>> Requests::ReadDocument(int64_t user_id,
                                                                      std::string_view reference,
                                                                      int64_t document_id) {
  return impl_->ReadDocument(user_id, reference, document_id);
}

StatusOr<ScopeCount> Requests::CountScope(int64_t user_id, std::string_view reference,
                                          const ScopeChoice& scope) {
  return impl_->CountScope(user_id, reference, scope);
}

StatusOr<std::string> Requests::DeclineLetter(int64_t user_id, std::string_view reference) {
  return impl_->DeclineLetter(user_id, reference);
}

StatusOr<std::string> Requests::DisclosureFile(int64_t user_id, std::string_view reference,
                                               std::string_view name) {
  return impl_->DisclosureFile(user_id, reference, name);
}

StatusOr<PatronPermission> Requests::GrantPermission(const Actor& actor, int64_t patron_id,
                                                     PatronPermission permission,
                                                     std::string_view scan) {
  return impl_->GrantPermission(actor, patron_id, std::move(permission), scan);
}

Status Requests::RevokePermission(const Actor& actor, int64_t patron_id, int64_t permission_id) {
  return impl_->RevokePermission(actor, patron_id, permission_id);
}

StatusOr<std::string> Requests::PermissionScan(int64_t user_id, int64_t permission_id) {
  return impl_->PermissionScan(user_id, permission_id);
}

Status Requests::ConfirmPermission(int64_t user_id, int64_t permission_id,
                                   std::string_view scan_sha256) {
  return impl_->ConfirmPermission(user_id, permission_id, scan_sha256);
}

StatusOr<std::vector<PatronPermission>> Requests::Permissions(const Actor& actor,
                                                              int64_t patron_id) {
  return impl_->Permissions(actor, patron_id);
}

StatusOr<std::vector<InboxItem>> Requests::Inbox(int64_t user_id) { return impl_->Inbox(user_id); }

StatusOr<std::vector<Deadline>> Requests::Deadlines(int64_t user_id) {
  return impl_->Deadlines(user_id);
}

StatusOr<int64_t> Requests::SendDueNotices() { return impl_->SendDueNotices(); }

StatusOr<TransparencyReport> Requests::Transparency() { return impl_->Transparency(); }

StatusOr<std::vector<PatronNotice>> Requests::MyNotices(const Actor& actor, int64_t patron_id) {
  return impl_->MyNotices(actor, patron_id);
}

Status Requests::MarkRead(int64_t user_id, int64_t item_id) {
  return impl_->MarkRead(user_id, item_id);
}

}  // namespace carrel
