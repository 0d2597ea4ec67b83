// The public transparency report (docs/design.md §7): counts per year by request type, process and
// outcome, national-security process only in bands, nothing about any patron or requester.

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "carrel/requests.h"
#include "requests/fields.h"
#include "requests/impl.h"
#include "requests/render.h"
#include "util/enum_names.h"

namespace carrel {

using json = nlohmann::json;

namespace {

bool NationalSecurity(std::string_view process) {
  return process == "national_security_letter" || process == "fisa_order";
}

// "0-249" for a count under a band of 250, "250-499" above it, and so on.
std::string Band(int64_t count, int width) {
  int64_t low = count / width * width;
  return std::to_string(low) + "-" + std::to_string(low + width - 1);
}

}  // namespace

const std::vector<std::string_view>& TransparencyOutcomes() {
  static const std::vector<std::string_view> outcomes = {
      "declined_no_process", "defective_process", "refused", "no_records", "partial", "full",
      "media_statement",     "pending",           "closed_without_decision"};
  return outcomes;
}

namespace {

// One case as the report counts it.
struct ReportCase {
  int64_t id;
  std::string type, process;
  CaseOutcome outcome = CaseOutcome::kNone;
  CaseState state = CaseState::kReceived;
  Instant received;
  bool order_in_force;
  bool defective_advice;
  int64_t records;  // -1: no package
  int64_t last_decision;
  bool last_reversed;  // the Board reversed the newest decision, and no other came since
};

// One year's counts.
struct ReportYear {
  std::map<std::string, int64_t> type, process, outcome;
  int64_t requests = 0, nsl = 0, fisa = 0, withheld = 0, reversals = 0;
};

// Every case as the report counts it, in the order received.
Status ReadReportCases(Transaction& tx, const std::string& today,
                       const std::vector<int64_t>& reversed, std::vector<ReportCase>* cases) {
  CARREL_RETURN_IF_ERROR(tx.Exec(
      std::string("SELECT c.id, c.type, c.process, c.outcome, c.state, c.received_at, ") +
          kOrderInForceSql +
          ", EXISTS (SELECT 1 FROM counsel_advice a WHERE a.case_id = c.id AND (a.proper_form "
          "= 0 OR a.enforceable = 0)), coalesce((SELECT d.records FROM disclosures d WHERE "
          "d.case_id = c.id ORDER BY d.id DESC LIMIT 1), -1), coalesce((SELECT max(id) FROM "
          "case_decisions k WHERE k.case_id = c.id), 0) FROM cases c ORDER BY c.id",
      {today}, [&](const Row& row) -> Status {
        ReportCase c;
        c.id = row.Int(0);
        c.type = row.Text(1);
        c.process = row.Text(2);
        CARREL_ASSIGN_OR_RETURN(c.outcome, Stored(ParseCaseOutcome(row.Text(3))));
        CARREL_ASSIGN_OR_RETURN(c.state, Stored(ParseCaseState(row.Text(4))));
        CARREL_ASSIGN_OR_RETURN(c.received, ParseInstant(row.Text(5)));
        c.order_in_force = row.Int(6) != 0;
        c.defective_advice = row.Int(7) != 0;
        c.records = row.Int(8);
        c.last_decision = row.Int(9);
        c.last_reversed = false;
        cases->push_back(std::move(c));
        return Status::Ok();
      }));
  for (ReportCase& c : *cases) {
    c.last_reversed =
        std::find(reversed.begin(), reversed.end(), c.last_decision) != reversed.end();
  }
  return Status::Ok();
}

// The outcome a case is reported under.
std::string ReportedOutcome(const ReportCase& c) {
  const bool closed = c.state == CaseState::kClosed;
  switch (c.outcome) {
    case CaseOutcome::kDeclined:
      return "declined_no_process";
    case CaseOutcome::kRefuse:
      return c.defective_advice ? "defective_process" : "refused";
    case CaseOutcome::kRelease:
    case CaseOutcome::kPartial:
      if (c.last_reversed) return closed ? "closed_without_decision" : "pending";  // decided again
      if (c.records == 0) return "no_records";
      return c.outcome == CaseOutcome::kRelease ? "full" : "partial";
    case CaseOutcome::kMediaStatement:
      return "media_statement";
    case CaseOutcome::kNone:
      break;
  }
  return closed ? "closed_without_decision" : "pending";
}

// One year of the report: requests by type, process and outcome; national security process
// (and, when the profile says so, requests under an order in force) only in bands.
TransparencyYear YearOf(int year, ReportYear& y, int band, bool band_orders) {
  TransparencyYear out;
  out.year = year;
  out.requests = y.requests;
  for (CaseType t : {kLawEnforcement, kMedia, kPatronAccess, kThirdParty}) {
    out.by_type[std::string(CaseTypeName(t))] = y.type[std::string(CaseTypeName(t))];
  }
  for (std::string_view p : LegalProcessNames()) {
    if (!NationalSecurity(p)) out.by_process[std::string(p)] = y.process[std::string(p)];
  }
  for (std::string_view o : TransparencyOutcomes()) {
    out.by_outcome[std::string(o)] = y.outcome[std::string(o)];
  }
  out.board_reversals = y.reversals;
  out.national_security_letters = Band(y.nsl, band);
  out.fisa_orders = Band(y.fisa, band);
  if (band_orders) out.under_nondisclosure_order = Band(y.withheld, band);
  return out;
}

}  // namespace

StatusOr<TransparencyReport> Requests::Impl::Transparency() {
  std::vector<ReportCase> cases;
  Instant now = clock_->Now();
  std::string today = FormatDate(calendar_->LocalDate(now));
  std::string version;
  std::map<int64_t, int64_t> reversals_per_case;
  // Every year from the library's first to this one is listed, whatever it held, so that
  // a year's presence says nothing about requests that are not counted.
  Instant created = library_created_.value_or(now);
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(version, Governance::VersionInForce(tx));
    CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> reversed, Governance::ReversedIn(tx, "decision"));
    CARREL_RETURN_IF_ERROR(ReadReportCases(tx, today, reversed, &cases));
    for (int64_t decision : reversed) {
      CARREL_RETURN_IF_ERROR(tx.Exec("SELECT case_id FROM case_decisions WHERE id = ?", {decision},
                                     [&](const Row& row) {
                                       ++reversals_per_case[row.Int(0)];
                                       return Status::Ok();
                                     }));
    }
    return Status::Ok();
  }));
  const int band = profile_->national_security_band;
  const bool band_orders = profile_->under_nondisclosure == "band";
  auto year_of = [&](Instant t) {
    return static_cast<int>(std::chrono::year_month_day(calendar_->LocalDate(t)).year());
  };
  std::map<int, ReportYear> years;
  int first = year_of(created), last = year_of(now);
  for (const ReportCase& c : cases) first = std::min(first, year_of(c.received));
  for (int year = first; year <= last; ++year) years[year];
  for (const ReportCase& c : cases) {
    ReportYear& y = years[year_of(c.received)];
    if (NationalSecurity(c.process)) {
      (c.process == "fisa_order" ? y.fisa : y.nsl) += 1;
      continue;
    }
    if (c.order_in_force) {
      // Counted only as the profile allows: left out, or in a band of its own.
      if (band_orders) ++y.withheld;
      continue;
    }
    ++y.requests;
    ++y.type[c.type];
    ++y.process[c.process];
    std::string outcome = ReportedOutcome(c);
    ++y.outcome[outcome];
    if (auto it = reversals_per_case.find(c.id); it != reversals_per_case.end()) {
      y.reversals += it->second;
    }
  }
  TransparencyReport report;
  report.library = profile_->name;
  report.policy_version = version;
  report.generated_at = now;
  report.band_width = band;
  report.under_nondisclosure = profile_->under_nondisclosure;
  report.notes =
      "Counts of requests for confidential patron information received each year. National "
      "security letters and FISA orders are reported only in bands. Requests under a "
      "nondisclosure order still in force are " +
      std::string(band_orders ? "counted only in a band of their own"
                              : "left out until the order ends") +
      ". No patron or requester is identified.";
  for (auto& [year, y] : years) report.years.push_back(YearOf(year, y, band, band_orders));
  return report;
}

