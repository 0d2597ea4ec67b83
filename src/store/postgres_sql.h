// carrel's portable SQL as PostgreSQL reads it (docs/design.md §10: PostgreSQL).
//
// Modules write one SQL: `?` placeholders, INTEGER/TEXT/BLOB columns, SQLite's triggers that
// refuse a change. On PostgreSQL, queries get numbered placeholders and a case-blind LIKE (as
// SQLite's), and schema steps get PostgreSQL's types and trigger functions. What cannot be
// translated is refused, so that a migration never half-works on one engine.
#pragma once

#include <string>
#include <string_view>

#include "carrel/status.h"

namespace carrel::postgres {

struct Query {
  std::string sql;
  int params = 0;
};

// `?` → `$n`, LIKE → ILIKE, BLOB → BYTEA, INTEGER → BIGINT; quoted text and comments kept.
Query TranslateQuery(std::string_view sql);

// A schema step: each statement translated as a query, TEXT columns compared byte by byte
// (COLLATE "C", as SQLite compares), WITHOUT ROWID dropped, an `id INTEGER PRIMARY KEY` given
// SQLite's next-id default, SQLite's refusing triggers made PostgreSQL triggers, DROP TRIGGER
// made to find the trigger's table. kInvalidArgument for a trigger of another form.
StatusOr<std::string> TranslateSchema(std::string_view sql);

// The functions translated schema steps use (created with the first migration).
std::string_view SupportFunctions();

}  // namespace carrel::postgres
