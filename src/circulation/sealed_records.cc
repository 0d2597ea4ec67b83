#include "circulation/sealed_records.h"

#include <sodium.h>

#include <cstring>
#include <unordered_set>

namespace carrel {
namespace {

constexpr char kPatronColumns[] =
    "SELECT id, card_barcode, name, email, phone, postal_address, juvenile, history_opt_in, "
    "expires_on, last_activity_on FROM patrons WHERE ";

std::string LinkBytes(int64_t id) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((id >> (8 * i)) & 0xff);
  return out;
}

int64_t LinkId(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return static_cast<int64_t>(v);
}

// Random patron ids below 2^48: unguessable order, exact in JSON numbers.
int64_t RandomPatronId() {
  uint64_t v;
  randombytes_buf(&v, sizeof v);
  return static_cast<int64_t>((v & ((uint64_t{1} << 48) - 1)) | 1);
}

// Seals the fields of patron `id` under the patron's key, the same way for a new row and a
// rewritten one: an optional field left empty is stored as NULL, not sealed.
struct PatronSealer {
  const SecretKey& key;
  int64_t id;

  Value operator()(std::string_view column, std::string_view value) const {
    return Blob{Vault::Seal(key, "patrons", column, id, value)};
  }
  Value Optional(std::string_view column, const std::string& value) const {
    return value.empty() ? Value() : (*this)(column, value);
  }
};

}  // namespace

Status SealedRecords::CheckPatronInput(const NewPatron& p) const {
  if (p.expires_on == Date{}) return InvalidArgument("expiry date is required");
  return Status::Ok();
}

StatusOr<Value> SealedRecords::EmailIndexColumn(const std::string& normalized_email) {
  if (normalized_email.empty()) return Value();
  CARREL_ASSIGN_OR_RETURN(std::string bi, EmailIndex(normalized_email));
  return Value(Blob{std::move(bi)});
}

StatusOr<Patron> SealedRecords::InsertPatron(Transaction& tx, const NewPatron& in, Date today) {
  CARREL_RETURN_IF_ERROR(CheckPatronInput(in));
  auto existing = FindPatronByBarcode(tx, in.card_barcode);
  if (existing.ok()) return AlreadyExists("a patron with that card barcode already exists");
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  for (int attempt = 0; attempt < 8; ++attempt) {
    int64_t id = RandomPatronId();
    CARREL_ASSIGN_OR_RETURN(int64_t taken,
                            tx.QueryInt("SELECT count(*) FROM patrons WHERE id = ?", {id}));
    if (taken > 0) continue;
    CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(Vault::PatronKeyName(id)));
    CARREL_RETURN_IF_ERROR(InsertPatronWithId(tx, id, in, today, *key));
    Patron out;
    out.id = id;
    out.card_barcode = in.card_barcode;
    out.name = in.name;
    out.email = NormalizeEmail(in.email);
    out.phone = in.phone;
    out.postal_address = in.postal_address;
    out.juvenile = in.juvenile;
    out.expires_on = in.expires_on;
    out.history_opt_in = in.history_opt_in;
    out.last_activity_on = today;
    return out;
  }
  return Internal("could not find a free patron id");
}

StatusOr<std::vector<int64_t>> SealedRecords::ReservePatronIds(int64_t count) {
  // Random 48-bit ids collide now and then in a large library (birthday bound: about one in
  // 300 seeds of a million patrons), so duplicates within the batch and ids whose key name is
  // already taken are drawn again.
  std::vector<int64_t> ids;
  std::unordered_set<int64_t> chosen;
  ids.reserve(count);
  int64_t wanted = count;
  for (int round = 0; wanted > 0; ++round) {
    if (round == 8) return Internal("could not find free patron ids");
    std::vector<int64_t> drawn;
    std::vector<std::string> names;
    while (static_cast<int64_t>(drawn.size()) < wanted) {
      int64_t id = RandomPatronId();
      if (!chosen.insert(id).second) continue;
      drawn.push_back(id);
      names.push_back(Vault::PatronKeyName(id));
    }
    CARREL_ASSIGN_OR_RETURN(std::vector<std::string> taken, vault_->keyring().CreateMany(names));
    std::unordered_set<std::string> taken_set(taken.begin(), taken.end());
    for (size_t i = 0; i < drawn.size(); ++i) {
      if (!taken_set.contains(names[i])) ids.push_back(drawn[i]);
    }
    wanted = count - static_cast<int64_t>(ids.size());
  }
  return ids;
}