json TransparencyReportJson(const TransparencyReport& report) {
  json years = json::array();
  for (const TransparencyYear& y : report.years) {
    json ns = {{"national_security_letters", y.national_security_letters},
               {"fisa_orders", y.fisa_orders}};
    if (y.under_nondisclosure_order) ns["under_nondisclosure_order"] = *y.under_nondisclosure_order;
    years.push_back({{"year", y.year},
                     {"requests", y.requests},
                     {"by_type", y.by_type},
                     {"by_process", y.by_process},
                     {"by_outcome", y.by_outcome},
                     {"board_reversals", y.board_reversals},
                     {"in_bands", ns}});
  }
  return json{{"library", report.library},
              {"policy_version", report.policy_version},
              {"generated_at", FormatInstant(report.generated_at)},
              {"band_width", report.band_width},
              {"under_nondisclosure", report.under_nondisclosure},
              {"notes", report.notes},
              {"years", years}};
}

std::string TransparencyHtml(const json& report) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Transparency "
      "report</title>\n<style>body{font-family:serif;max-width:48em;margin:2em auto}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #999;padding:.2em "
      ".6em;text-align:left}th{background:#eee}@media print{body{margin:0}}</style>"
      "</head><body>\n";
  out += "<h1>" + HtmlEscape(report.value("library", "")) + ": transparency report</h1>\n";
  out += "<p>" + HtmlEscape(report.value("notes", "")) + "</p>\n";
  out += "<p>Policy version " + HtmlEscape(report.value("policy_version", "")) +
         "; generated " + HtmlEscape(report.value("generated_at", "")) + ".</p>\n";
  auto table = [&](const std::string& title, const json& counts) {
    out += "<table><tr><th>" + HtmlEscape(title) + "</th><th>count</th></tr>\n";
    for (const auto& [k, v] : counts.items()) {
      out += "<tr><td>" + HtmlEscape(k) + "</td><td>" +
             HtmlEscape(v.is_string() ? v.get<std::string>() : v.dump()) + "</td></tr>\n";
    }
    out += "</table>\n";
  };
  for (const json& y : report["years"]) {
    out += "<h2>" + std::to_string(y.value("year", 0)) + "</h2>\n<p>Requests counted: " +
           std::to_string(y.value("requests", 0)) + "; decisions reversed by the Board: " +
           std::to_string(y.value("board_reversals", 0)) + "</p>\n";
    table("request type", y["by_type"]);
    table("legal process", y["by_process"]);
    table("outcome", y["by_outcome"]);
    table("in bands", y["in_bands"]);
  }
  if (report["years"].empty()) out += "<p>No requests have been received.</p>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace carrel
