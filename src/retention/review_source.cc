#include "retention/review_source.h"

#include <nlohmann/json.hpp>

#include "carrel/encoding.h"

namespace carrel {
namespace {

// Retention schedule versions, as the Director signed them.
Status ReviewableSchedules(Transaction& tx, std::vector<Reviewable>* out) {
  return tx.Exec(
      "SELECT version, signed_at, signed_by, reason FROM retention_schedules ORDER BY version", {},
      [&](const Row& row) -> Status {
        Reviewable r;
        r.subject = "retention_schedule";
        r.subject_id = row.Int(0);
        r.what = "retention schedule version " + std::to_string(row.Int(0));
        CARREL_ASSIGN_OR_RETURN(r.at, ParseInstant(row.Text(1)));
        r.by = row.Int(2);
        r.detail.reason = row.Text(3);
        out->push_back(std::move(r));
        return Status::Ok();
      });
}

// Retention's part of what the Board reviews: the schedule's signed versions.
class ScheduleSubjects : public ReviewSource {
 public:
  bool Holds(std::string_view subject) const override { return subject == "retention_schedule"; }

  Status List(Transaction& tx, std::string_view, std::vector<Reviewable>* out) override {
    return ReviewableSchedules(tx, out);
  }

  StatusOr<std::optional<std::string>> Find(Transaction& tx, std::string_view,
                                            int64_t id) override {
    std::optional<std::string> reference;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT '' FROM retention_schedules WHERE version = ?", {id}, [&](const Row& row) {
          reference = row.Text(0);
          return Status::Ok();
        }));
    return reference;
  }
};

}  // namespace

ReviewSource& RetentionReviewSource() {
  static ScheduleSubjects source;
  return source;
}

}  // namespace carrel
