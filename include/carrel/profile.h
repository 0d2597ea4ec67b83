#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"

namespace carrel {

// One opening period of a day, in minutes after local midnight; close > open.
struct OpeningPeriod {
  int open_minute = 0;
  int close_minute = 0;
};

// Opening hours for each weekday; index 0 is Monday, 6 is Sunday. nullopt: closed all day.
using WeekHours = std::array<std::optional<OpeningPeriod>, 7>;

// What happened to the policy document (policy §6).
enum class PolicyEventKind : uint8_t { kAdopted, kAmended, kReEndorsed };
std::string_view PolicyEventName(PolicyEventKind kind);  // "adopted", "amended", "re-endorsed"
StatusOr<PolicyEventKind> ParsePolicyEvent(std::string_view name);

// One event in the life of the policy document (policy §6).
struct PolicyEvent {
  PolicyEventKind event = PolicyEventKind::kAdopted;
  Date date;
  std::string note;   // free text, may be empty
};

// Everything library-specific: a library is its profile plus its data. Loaded from a TOML
// file (docs/profile.md describes every key); the policy document is a separate text file
// named relative to the profile.
struct Profile {
  // [library]
  std::string name;
  std::vector<std::string> address_lines;
  std::string phone;
  std::string time_zone;  // IANA name, e.g. "America/New_York"

  // [hours]
  WeekHours library_hours{};
  WeekHours cafe_hours{};
  std::vector<Date> closed_dates;  // sorted, unique

  // [circulation]
  std::map<std::string, int> loan_days;  // item type -> loan period in days (>= 1)
  int renewal_limit = 0;
  int hold_pickup_days = 7;
  // The web UI's desk screens clear themselves after this many minutes without a key or click.
  int desk_idle_minutes = 10;
  // A patron younger than this is a juvenile (the flag is kept; a birth date never is). Used
  // where a birth date comes in, as in an import from Koha.
  int juvenile_under_age = 18;
  int64_t fine_per_day_cents = 0;
  int64_t fine_cap_cents = 0;  // per loan

  // [policy]
  std::string policy_title;
  std::string policy_version;  // label of the version in force, e.g. "2010-09-15"
  std::string policy_text;     // contents of the policy document
  std::string policy_document;  // file name of the document, relative to the profile
  std::vector<PolicyEvent> policy_history;  // oldest first

  // [retention]: the schedule the profile proposes, category -> days (docs/retention.md); the
  // Director signs it (or another) before anything is deleted.
  std::map<std::string, int> retention_days;

  // [statute]
  std::string statute_citation;  // "Conn. Gen. Stat. § 11-25(b)"
  std::string statute_summary;
  // What may allow a release of confidential records (LawfulBasisNames()); Connecticut's
  // statute: a court order or the patron's written permission.
  std::vector<std::string> lawful_bases = {"court_order", "patron_permission"};
  // The kinds of legal process that are court orders (LegalProcessNames()). Any other process
  // (a subpoena, say) unlocks nothing until counsel records that a court order compels
  // production.
  std::vector<std::string> court_orders = {"court_order", "search_warrant", "fisa_order"};

  // [requests]: a command run when a request arrives, with the case reference as its last
  // argument (never anything else); empty: the in-app inbox only.
  std::vector<std::string> notify_command;
  // Whether a patron is told when their records are released (once no nondisclosure order
  // forbids it), and a command run for each notice that goes out, with the notice's reference
  // as its last argument (the notice itself is in the patron's portal).
  bool notify_patrons = false;
  std::vector<std::string> patron_notice_command;
  // Legal holds a clerk's intake places lapse after this many days unless the Director or a
  // designee confirms them by acting on the case.
  int intake_hold_days = 14;
  // A request not acknowledged within this many hours of opening time is overdue.
  int acknowledge_within_open_hours = 2;
  // Return dates and nondisclosure review dates show in the inbox this many days ahead.
  int deadline_warning_days = 7;

  // [transparency]: national-security process is reported in bands of this width ("0-249"),
  // and a case under an active nondisclosure order is left out ("exclude") or counted only in
  // bands ("band").
  int national_security_band = 250;
  std::string under_nondisclosure = "exclude";

  // [patrons]: the fewest digits of a PIN a patron chooses. A shorter PIN (or one set before
  // this rule, or at the desk) still works for loans and holds, but not for the reading
  // history, the export, notices or permissions until the patron chooses a new one.
  int min_pin_length = 6;
  // A command that delivers PIN reset codes to patrons (by email or text message): run with
  // "pin-reset" as its last argument and a JSON object on its standard input (code,
  // expires_at, and the patron's name, email and phone). When set, the desk never sees a
  // code; when empty, the code is shown once, to print on a slip for the patron.
  std::vector<std::string> pin_reset_command;
  // What a self-check kiosk shows of the patron's name once their PIN is accepted: "first"
  // (the first word of the name), "full", or "none".
  std::string kiosk_name = "first";

  // [audit]: a command run with each new signed tree head (the checkpoint note, public) as its
  // last argument, to keep it somewhere the server cannot change; empty: none.
  std::vector<std::string> witness_command;
  // A file outside the data directory holding the log's verifier key, for `carrel audit
  // verify` (which never trusts the copy in the data directory).
  std::string verifier_key_file;

  // [backup] keys_file: a file (absolute path, best on another disk) that carrel rewrites with
  // a backup of the keyring each time it destroys keys, so that the latest key backup never
  // holds a key destroyed before it was made; empty: none (docs/deployment.md §7).
  std::string key_backup_file;
};

// Bases a profile may list as lawful for a release, and kinds of legal process.
const std::vector<std::string_view>& LawfulBasisNames();
const std::vector<std::string_view>& LegalProcessNames();

// The retention categories a profile's [retention] table may name (the retention engine's
// categories, in its order).
const std::vector<std::string_view>& RetentionCategoryNames();

// Reads and validates a profile. On failure the status message is "FILE:LINE: reason" (line
// omitted when the problem is not tied to one), and nothing is returned.
StatusOr<Profile> LoadProfile(const std::filesystem::path& file);

// As LoadProfile, from text; `source` names it in messages and `base_dir` resolves the policy
// document.
StatusOr<Profile> ParseProfile(std::string_view toml_text, std::string_view source,
                               const std::filesystem::path& base_dir);

// "09:00-21:00" style rendering of one day's hours, or "closed".
std::string FormatOpeningPeriod(const std::optional<OpeningPeriod>& period);

// Monday..Sunday.
std::string_view WeekdayName(int index_from_monday);

}  // namespace carrel
