#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "carrel/store.h"

namespace carrel::testing {

// The integer a query gives (a count, mostly), read in a read transaction of its own; -1, and a
// test failure, when the query fails.
inline int64_t QueryCount(Store& store, const std::string& sql,
                          std::initializer_list<Value> params = {}) {
  int64_t n = -1;
  Status read = WithReadTransaction(store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt(sql, params));
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok()) << read.ToString();
  return n;
}

// How many rows a table holds.
inline int64_t RowCount(Store& store, const std::string& table) {
  return QueryCount(store, "SELECT count(*) FROM " + table);
}

// How many entries on the audit log record this action.
inline int64_t AuditedCount(Store& store, const std::string& action) {
  return QueryCount(store, "SELECT count(*) FROM audit_log WHERE carrel_audit_field(entry, 2) = ?",
                    {action});
}

}  // namespace carrel::testing
