#include <array>
#include <chrono>
#include <random>

#include "carrel/demo.h"
#include "carrel/progress.h"
#include "carrel/requests.h"
#include "circulation/bulk_load.h"
#include "circulation/sealed_records.h"

namespace carrel {
namespace {

// Invented for the demo: common given names and surnames, made-up streets and titles.
constexpr std::array kGivenNames = {"Avery",  "Jordan", "Riley",   "Morgan", "Casey",  "Taylor",
                                    "Quinn",  "Rowan",  "Emerson", "Harper", "Sage",   "Parker",
                                    "Reese",  "Dakota", "Skyler",  "Logan",  "Elliot", "Finley",
                                    "Hayden", "Jamie",  "Kendall", "Lane",   "Marlow", "Noel",
                                    "Oakley", "Peyton", "Remy",    "Shiloh", "Tatum",  "Wren"};
constexpr std::array kSurnames = {"Abbott",    "Bishop",    "Carver",    "Dalton",    "Ellison",
                                  "Fairbanks", "Garrison",  "Holloway",  "Ingram",    "Jennings",
                                  "Kendrick",  "Lockwood",  "Merriman",  "Northcott", "Osgood",
                                  "Prescott",  "Quimby",    "Radcliffe", "Sherwood",  "Thornton",
                                  "Underhill", "Vance",     "Whitfield", "Yardley",   "Ashby",
                                  "Brewster",  "Coleridge", "Dunmore",   "Eastwick",  "Fenwick"};
constexpr std::array kStreets = {
    "Harbor Lane",   "Old Mill Road", "Cedar Point Drive", "Meadow Court",   "Riverbend Road",
    "Chestnut Hill", "Quarry Way",    "Lantern Street",    "Beacon Terrace", "Orchard Row"};
constexpr std::array kTitleWords = {"Silent",  "River",     "Garden", "Winter",   "Atlas",
                                    "Lantern", "Harbor",    "Echo",   "Paper",    "Northern",
                                    "Orchard", "Clockwork", "Salt",   "Meridian", "Copper",
                                    "Hidden",  "Tide",      "Ember",  "Glass",    "Wild"};
constexpr std::array kTitleNouns = {"Light",    "House",   "Road",   "Letters", "Season",
                                    "Map",      "Keeper",  "Song",   "Year",    "Field",
                                    "Crossing", "Archive", "Island", "Promise", "Country"};
struct ItemKind {
  const char* type;
  const char* call_prefix;
  int weight;
};
constexpr std::array kKinds = {ItemKind{"book", "FIC", 60},    ItemKind{"book", "NF 9", 15},
                               ItemKind{"dvd", "DVD", 10},     ItemKind{"audiobook", "AUD", 8},
                               ItemKind{"magazine", "MAG", 5}, ItemKind{"equipment", "EQP", 2}};

template <typename A>
const char* Pick(std::mt19937_64& rng, const A& array) {
  return array[std::uniform_int_distribution<size_t>(0, array.size() - 1)(rng)];
}

std::string PatronBarcode(int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "2100%010lld", static_cast<long long>(n));
  return buf;
}

std::string ItemBarcode(int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "3100%010lld", static_cast<long long>(n));
  return buf;
}

// Commits every `batch` rows so that memory stays flat and progress is visible.
class BatchWriter {
 public:
  BatchWriter(Store& store, int64_t batch) : store_(store), batch_(batch) {}
  ~BatchWriter() = default;

  StatusOr<Transaction*> Next() {
    if (tx_ && ++count_ % batch_ == 0) {
      CARREL_RETURN_IF_ERROR(tx_->Commit());
      tx_.reset();
    }
    if (!tx_) {
      CARREL_ASSIGN_OR_RETURN(tx_, store_.Begin(TransactionMode::kWrite));
    }
    return tx_.get();
  }

  Status Finish() {
    if (!tx_) return Status::Ok();
    Status s = tx_->Commit();
    tx_.reset();
    return s;
  }

 private:
  Store& store_;
  int64_t batch_;
  int64_t count_ = 0;
  std::unique_ptr<Transaction> tx_;
};

