#include "audit/schema.h"

namespace carrel {
namespace {

// Leaves live in audit_log (entry and leaf hash); interior nodes of complete subtrees in
// audit_nodes (level >= 1, index within the level). Nothing in these tables is ever updated
// or deleted: the triggers refuse it, as a first line. The signed heads kept outside the
// server are the real evidence.
constexpr char kAuditSchema[] = R"sql(
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  entry BLOB NOT NULL,
  leaf_hash BLOB NOT NULL,
  time TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  case_id TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, seq);
CREATE INDEX audit_log_case ON audit_log (case_id, seq) WHERE case_id <> '';

CREATE TABLE audit_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
);

CREATE TABLE audit_heads (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  signed_at TEXT NOT NULL,
  note TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

// Version 4 of the library schema: the search columns that repeated fields of each entry are
// gone, and the indexes are built on the fields inside the entry itself, so the log holds no
// second copy of anything that could disagree with the entry (and verification has nothing
// but the entry and its leaf hash to read).
constexpr char kAuditDerivedIndexes[] = R"sql(
DROP INDEX audit_log_time;
DROP INDEX audit_log_actor;
DROP INDEX audit_log_object;
DROP INDEX audit_log_case;
ALTER TABLE audit_log DROP COLUMN time;
ALTER TABLE audit_log DROP COLUMN actor_id;
ALTER TABLE audit_log DROP COLUMN action;
ALTER TABLE audit_log DROP COLUMN object_type;
ALTER TABLE audit_log DROP COLUMN object_id;
ALTER TABLE audit_log DROP COLUMN case_id;
CREATE INDEX audit_log_time ON audit_log (carrel_audit_field(entry, 0));
CREATE INDEX audit_log_actor ON audit_log (carrel_audit_field(entry, 1));
CREATE INDEX audit_log_object ON audit_log
  (carrel_audit_field(entry, 3), carrel_audit_field(entry, 4));
CREATE INDEX audit_log_case ON audit_log (carrel_audit_field(entry, 5))
  WHERE carrel_audit_field(entry, 5) <> '';
)sql";

// Version 6: tree nodes in one B-tree keyed by (level, idx) instead of a rowid table plus an
// index on the same key, so an append dirties one page fewer for the commit to write.
constexpr char kAuditNodesWithoutRowid[] = R"sql(
CREATE TABLE audit_nodes_compact (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
INSERT INTO audit_nodes_compact (level, idx, hash) SELECT level, idx, hash FROM audit_nodes;
DROP TRIGGER audit_nodes_no_update;
DROP TRIGGER audit_nodes_no_delete;
DROP TABLE audit_nodes;
ALTER TABLE audit_nodes_compact RENAME TO audit_nodes;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

// Version 7: no time index. Entries are appended in time order (an entry's time is never
// earlier than the one before it), so a time range is found by binary search over the sequence
// numbers, and an append writes one index page fewer.
constexpr char kAuditTimeBySequence[] = R"sql(
DROP INDEX audit_log_time;
)sql";

// Version 4 on PostgreSQL: the field function in PL/pgSQL, then the same statements. It reads
// the entry's encoding as src/audit/entry.cc writes it: a format byte, two 8-byte numbers, then
// strings each behind a 4-byte big-endian length.
constexpr char kAuditFieldFunctionPostgres[] = R"sql(
CREATE OR REPLACE FUNCTION carrel_audit_field(entry bytea, k integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $carrel$
DECLARE
  pos integer := 17;
  len integer;
  field integer := 0;
  want integer := CASE k WHEN 1 THEN 0 WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 WHEN 5 THEN 5
                  ELSE -1 END;
BEGIN
  IF want < 0 OR length(entry) < 17 OR get_byte(entry, 0) <> 1 THEN RETURN NULL; END IF;
  LOOP
    IF pos + 4 > length(entry) THEN RETURN NULL; END IF;
    len := (get_byte(entry, pos) << 24) | (get_byte(entry, pos + 1) << 16) |
           (get_byte(entry, pos + 2) << 8) | get_byte(entry, pos + 3);
    IF len < 0 OR pos + 4 + len > length(entry) THEN RETURN NULL; END IF;
    IF field = want THEN RETURN convert_from(substring(entry FROM pos + 5 FOR len), 'UTF8'); END IF;
    pos := pos + 4 + len;
    field := field + 1;
  END LOOP;
END
$carrel$;
)sql";

}  // namespace

const std::vector<std::string>& AuditAppendOnlyTables() {
  static const std::vector<std::string> tables = {"audit_log", "audit_nodes", "audit_heads"};
  return tables;
}

const std::vector<Migration>& AuditMigrations() {
  // (Field 0, the time, reads as NULL there: its index goes at version 7 anyway.)
  static const std::string kAuditDerivedIndexesPostgres =
      std::string(kAuditFieldFunctionPostgres) + kAuditDerivedIndexes;
  static const std::vector<Migration> migrations = {
      {2, "audit log", kAuditSchema},
      {4, "audit log indexed on its entries", kAuditDerivedIndexes, kAuditDerivedIndexesPostgres},
      {6, "audit tree nodes without rowids", kAuditNodesWithoutRowid},
      {7, "audit time ranges by sequence", kAuditTimeBySequence},
  };
  return migrations;
}

}  // namespace carrel