Status SealedRecords::InsertPatronWithId(Transaction& tx, int64_t id, const NewPatron& in,
                                         Date today, const SecretKey& key) {
  std::string email = NormalizeEmail(in.email);
  CARREL_ASSIGN_OR_RETURN(std::string card_bi,
                          vault_->BlindIndex("card_barcode", NormalizeBarcode(in.card_barcode)));
  CARREL_ASSIGN_OR_RETURN(std::string name_bi, vault_->BlindIndex("name", NormalizeName(in.name)));
  CARREL_ASSIGN_OR_RETURN(Value email_bi, EmailIndexColumn(email));
  PatronSealer seal{key, id};
  Status s = tx.Exec(
      "INSERT INTO patrons (id, card_bi, email_bi, name_bi, card_barcode, name, email, phone, "
      "postal_address, juvenile, history_opt_in, expires_on, last_activity_on) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, Blob{card_bi}, email_bi, Blob{name_bi}, seal("card_barcode", in.card_barcode),
       seal("name", in.name), seal.Optional("email", email),
       seal.Optional("phone", in.phone), seal.Optional("postal_address", in.postal_address),
       seal("juvenile", in.juvenile ? "1" : "0"),
       seal("history_opt_in", in.history_opt_in ? "1" : "0"), FormatDate(in.expires_on),
       FormatDate(today)});
  if (s.code() == StatusCode::kAlreadyExists) return AlreadyExists("patron id collision");
  return s;
}

Status SealedRecords::RewritePatron(Transaction& tx, const Patron& p) {
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(p.id)));
  std::string email = NormalizeEmail(p.email);
  CARREL_ASSIGN_OR_RETURN(std::string name_bi, vault_->BlindIndex("name", NormalizeName(p.name)));
  CARREL_ASSIGN_OR_RETURN(Value email_bi, EmailIndexColumn(email));
  PatronSealer seal{*key, p.id};
  return tx.Exec(
      "UPDATE patrons SET email_bi = ?, name_bi = ?, name = ?, email = ?, phone = ?, "
      "postal_address = ?, juvenile = ?, history_opt_in = ?, expires_on = ? WHERE id = ?",
      {email_bi, Blob{name_bi}, seal("name", p.name), seal.Optional("email", email),
       seal.Optional("phone", p.phone), seal.Optional("postal_address", p.postal_address),
       seal("juvenile", p.juvenile ? "1" : "0"), seal("history_opt_in", p.history_opt_in ? "1" : "0"),
       FormatDate(p.expires_on), p.id});
}

StatusOr<std::vector<Patron>> SealedRecords::ReadPatrons(Transaction& tx, std::string_view where,
                                                         const Value& key_value) {
  std::vector<Patron> out;
  std::string sql = std::string(kPatronColumns) + std::string(where);
  Status failure;
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, {key_value}, [&](const Row& row) -> Status {
    Patron p;
    p.id = row.Int(0);
    CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(p.id)));
    auto open = [&](int column, std::string_view name, std::string* into) -> Status {
      if (row.IsNull(column)) return Status::Ok();
      CARREL_ASSIGN_OR_RETURN(*into, Vault::Open(*key, "patrons", name, p.id, row.Bytes(column)));
      return Status::Ok();
    };
    std::string juvenile, opt_in;
    CARREL_RETURN_IF_ERROR(open(1, "card_barcode", &p.card_barcode));
    CARREL_RETURN_IF_ERROR(open(2, "name", &p.name));
    CARREL_RETURN_IF_ERROR(open(3, "email", &p.email));
    CARREL_RETURN_IF_ERROR(open(4, "phone", &p.phone));
    CARREL_RETURN_IF_ERROR(open(5, "postal_address", &p.postal_address));
    CARREL_RETURN_IF_ERROR(open(6, "juvenile", &juvenile));
    CARREL_RETURN_IF_ERROR(open(7, "history_opt_in", &opt_in));
    p.juvenile = juvenile == "1";
    p.history_opt_in = opt_in == "1";
    auto expires = ParseDate(row.Text(8));
    auto active = ParseDate(row.Text(9));
    if (!expires.ok() || !active.ok()) return DataLoss("a patron row has a malformed date");
    p.expires_on = *expires;
    p.last_activity_on = *active;
    out.push_back(std::move(p));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Patron> SealedRecords::GetPatron(Transaction& tx, int64_t id) {
  CARREL_ASSIGN_OR_RETURN(auto found, ReadPatrons(tx, "id = ?", id));
  if (found.empty()) return NotFound("no such patron");
  return std::move(found[0]);
}

StatusOr<Patron> SealedRecords::FindPatronByBarcode(Transaction& tx,
                                                    std::string_view card_barcode) {
  std::string wanted = NormalizeBarcode(card_barcode);
  CARREL_ASSIGN_OR_RETURN(std::string bi, vault_->BlindIndex("card_barcode", wanted));
  CARREL_ASSIGN_OR_RETURN(auto candidates, ReadPatrons(tx, "card_bi = ?", Blob{bi}));
  // The index is truncated: confirm each candidate on its decrypted barcode.
  for (Patron& p : candidates) {
    if (NormalizeBarcode(p.card_barcode) == wanted) return std::move(p);
  }
  return NotFound("no patron with that card barcode");
}

StatusOr<std::vector<Patron>> SealedRecords::FindPatronsByEmail(Transaction& tx,
                                                                std::string_view email) {
  std::string wanted = NormalizeEmail(email);
  CARREL_ASSIGN_OR_RETURN(std::string bi, vault_->BlindIndex("email", wanted));
  CARREL_ASSIGN_OR_RETURN(auto candidates, ReadPatrons(tx, "email_bi = ?", Blob{bi}));
  std::erase_if(candidates, [&](const Patron& p) { return NormalizeEmail(p.email) != wanted; });
  return candidates;
}