// Three requests, so that every role has something to see: one declined for want of process
// (with its letter) and closed, its legal hold released, one court order partly released on
// counsel's advice and delivered (the patron with card 21000000000002 is told, and their portal
// shows it), one just taken in and awaiting the Director's acknowledgement. Each goes through the
// workflow's own steps.
Status SeedDemoRequests(Library& library, int64_t desk, int64_t director, int64_t counsel,
                        const std::string& card) {
  Requests& requests = library.requests();
  auto intake = [&](const std::string& process, std::vector<std::string> cards,
                    const std::string& asked) -> StatusOr<std::string> {
    CaseIntake in;
    in.agency = "Westport Police Department";
    in.name = "Detective (demo)";
    in.callback_number = "203-555-0100";
    in.callback_source = "the department's published number";
    in.arrived_by = "in person at the desk";
    in.asked = asked;
    in.card_barcodes = std::move(cards);
    in.categories = {"loans", "loan_history"};
    in.process = process;
    if (process != "none") in.issuing_authority = "Superior Court (demo)";
    CARREL_ASSIGN_OR_RETURN(CaseSummary s, requests.Intake(desk, in));
    return s.reference;
  };
  auto act = [&](int64_t who, const std::string& ref, const StepArgs& step,
                 std::string_view password = "") {
    return requests.Act(who, ref, step, password).status();
  };
  CARREL_ASSIGN_OR_RETURN(std::string declined, intake("none", {card}, "what a patron borrowed"));
  CARREL_RETURN_IF_ERROR(act(director, declined, steps::Acknowledge{}));
  CARREL_RETURN_IF_ERROR(
      act(director, declined, steps::ConsultCounsel{counsel, "telephoned counsel at once"}));
  CARREL_RETURN_IF_ERROR(
      act(director, declined, steps::Decline{"no subpoena or court order was produced"}));
  CARREL_RETURN_IF_ERROR(act(director, declined, steps::Close{.release_holds = true}));

  CARREL_ASSIGN_OR_RETURN(std::string released,
                          intake("court_order", {card}, "loans of one card over the past year"));
  CARREL_RETURN_IF_ERROR(act(director, released, steps::Acknowledge{}));
  CARREL_RETURN_IF_ERROR(
      act(director, released, steps::ConsultCounsel{counsel, "sent the order to counsel"}));
  CARREL_RETURN_IF_ERROR(act(director, released, steps::ReferToCounsel{}));
  steps::Advise advice;
  advice.proper_form = true;
  advice.enforceable = true;
  advice.court_order_compels = true;
  advice.recommendation = CounselRecommendation::kNarrow;
  advice.advice = "The order is valid; produce the current loans only.";
  CARREL_RETURN_IF_ERROR(act(counsel, released, advice));
  CARREL_ASSIGN_OR_RETURN(CaseFile file, requests.Get(director, released));
  steps::Decide decision;
  decision.outcome = CaseOutcome::kPartial;
  decision.basis = "court_order";
  decision.advice_id = file.advice.back().id;
  decision.scope.categories = {"loans"};
  CARREL_RETURN_IF_ERROR(act(director, released, decision, kDemoPassword));
  CARREL_RETURN_IF_ERROR(act(director, released, steps::PrepareDisclosure{}, kDemoPassword));
  steps::Deliver delivery;
  delivery.to = "Detective (demo)";
  delivery.how = "sealed envelope, by hand";
  CARREL_RETURN_IF_ERROR(act(director, released, delivery));

  return intake("subpoena", {}, "the sign-in sheets of the computer room").status();
}

// Fills an empty library, one kind of record after another, each in batches.
class Seeder {
 public:
  Seeder(Library& library, const SeedOptions& options)
      : library_(library),
        options_(options),
        store_(library.store()),
        profile_(library.profile()),
        calendar_(library.calendar()),
        keyring_(library.keyring()),
        records_(&library.vault()),
        rng_(options.seed),
        now_(library.clock().Now()),
        today_(calendar_.LocalDate(now_)),
        out_(options.progress ? stderr : nullptr),
        item_types_(options.items + 1) {
    patron_ids_.reserve(options.patrons);
    keeps_history_.reserve(options.patrons);
  }

  StatusOr<SeedReport> Run() {
    CARREL_RETURN_IF_ERROR(Patrons());
    CARREL_RETURN_IF_ERROR(Items());
    CARREL_RETURN_IF_ERROR(LoanHistory());
    CARREL_RETURN_IF_ERROR(CurrentLoans());
    CARREL_RETURN_IF_ERROR(SessionsAndEnews());
    if (options_.demo_accounts) CARREL_RETURN_IF_ERROR(DemoAccounts());
    return report_;
  }

 private:
  static constexpr int64_t kBatch = 20000;
  static std::chrono::days day(int n) { return std::chrono::days(n); }

