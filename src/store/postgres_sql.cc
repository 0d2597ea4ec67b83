#include "store/postgres_sql.h"

#include <cctype>
#include <regex>
#include <vector>

namespace carrel::postgres {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool WordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Walks `sql`, copying quoted text and comments as they are and handing each bare word and
// each other character to `word` / `other`.
template <typename Word, typename Other>
void Walk(std::string_view sql, Word word, Other other, std::string* out) {
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t end = i + 1;
      while (end < sql.size()) {
        if (sql[end] == c) {
          if (end + 1 < sql.size() && sql[end + 1] == c) {
            end += 2;
            continue;
          }
          break;
        }
        ++end;
      }
      end = std::min(end + 1, sql.size());
      out->append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
      out->append(sql.substr(i, end - i));
      i = end;
    } else if (WordChar(c)) {
      size_t end = i;
      while (end < sql.size() && WordChar(sql[end])) ++end;
      word(sql.substr(i, end - i), out);
      i = end;
    } else {
      other(c, out);
      ++i;
    }
  }
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\n");
  return s.substr(a, b - a + 1);
}

// A statement without the comment lines before it.
std::string Uncommented(const std::string& raw) {
  std::string statement = Trim(raw);
  while (statement.rfind("--", 0) == 0) {
    size_t nl = statement.find('\n');
    statement = nl == std::string::npos ? "" : Trim(statement.substr(nl + 1));
  }
  return statement;
}

const std::regex kTriggerStart(R"(^CREATE\s+TRIGGER\b)", std::regex::icase);
const std::regex kEndsWithEnd(R"(\bEND\s*$)", std::regex::icase);

// The statements of a schema step: split at semicolons outside quotes, a trigger's body kept
// whole (BEGIN ... END).
std::vector<std::string> Statements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  Walk(
      sql, [&](std::string_view w, std::string* o) { o->append(w); },
      [&](char c, std::string* o) {
        if (c == ';') {
          std::string statement = Uncommented(*o);
          if (std::regex_search(statement, kTriggerStart) &&
              !std::regex_search(statement, kEndsWithEnd)) {
            o->push_back(c);  // inside the trigger's body
            return;
          }
          if (!statement.empty()) out.push_back(statement);
          o->clear();
          return;
        }
        o->push_back(c);
      },
      &current);
  std::string last = Uncommented(current);
  if (!last.empty()) out.push_back(last);
  return out;
}

// Words of the schema: types as PostgreSQL names them; TEXT compared byte by byte.
std::string SchemaWords(std::string_view sql) {
  std::string out;
  Walk(
      sql,
      [&](std::string_view w, std::string* o) {
        std::string u = Upper(w);
        if (u == "BLOB") {
          o->append("BYTEA");
        } else if (u == "INTEGER") {
          o->append("BIGINT");
        } else if (u == "TEXT") {
          o->append("TEXT COLLATE \"C\"");
        } else {
          o->append(w);
        }
      },
      [&](char c, std::string* o) { o->push_back(c); }, &out);
  return out;
}

const std::regex kRefusingTrigger(
    R"(^\s*CREATE\s+TRIGGER\s+(\w+)\s+BEFORE\s+(UPDATE(?:\s+OF\s+[\w\s,]+?)?|DELETE|INSERT)\s+ON\s+(\w+)(?:\s+WHEN\s+([\s\S]*?))?\s+BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*('(?:[^']|'')*')\s*\)\s*;\s*END\s*$)",
    std::regex::icase);
const std::regex kDropTrigger(R"(^\s*DROP\s+TRIGGER\s+(IF\s+EXISTS\s+)?(\w+)\s*$)",
                              std::regex::icase);
const std::regex kCreateTable(R"(^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\()",
                              std::regex::icase);
const std::regex kRowidColumn(R"(\(\s*id\s+INTEGER\s+PRIMARY\s+KEY\s*[,)])", std::regex::icase);
const std::regex kWithoutRowid(R"(\)\s*WITHOUT\s+ROWID\s*$)", std::regex::icase);

}  // namespace

Query TranslateQuery(std::string_view sql) {
  Query q;
  q.sql.reserve(sql.size() + 16);
  Walk(
      sql,
      [&](std::string_view w, std::string* o) {
        std::string u = Upper(w);
        if (u == "LIKE") {
          o->append("ILIKE");  // SQLite's LIKE ignores the case of ASCII letters
        } else if (u == "BLOB") {
          o->append("BYTEA");
        } else if (u == "INTEGER") {
          o->append("BIGINT");
        } else {
          o->append(w);
        }
      },
      [&](char c, std::string* o) {
        if (c == '?') {
          o->append("$" + std::to_string(++q.params));
        } else {
          o->push_back(c);
        }
      },
      &q.sql);
  return q;
}

StatusOr<std::string> TranslateSchema(std::string_view sql) {
  std::string out;
  for (std::string statement : Statements(sql)) {
    std::smatch m;
    if (std::regex_search(statement, kTriggerStart)) {
      if (!std::regex_match(statement, m, kRefusingTrigger)) {
        return InvalidArgument(
            "a trigger that only refuses a change is all carrel translates for "
            "PostgreSQL: give this migration a PostgreSQL form");
      }
      out += "CREATE TRIGGER " + m[1].str() + " BEFORE " + m[2].str() + " ON " + m[3].str() +
             " FOR EACH ROW ";
      if (m[4].matched) out += "WHEN (" + Trim(m[4].str()) + ") ";
      out += "EXECUTE FUNCTION carrel_refuse(" + m[5].str() + ");\n";
      continue;
    }
    if (std::regex_match(statement, m, kDropTrigger)) {
      // PostgreSQL names a trigger with its table; SQLite's DROP TRIGGER does not.
      out +=
          "DO $carrel$ DECLARE t regclass; BEGIN SELECT tgrelid::regclass INTO t FROM "
          "pg_trigger WHERE tgname = '" +
          m[2].str() +
          "' AND NOT tgisinternal LIMIT 1; IF t IS NOT NULL THEN EXECUTE format('DROP "
          "TRIGGER %I ON %s', '" +
          m[2].str() + "', t); END IF; END $carrel$;\n";
      continue;
    }
    statement = std::regex_replace(statement, kWithoutRowid, ")");
    out += TranslateQuery(SchemaWords(statement)).sql + ";\n";
    if (std::regex_search(statement, m, kCreateTable)) {
      std::string table = m[1].str();
      if (std::regex_search(statement, kRowidColumn)) {
        // SQLite gives a row without an id the next one; so does this trigger.
        out += "CREATE TRIGGER " + table + "_next_id BEFORE INSERT ON " + table +
               " FOR EACH ROW WHEN (NEW.id IS NULL) EXECUTE FUNCTION carrel_next_id();\n";
      }
    }
  }
  return out;
}

std::string_view SupportFunctions() {
  return R"sql(
CREATE OR REPLACE FUNCTION carrel_refuse() RETURNS trigger LANGUAGE plpgsql AS $carrel$
BEGIN
  RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
END
$carrel$;
CREATE OR REPLACE FUNCTION carrel_next_id() RETURNS trigger LANGUAGE plpgsql AS $carrel$
BEGIN
  EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    INTO NEW.id;
  RETURN NEW;
END
$carrel$;
)sql";
}

}  // namespace carrel::postgres