StatusOr<std::vector<Patron>> SealedRecords::FindPatronsByName(Transaction& tx,
                                                               std::string_view name) {
  std::string wanted = NormalizeName(name);
  CARREL_ASSIGN_OR_RETURN(std::string bi, vault_->BlindIndex("name", wanted));
  CARREL_ASSIGN_OR_RETURN(auto candidates, ReadPatrons(tx, "name_bi = ?", Blob{bi}));
  std::erase_if(candidates, [&](const Patron& p) { return NormalizeName(p.name) != wanted; });
  return candidates;
}

StatusOr<std::string_view> LinkCategory(std::string_view table) {
  if (table == "loan_history") return std::string_view("loan");
  if (table == "holds") return std::string_view("hold");
  if (table == "fines") return std::string_view("fine");
  if (table == "computer_sessions") return std::string_view("session");
  return InvalidArgument("no patron links in table " + std::string(table));
}

StatusOr<SealedLink> SealedRecords::SealLinkInEpoch(std::string_view table, int64_t row,
                                                    int64_t patron_id, std::string_view epoch) {
  SealedLink out;
  out.epoch = std::string(epoch);
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(Vault::EpochKeyName(epoch)));
  out.link = Vault::Seal(*key, table, "patron_link", row, LinkBytes(patron_id));
  out.tag = Vault::LinkTag(*key, patron_id);
  return out;
}

StatusOr<SealedLink> SealedRecords::SealLink(std::string_view table, int64_t row,
                                             int64_t patron_id, Date epoch_day,
                                             bool own_history) {
  SealedLink out;
  std::shared_ptr<const SecretKey> key;
  if (own_history) {
    CARREL_ASSIGN_OR_RETURN(key, vault_->keyring().Get(Vault::PatronKeyName(patron_id)));
  } else {
    CARREL_ASSIGN_OR_RETURN(std::string_view category, LinkCategory(table));
    out.epoch = Vault::EpochName(category, epoch_day);
    CARREL_ASSIGN_OR_RETURN(key, vault_->keyring().GetOrCreate(Vault::EpochKeyName(out.epoch)));
  }
  out.link = Vault::Seal(*key, table, "patron_link", row, LinkBytes(patron_id));
  out.tag = Vault::LinkTag(*key, patron_id);
  return out;
}

StatusOr<std::optional<int64_t>> SealedRecords::OpenLink(std::string_view table, int64_t row,
                                                         std::string_view link,
                                                         std::string_view epoch,
                                                         std::optional<int64_t> patron_hint) {
  std::shared_ptr<const SecretKey> key;
  if (!epoch.empty()) {
    auto k = vault_->keyring().Get(Vault::EpochKeyName(epoch));
    if (k.status().code() == StatusCode::kNotFound) return std::optional<int64_t>();
    CARREL_RETURN_IF_ERROR(k.status());
    key = std::move(k).value();
  } else {
    if (!patron_hint) return std::optional<int64_t>();
    auto k = vault_->keyring().Get(Vault::PatronKeyName(*patron_hint));
    if (k.status().code() == StatusCode::kNotFound) return std::optional<int64_t>();
    CARREL_RETURN_IF_ERROR(k.status());
    key = std::move(k).value();
  }
  auto plain = Vault::Open(*key, table, "patron_link", row, link);
  if (!plain.ok()) {
    // Under a patron key that is not this row's: not this patron's link.
    if (epoch.empty()) return std::optional<int64_t>();
    return plain.status();
  }
  if (plain->size() != 8) return DataLoss("a sealed patron link has the wrong length");
  return std::optional<int64_t>(LinkId(*plain));
}

StatusOr<std::vector<std::string>> SealedRecords::LinkTags(int64_t patron_id) {
  std::vector<std::string> tags;
  CARREL_ASSIGN_OR_RETURN(auto epochs, vault_->keyring().LiveKeysWithSecrets("epoch/"));
  for (const auto& [name, key] : epochs) tags.push_back(Vault::LinkTag(*key, patron_id));
  auto own = vault_->keyring().Get(Vault::PatronKeyName(patron_id));
  if (own.ok()) tags.push_back(Vault::LinkTag(**own, patron_id));
  return tags;
}

StatusOr<std::string> SealedRecords::SealSubscriptionEmail(int64_t row, std::string_view email) {
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate("field/enews"));
  return Vault::Seal(*key, "enews_subscriptions", "email", row, email);
}

StatusOr<std::string> SealedRecords::OpenSubscriptionEmail(int64_t row, std::string_view sealed) {
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate("field/enews"));
  return Vault::Open(*key, "enews_subscriptions", "email", row, sealed);
}

StatusOr<std::string> SealedRecords::EmailIndex(std::string_view normalized_email) {
  return vault_->BlindIndex("email", normalized_email);
}

}  // namespace carrel