  // Patrons: about 8% juvenile, some with expired cards, most with email, 15% keep history.
  Status Patrons() {
    Progress progress("patrons", options_.patrons, out_);
    BatchWriter writer(store_, kBatch);
    for (int64_t i = 1; i <= options_.patrons; ++i) {
      if ((i - 1) % kBatch == 0) {
        // Keys for the next batch in one keyring transaction, committed before the rows.
        CARREL_ASSIGN_OR_RETURN(auto ids, records_.ReservePatronIds(
                                              std::min<int64_t>(kBatch, options_.patrons - i + 1)));
        patron_ids_.insert(patron_ids_.end(), ids.begin(), ids.end());
      }
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      std::string given = Pick(rng_, kGivenNames);
      std::string surname = Pick(rng_, kSurnames);
      NewPatron p;
      p.card_barcode = PatronBarcode(i);
      p.name = given + " " + surname;
      if (std::uniform_int_distribution<int>(0, 9)(rng_) < 8) {
        p.email = given + "." + surname + std::to_string(i) + "@example.org";
      }
      p.phone = "203-555-" + std::to_string(1000 + i % 9000);
      p.postal_address =
          std::to_string(1 + i % 400) + " " + Pick(rng_, kStreets) + "\nWestport, CT 06880";
      p.juvenile = std::uniform_int_distribution<int>(0, 99)(rng_) < 8;
      p.expires_on = today_ + day(std::uniform_int_distribution<int>(-200, 3 * 365)(rng_));
      // The demo's portal cards (the first five) are valid for two more years.
      if (options_.demo_accounts && i <= 5) p.expires_on = today_ + day(730);
      p.history_opt_in = std::uniform_int_distribution<int>(0, 99)(rng_) < 15;
      keeps_history_.push_back(p.history_opt_in);
      Date last_active = today_ - day(std::uniform_int_distribution<int>(0, 2 * 365)(rng_));
      int64_t id = patron_ids_[i - 1];
      CARREL_ASSIGN_OR_RETURN(auto key, keyring_.Get(Vault::PatronKeyName(id)));
      CARREL_RETURN_IF_ERROR(records_.InsertPatronWithId(*tx, id, p, last_active, *key));
      progress.Advance();
    }
    CARREL_RETURN_IF_ERROR(writer.Finish());
    report_.patrons = options_.patrons;
    return Status::Ok();
  }

  // Catalogue.
  Status Items() {
    int total_weight = 0;
    for (const ItemKind& k : kKinds) total_weight += k.weight;
    Progress progress("items", options_.items, out_);
    BatchWriter writer(store_, kBatch);
    for (int64_t i = 1; i <= options_.items; ++i) {
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      int w = std::uniform_int_distribution<int>(0, total_weight - 1)(rng_);
      const ItemKind* kind = &kKinds[0];
      for (const ItemKind& k : kKinds) {
        if (w < k.weight) {
          kind = &k;
          break;
        }
        w -= k.weight;
      }
      std::string type =
          profile_.loan_days.contains(kind->type) ? kind->type : profile_.loan_days.begin()->first;
      item_types_[i] = type;
      std::string title =
          std::string("The ") + Pick(rng_, kTitleWords) + " " + Pick(rng_, kTitleNouns);
      std::string author = std::string(Pick(rng_, kGivenNames)) + " " + Pick(rng_, kSurnames);
      std::string call =
          std::string(kind->call_prefix) + " " + author.substr(author.find(' ') + 1, 3);
      CARREL_RETURN_IF_ERROR(bulk::InsertItem(*tx, i, {ItemBarcode(i), title, author, call, type}));
      progress.Advance();
    }
    CARREL_RETURN_IF_ERROR(writer.Finish());
    report_.items = options_.items;
    return Status::Ok();
  }

