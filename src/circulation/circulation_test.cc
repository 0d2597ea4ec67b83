#include "carrel/circulation.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using std::chrono::days;
using std::chrono::hours;

Date D(int y, int m, int d) { return Date(std::chrono::year(y) / m / d); }
// 10:00 in Westport (UTC-5 in winter).
Instant MorningOf(Date d) { return Instant(d) + hours(15); }

class CirculationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddPatron("P-1001", "Canary One", D(2027, 12, 31));
    AddPatron("P-1002", "Canary Two", D(2027, 12, 31));
    AddPatron("P-1003", "Canary Three", D(2027, 12, 31));
    AddItem("I-1", "book");
    AddItem("I-2", "dvd");
    AddItem("I-3", "book");
  }

  Patron AddPatron(const std::string& barcode, const std::string& name, Date expires) {
    NewPatron p;
    p.card_barcode = barcode;
    p.name = name;
    p.email = barcode + "@example.org";
    p.expires_on = expires;
    auto added = circ().AddPatron(testing::kStaff, p);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    ids_[barcode] = added->id;
    return *added;
  }

  void AddItem(const std::string& barcode, const std::string& type) {
    auto added = circ().AddItem(testing::kStaff, {barcode, "A Title", "An Author", "FIC", type});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  int64_t Count(const std::string& table) {
    int64_t n = -1;
    EXPECT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt("SELECT count(*) FROM " + table));
                  return Status::Ok();
                }).ok());
    return n;
  }

  ItemStatus StatusOf(const std::string& barcode) {
    auto item = circ().FindItemByBarcode(barcode);
    EXPECT_TRUE(item.ok());
    return item->status;
  }

  Circulation& circ() { return lib_.circulation(); }
  void SetDay(Date d) { lib_.clock.Set(MorningOf(d)); }

  testing::TestLibrary lib_;
  std::map<std::string, int64_t> ids_;  // card barcode -> random patron id
};

TEST_F(CirculationTest, CheckoutDueDateFollowsLoanPeriod) {
  auto loan = circ().Checkout(testing::kStaff, "I-1", "P-1001");
  ASSERT_TRUE(loan.ok()) << loan.status().ToString();
  EXPECT_EQ(loan->checked_out_on, D(2026, 12, 1));
  EXPECT_EQ(loan->due_on, D(2026, 12, 22));  // book: 21 days, an open Tuesday
  EXPECT_EQ(StatusOf("I-1"), ItemStatus::kOnLoan);
}

TEST_F(CirculationTest, DueDateOnClosedDayMovesToNextOpenDay) {
  SetDay(D(2026, 12, 18));  // dvd: 7 days -> Christmas Day, closed
  auto loan = circ().Checkout(testing::kStaff, "I-2", "P-1001");
  ASSERT_TRUE(loan.ok());
  EXPECT_EQ(loan->due_on, D(2026, 12, 26));
}

TEST_F(CirculationTest, RefusedCheckoutsChangeNothing) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I-1", "P-1002").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(circ().Checkout(testing::kStaff, "NO-SUCH", "P-1002").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I-3", "P-9999").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I 3", "P-1002").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Count("loans"), 1);
  EXPECT_EQ(StatusOf("I-3"), ItemStatus::kAvailable);
}

TEST_F(CirculationTest, ExpiredCardCannotBorrow) {
  AddPatron("P-OLD", "Canary Old", D(2026, 11, 30));
  auto loan = circ().Checkout(testing::kStaff, "I-1", "P-OLD");
  EXPECT_EQ(loan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("loans"), 0);
}

TEST_F(CirculationTest, ErrorMessagesNameNoPatronData) {
  auto missing = circ().Checkout(testing::kStaff, "I-1", "P-SECRET-77");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().find("P-SECRET-77"), std::string::npos);
  NewPatron dup;
  dup.card_barcode = "P-1001";
  dup.name = "Someone Else";
  dup.expires_on = D(2027, 1, 1);
  auto added = circ().AddPatron(testing::kStaff, dup);
  EXPECT_EQ(added.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(added.status().message().find("P-1001"), std::string::npos);
}