  // Returned loans over the past years, oldest first; about 4% came back late with a fine.
  Status LoanHistory() {
    Progress progress("loan history", options_.history_loans, out_);
    BatchWriter writer(store_, kBatch);
    int span = options_.years * 365;
    std::uniform_int_distribution<int64_t> patron(1, options_.patrons);
    std::uniform_int_distribution<int64_t> item(1, options_.items);
    for (int64_t i = 1; i <= options_.history_loans; ++i) {
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      // Spread evenly in time: row i returns on day span * i / n before today_.
      int days_ago = 1 + static_cast<int>((span - 1) * (options_.history_loans - i) /
                                          std::max<int64_t>(1, options_.history_loans));
      Date returned = today_ - day(days_ago);
      int64_t item_id = item(rng_);
      int period = profile_.loan_days.at(item_types_[item_id]);
      // Most loans come back within the period; about one in twenty-five comes back late.
      bool late = std::uniform_int_distribution<int>(0, 24)(rng_) == 0;
      int kept = late ? period + std::uniform_int_distribution<int>(1, 30)(rng_)
                      : std::uniform_int_distribution<int>(1, period)(rng_);
      Date out_on = returned - day(kept);
      Date due = out_on + day(period);
      int64_t patron_index = patron(rng_);
      int64_t patron_id = patron_ids_[patron_index - 1];
      CARREL_ASSIGN_OR_RETURN(SealedLink link,
                              records_.SealLink("loan_history", i, patron_id, returned,
                                                keeps_history_[patron_index - 1]));
      CARREL_RETURN_IF_ERROR(
          bulk::InsertReturnedLoan(*tx, i, item_id, link, out_on, due, returned));
      if (returned > due && profile_.fine_per_day_cents > 0) {
        int64_t late = (returned - due).count();
        int64_t cents = std::min(late * profile_.fine_per_day_cents, profile_.fine_cap_cents);
        if (cents > 0) {
          bool settled = days_ago > 30 || std::uniform_int_distribution<int>(0, 1)(rng_) == 0;
          bulk::BulkFine fine;
          fine.id = ++report_.fines;
          fine.loan_history_id = i;
          fine.amount_cents = cents;
          fine.accrued_on = returned;
          if (settled) {
            fine.settled_on = returned + day(3);
            CARREL_ASSIGN_OR_RETURN(
                fine.settled_link,
                records_.SealLink("fines", fine.id, patron_id, *fine.settled_on, false));
          } else {
            fine.owed_by = patron_id;
          }
          CARREL_RETURN_IF_ERROR(bulk::InsertFine(*tx, fine));
        }
      }
      progress.Advance();
    }
    CARREL_RETURN_IF_ERROR(writer.Finish());
    report_.history_loans = options_.history_loans;
    return Status::Ok();
  }

  // Current loans on about a tenth of the items; some overdue. Holds on some of them.
  Status CurrentLoans() {
    int64_t active = std::min(options_.items / 10, options_.patrons * 3);
    Progress progress("current loans", active, out_);
    BatchWriter writer(store_, kBatch);
    std::uniform_int_distribution<int64_t> patron(1, options_.patrons);
    for (int64_t i = 1; i <= active; ++i) {
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      int64_t item_id = i * 10;
      int period = profile_.loan_days.at(item_types_[item_id]);
      Date out_on = today_ - day(std::uniform_int_distribution<int>(0, period + 10)(rng_));
      Date due = calendar_.NextOpenDay(out_on + day(period)).value_or(out_on + day(period));
      int64_t patron_id = patron_ids_[patron(rng_) - 1];
      CARREL_RETURN_IF_ERROR(bulk::InsertLoan(
          *tx, item_id, patron_id, out_on, due,
          int64_t{std::uniform_int_distribution<int>(0, profile_.renewal_limit)(rng_)}));
      if (i % 7 == 0) {
        int64_t holder = patron_ids_[patron(rng_) - 1];
        if (holder != patron_id) {
          CARREL_RETURN_IF_ERROR(
              bulk::InsertHold(*tx, item_id, holder, now_ - std::chrono::hours(24 * (i % 20 + 1))));
          ++report_.holds;
        }
      }
      progress.Advance();
    }
    CARREL_RETURN_IF_ERROR(writer.Finish());
    report_.active_loans = active;
    return Status::Ok();
  }