TEST_F(CirculationTest, RenewalsStopAtTheLimit) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  SetDay(D(2026, 12, 15));
  auto first = circ().Renew(testing::kStaff, "I-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->renewals, 1);
  EXPECT_EQ(first->due_on, D(2027, 1, 5));
  auto second = circ().Renew(testing::kStaff, "I-1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->renewals, 2);
  EXPECT_EQ(second->due_on, D(2027, 1, 5));  // renewing the same day never shortens the loan
  auto third = circ().Renew(testing::kStaff, "I-1");
  EXPECT_EQ(third.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(circ().Renew(testing::kStaff, "I-3").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CirculationTest, NoRenewalWhileSomeoneWaits) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  ASSERT_TRUE(circ().PlaceHold(testing::kStaff, "I-1", "P-1002").ok());
  EXPECT_EQ(circ().Renew(testing::kStaff, "I-1").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CirculationTest, CheckinMovesLoanToHistoryWithItsLink) {
  auto loan = circ().Checkout(testing::kStaff, "I-1", "P-1001");
  ASSERT_TRUE(loan.ok());
  SetDay(D(2026, 12, 10));
  auto result = circ().Checkin(testing::kStaff, "I-1");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->fine_cents, 0);
  EXPECT_EQ(Count("loans"), 0);
  EXPECT_EQ(Count("loan_history"), 1);
  // The link is sealed under the return day's epoch key, and opens to the patron.
  auto linked = circ().ReturnedLoanPatron(testing::kStaff, result->history_id);
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ(*linked, loan->patron_id);
  std::string epoch;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) {
    return tx.Exec("SELECT link_epoch FROM loan_history", {}, [&](const Row& row) {
      epoch = row.Text(0);
      return Status::Ok();
    });
  }).ok());
  EXPECT_EQ(epoch, "loan/2026-12-10");
  auto history = circ().PatronHistory(testing::kStaff, loan->patron_id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].returned_on, D(2026, 12, 10));
  EXPECT_EQ(StatusOf("I-1"), ItemStatus::kAvailable);
  EXPECT_EQ(circ().Checkin(testing::kStaff, "I-1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count("loan_history"), 1);
}

TEST_F(CirculationTest, FinesCountOpenDaysOnly) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());  // due 2026-12-22
  SetDay(D(2026, 12, 29));  // 23..29 is seven days, Christmas closed: six open days
  auto result = circ().Checkin(testing::kStaff, "I-1");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->overdue_days, 6);
  EXPECT_EQ(result->fine_cents, 6 * 20);
  auto fines = circ().PatronFines(testing::kStaff, ids_["P-1001"]);
  ASSERT_TRUE(fines.ok());
  ASSERT_EQ(fines->size(), 1u);
  EXPECT_EQ((*fines)[0].amount_cents, 120);
  EXPECT_EQ((*fines)[0].status, FineStatus::kOwed);
}

TEST_F(CirculationTest, FineIsCapped) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  SetDay(D(2027, 3, 1));
  auto result = circ().Checkin(testing::kStaff, "I-1");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->fine_cents, 500);
}

TEST_F(CirculationTest, FinePaymentAndWaiver) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-3", "P-1001").ok());
  SetDay(D(2027, 1, 5));
  auto a = circ().Checkin(testing::kStaff, "I-1");
  auto b = circ().Checkin(testing::kStaff, "I-3");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NE(a->fine_id, 0);
  EXPECT_TRUE(circ().PayFine(testing::kStaff, a->fine_id).ok());
  EXPECT_EQ(circ().PayFine(testing::kStaff, a->fine_id).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(circ().WaiveFine(testing::kStaff, b->fine_id, WaiverReason::kHardship).ok());
  EXPECT_EQ(circ().WaiveFine(testing::kStaff, b->fine_id, WaiverReason::kHardship).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(circ().PayFine(testing::kStaff, 999).code(), StatusCode::kNotFound);
  // Settled fines are no longer linked to the patron in the clear.
  auto fines = circ().PatronFines(testing::kStaff, ids_["P-1001"]);
  ASSERT_TRUE(fines.ok());
  EXPECT_TRUE(fines->empty());
  EXPECT_FALSE(ParseWaiverReason("because").ok());
}

TEST_F(CirculationTest, HoldQueueServesPatronsInOrder) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  auto first = circ().PlaceHold(testing::kStaff, "I-1", "P-1002");
  lib_.clock.Advance(hours(1));
  auto second = circ().PlaceHold(testing::kStaff, "I-1", "P-1003");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->status, HoldStatus::kWaiting);
  EXPECT_EQ(circ().PlaceHold(testing::kStaff, "I-1", "P-1002").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(circ().PlaceHold(testing::kStaff, "I-1", "P-1001").status().code(),
            StatusCode::kFailedPrecondition);

  auto back = circ().Checkin(testing::kStaff, "I-1");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->hold_ready_id, first->id);
  EXPECT_EQ(StatusOf("I-1"), ItemStatus::kOnHoldShelf);
  // Only the patron whose hold is ready may take it.
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I-1", "P-1003").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1002").ok());
  auto queue = circ().HoldQueue(testing::kStaff, back->item_id);
  ASSERT_TRUE(queue.ok());
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_EQ((*queue)[0].id, second->id);
}

TEST_F(CirculationTest, CancellingAReadyHoldPassesTheItemOn) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  auto first = circ().PlaceHold(testing::kStaff, "I-1", "P-1002");
  lib_.clock.Advance(hours(1));
  auto second = circ().PlaceHold(testing::kStaff, "I-1", "P-1003");
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-1").ok());
  ASSERT_TRUE(circ().CancelHold(testing::kStaff, first->id).ok());
  EXPECT_EQ(circ().CancelHold(testing::kStaff, first->id).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1003").ok());
  (void)second;
}

TEST_F(CirculationTest, HoldOnAvailableItemIsReadyAtOnce) {
  auto hold = circ().PlaceHold(testing::kStaff, "I-3", "P-1002");
  ASSERT_TRUE(hold.ok());
  EXPECT_EQ(hold->status, HoldStatus::kReady);
  EXPECT_EQ(hold->ready_until, D(2026, 12, 8));
  EXPECT_EQ(StatusOf("I-3"), ItemStatus::kOnHoldShelf);
}

TEST_F(CirculationTest, UncollectedHoldsExpireAfterPickupPeriod) {
  auto hold = circ().PlaceHold(testing::kStaff, "I-3", "P-1002");  // ready until 2026-12-08
  ASSERT_TRUE(hold.ok());
  SetDay(D(2026, 12, 8));
  auto expired = circ().ExpireHolds(testing::kStaff);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);  // the last pickup day is still good
  SetDay(D(2026, 12, 9));
  expired = circ().ExpireHolds(testing::kStaff);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(StatusOf("I-3"), ItemStatus::kAvailable);
}

TEST_F(CirculationTest, WithdrawAndMissing) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  EXPECT_EQ(circ().WithdrawItem(testing::kStaff, "I-1").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(circ().MarkItemMissing(testing::kStaff, "I-1").ok());
  EXPECT_EQ(Count("loans"), 0);
  EXPECT_EQ(StatusOf("I-1"), ItemStatus::kMissing);
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I-1", "P-1002").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-1").ok());  // found again
  EXPECT_EQ(StatusOf("I-1"), ItemStatus::kAvailable);
  ASSERT_TRUE(circ().WithdrawItem(testing::kStaff, "I-1").ok());
  EXPECT_EQ(circ().Checkout(testing::kStaff, "I-1", "P-1002").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CirculationTest, ItemTypeMustHaveALoanPeriod) {
  auto item = circ().AddItem(testing::kStaff, {"I-9", "T", "A", "C", "spaceship"});
  EXPECT_EQ(item.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CirculationTest, ComputerSessionsOnePerStationAndPatron) {
  auto s = circ().StartComputerSession(testing::kStaff, "P-1001", "PC-1");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(circ().StartComputerSession(testing::kStaff, "P-1002", "PC-1").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(circ().StartComputerSession(testing::kStaff, "P-1001", "PC-2").status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(circ().EndComputerSession(testing::kStaff, s->id).ok());
  EXPECT_EQ(circ().EndComputerSession(testing::kStaff, s->id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(circ().StartComputerSession(testing::kStaff, "P-1002", "PC-1").ok());
}

TEST_F(CirculationTest, EnewsConfirmAndUnsubscribe) {
  auto token = circ().Subscribe(testing::kStaff, "  Reader@Example.org ");
  ASSERT_TRUE(token.ok());
  // Again: no new token to send, and no error to tell a stranger the address is there.
  auto again = circ().Subscribe(testing::kStaff, "reader@example.org");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "");
  EXPECT_EQ(circ().ConfirmSubscription(testing::kStaff, "not-a-token").code(), StatusCode::kNotFound);
  ASSERT_TRUE(circ().ConfirmSubscription(testing::kStaff, *token).ok());
  ASSERT_TRUE(circ().Unsubscribe(testing::kStaff, *token).ok());
  EXPECT_EQ(circ().Unsubscribe(testing::kStaff, *token).code(), StatusCode::kNotFound);
  EXPECT_TRUE(circ().Subscribe(testing::kStaff, "reader@example.org").ok());  // may come back later
  EXPECT_EQ(circ().Subscribe(testing::kStaff, "not an address").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CirculationTest, UnconfirmedAddressesGoAfterFortyEightHours) {
  SetDay(D(2026, 12, 1));
  auto token = circ().Subscribe(testing::kStaff, "late@example.org");
  ASSERT_TRUE(token.ok());
  auto count = [&] {
    int64_t n = -1;
    EXPECT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(n,
                                          tx.QueryInt("SELECT count(*) FROM enews_subscriptions"));
                  return Status::Ok();
                }).ok());
    return n;
  };
  // Within 48 hours it can still be confirmed; after them it is gone, and its token with it.
  SetDay(D(2026, 12, 3));
  ASSERT_TRUE(circ().Subscribe(testing::kStaff, "other@example.org").ok());
  EXPECT_EQ(count(), 2);
  SetDay(D(2026, 12, 4));
  EXPECT_EQ(circ().ConfirmSubscription(testing::kStaff, *token).code(), StatusCode::kNotFound);
  EXPECT_EQ(count(), 1);
}

TEST_F(CirculationTest, LastActivityMovesWithUse) {
  SetDay(D(2026, 12, 3));
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1001").ok());
  auto p = circ().FindPatronByBarcode(testing::kStaff, "P-1001");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->last_activity_on, D(2026, 12, 3));
}

TEST_F(CirculationTest, OverdueLoansAsOfToday) {
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-2", "P-1001").ok());  // dvd due 2026-12-08
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-1002").ok());  // book due 2026-12-22
  SetDay(D(2026, 12, 9));
  auto overdue = circ().OverdueLoans(testing::kStaff, 10);
  ASSERT_TRUE(overdue.ok());
  ASSERT_EQ(overdue->size(), 1u);
  EXPECT_EQ((*overdue)[0].due_on, D(2026, 12, 8));
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

// Items read together are the items read one by one; an id that names none is left out, and
// an id asked twice is read once.
TEST_F(CirculationTest, ItemsReadTogetherAreTheItemsReadOneByOne) {
  auto one = circ().FindItemByBarcode("I-1");
  auto two = circ().FindItemByBarcode("I-2");
  ASSERT_TRUE(one.ok() && two.ok());
  auto items = circ().GetItems({two->id, 999999, one->id, two->id});
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ(items->at(one->id).barcode, "I-1");
  EXPECT_EQ(items->at(two->id).item_type, "dvd");
  EXPECT_FALSE(items->contains(999999));
  auto none = circ().GetItems({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

// What retention reads of circulation, inside its own transaction: an account is dormant once
// its card expired and it was last used before the cutoff, listed with what it still has out
// or owes; eNews addresses go stale by their status and date; a removal reports whether there
// was anything to remove.
TEST_F(CirculationTest, DormantAccountsCarryWhatTheyStillHaveOutOrOwe) {
  AddPatron("P-2001", "Canary Dormant", D(2026, 12, 5));
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-2001").ok());  // due 2026-12-22
  auto dormant = [&](Date cutoff) {
    std::vector<Circulation::DormantAccount> out;
    EXPECT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(out, Circulation::DormantAccountsIn(tx, cutoff));
                  return Status::Ok();
                }).ok());
    return out;
  };
  EXPECT_TRUE(dormant(D(2026, 12, 5)).empty());  // the card is still good that day
  auto listed = dormant(D(2026, 12, 10));
  ASSERT_EQ(listed.size(), 1u);  // the others' cards run to the end of 2027
  EXPECT_EQ(listed[0].patron_id, ids_["P-2001"]);
  EXPECT_EQ(listed[0].loans, 1);
  EXPECT_EQ(listed[0].fines_owed, 0);
  SetDay(D(2026, 12, 29));  // a week late: a fine
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-1").ok());
  EXPECT_TRUE(dormant(D(2026, 12, 29)).empty());  // returning it was activity
  listed = dormant(D(2026, 12, 30));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].loans, 0);
  EXPECT_EQ(listed[0].fines_owed, 1);
}