  // Computer sessions of the past week and eNews subscriptions.
  Status SessionsAndEnews() {
    int64_t sessions = std::min<int64_t>(options_.patrons, 2000);
    int64_t subscriptions = std::min<int64_t>(options_.patrons / 5, 5000);
    Progress progress("sessions, eNews", sessions + subscriptions, out_);
    BatchWriter writer(store_, kBatch);
    std::uniform_int_distribution<int64_t> patron(1, options_.patrons);
    for (int64_t i = 1; i <= sessions; ++i) {
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      Instant start =
          now_ - std::chrono::hours(std::uniform_int_distribution<int>(2, 24 * 7)(rng_));
      Instant end = start + std::chrono::minutes(55);
      CARREL_ASSIGN_OR_RETURN(
          SealedLink link, records_.SealLink("computer_sessions", i, patron_ids_[patron(rng_) - 1],
                                             calendar_.LocalDate(end), false));
      CARREL_RETURN_IF_ERROR(bulk::InsertComputerSession(*tx, i, "PC-" + std::to_string(1 + i % 24),
                                                         start, end, link));
      progress.Advance();
    }
    for (int64_t i = 1; i <= subscriptions; ++i) {
      CARREL_ASSIGN_OR_RETURN(Transaction * tx, writer.Next());
      char hex[33];
      std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                    static_cast<unsigned long long>(rng_()));
      std::string email = "reader" + std::to_string(i) + "@example.org";
      CARREL_ASSIGN_OR_RETURN(std::string email_bi, records_.EmailIndex(email));
      CARREL_ASSIGN_OR_RETURN(std::string sealed, records_.SealSubscriptionEmail(i, email));
      CARREL_RETURN_IF_ERROR(bulk::InsertSubscription(*tx, i, email_bi, sealed, std::string(hex),
                                                      today_ - day(30), today_ - day(29)));
      progress.Advance();
    }
    CARREL_RETURN_IF_ERROR(writer.Finish());
    report_.computer_sessions = sessions;
    report_.subscriptions = subscriptions;
    return Status::Ok();
  }

  // The demo's staff accounts, its adopted schedule, portal PINs and requests.
  Status DemoAccounts() {
    Actor seeder{"system/demo-seed", "system"};
    int64_t director = 0, desk = 0, counsel = 0;
    for (auto [name, role] : {std::pair{"desk", Role::kStaff},
                              {"demo-director", Role::kDirector},
                              {"counsel", Role::kCounsel},
                              {"trustee", Role::kBoard},
                              {"demo-admin", Role::kAdmin}}) {
      CARREL_ASSIGN_OR_RETURN(User user,
                              library_.accounts().AddUser(seeder, name, role, kDemoPassword));
      if (role == Role::kDirector) director = user.id;
      if (role == Role::kStaff) desk = user.id;
      if (role == Role::kCounsel) counsel = user.id;
    }
    // A self-check kiosk for `carrel serve --sip2` (docs/sip2.md).
    NewUserOptions kiosk;
    kiosk.location = "Main floor self-check";
    CARREL_RETURN_IF_ERROR(library_.accounts()
                               .AddUser(seeder, "demo-kiosk", Role::kKiosk, kDemoPassword, kiosk)
                               .status());
    // The demo Director adopts the profile's schedule, so the demo library deletes on schedule
    // from the start (a real library's Director signs their own: carrel retention sign).
    CARREL_RETURN_IF_ERROR(
        library_.retention()
            .SignSchedule({"user/" + std::to_string(director), "director"}, director, kDemoPassword,
                          ScheduleFromProfile(library_.profile()),
                          "the demo profile's schedule, adopted for the demonstration")
            .status());
    for (int64_t i = 0; i < std::min<int64_t>(5, options_.patrons); ++i) {
      CARREL_RETURN_IF_ERROR(library_.accounts().SetPatronPin(
          seeder, patron_ids_[i], kDemoPin, Accounts::PinOrigin::kChosenByPatron));
    }
    if (options_.patrons >= 3) {
      CARREL_RETURN_IF_ERROR(SeedDemoRequests(library_, desk, director, counsel, PatronBarcode(2)));
    }
    return Status::Ok();
  }

  Library& library_;
  const SeedOptions& options_;
  Store& store_;
  const Profile& profile_;
  const Calendar& calendar_;
  Keyring& keyring_;
  SealedRecords records_;
  std::mt19937_64 rng_;
  Instant now_;
  Date today_;
  std::FILE* out_;
  SeedReport report_;
  std::vector<int64_t> patron_ids_;      // index i-1 -> random id of patron i
  std::vector<bool> keeps_history_;      // opted in to a reading history
  std::vector<std::string> item_types_;  // by item id
};

}  // namespace

StatusOr<SeedReport> SeedDemoLibrary(Library& library, const SeedOptions& options) {
  if (options.patrons < 1 || options.items < 1 || options.history_loans < 0 || options.years < 1) {
    return InvalidArgument("demo seed needs at least one patron and one item");
  }
  Store& store = library.store();
  bool empty = false;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(empty, bulk::NoPatronsOrItems(tx));
    return Status::Ok();
  }));
  if (!empty) {
    return FailedPrecondition(
        "the library already has patrons or items; demo seed fills only "
        "an empty library");
  }
  auto started = std::chrono::steady_clock::now();
  Seeder seeder(library, options);
  CARREL_ASSIGN_OR_RETURN(SeedReport report, seeder.Run());
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace carrel