TEST_F(CirculationTest, StaleSubscriptionsByStatusAndDate) {
  auto pending = circ().Subscribe(testing::kStaff, "first@example.org");
  auto confirmed = circ().Subscribe(testing::kStaff, "second@example.org");
  ASSERT_TRUE(pending.ok() && confirmed.ok());
  ASSERT_TRUE(circ().ConfirmSubscription(testing::kStaff, *confirmed).ok());
  ASSERT_TRUE(circ().Unsubscribe(testing::kStaff, *confirmed).ok());
  Store& store = lib_.library->store();
  auto stale = [&](bool unsubscribed, Date cutoff) {
    std::vector<int64_t> out;
    EXPECT_TRUE(WithReadTransaction(store, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      out, Circulation::StaleSubscriptionsIn(tx, unsubscribed, cutoff));
                  return Status::Ok();
                }).ok());
    return out;
  };
  EXPECT_TRUE(stale(false, D(2026, 12, 1)).empty());  // taken today: not before today
  auto unconfirmed = stale(false, D(2026, 12, 2));
  auto left = stale(true, D(2026, 12, 2));
  ASSERT_EQ(unconfirmed.size(), 1u);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_NE(unconfirmed[0], left[0]);
  EXPECT_EQ(Count("enews_subscriptions"), 2);
  for (bool expected : {true, false}) {
    EXPECT_TRUE(WithWriteTransaction(store, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(bool removed,
                                          Circulation::RemoveSubscriptionIn(tx, left[0]));
                  EXPECT_EQ(removed, expected);
                  return Status::Ok();
                }).ok());
  }
  EXPECT_EQ(Count("enews_subscriptions"), 1);
  EXPECT_TRUE(stale(true, D(2026, 12, 2)).empty());
}

}  // namespace
}  // namespace carrel
