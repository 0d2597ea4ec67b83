// The keyring: data keys wrapped by the master key, in an SQLite file of its own.
//
// Wrapped key: 24-byte nonce || XChaCha20-Poly1305(dek) || tag, associated data
// "carrel/dek/v1|<library id>|<name>", so a wrapped key moved to another name or another
// library's keyring does not unwrap. Each row names the KEK that wraps it (MasterKeyId), which
// is what lets a master-key rotation stop anywhere and resume.

#include <sodium.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>

#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {
namespace {

constexpr char kKeyringFormat[] = "carrel-keyring-1";
// Unwrapped keys stay in memory while they are in use: a key nobody used for kCacheIdle is
// dropped (looked for at most once a minute, when a key is added), so memory and what it holds
// follow the patrons being served, not every patron served since the start. The cache is
// emptied outright if it ever holds kCacheLimit keys.
constexpr size_t kCacheLimit = 65536;
constexpr std::chrono::minutes kCacheIdle{15};

constexpr char kSchema[] = R"sql(
CREATE TABLE keyring_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE master_key_checks (kek_id TEXT PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE data_keys (
  name TEXT PRIMARY KEY,
  kek_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX data_keys_kek ON data_keys (kek_id);
CREATE TABLE destroyed_keys (name TEXT PRIMARY KEY, destroyed_at TEXT NOT NULL);
)sql";

std::string Ad(std::string_view library_id, std::string_view name) {
  std::string ad = "carrel/dek/v1|";
  ad += library_id;
  ad += '|';
  ad += name;
  return ad;
}

std::string Wrap(const SecretKey& kek, std::string_view ad, const unsigned char* plain,
                 size_t n) {
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(p, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, nullptr, plain, n,
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, p, kek.data());
  return out;
}

// Unwraps into `out` (exactly `n` bytes). False if the bytes do not authenticate.
bool Unwrap(const SecretKey& kek, std::string_view ad, std::string_view wrapped,
            unsigned char* out, size_t n) {
  if (wrapped.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
                            crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return false;
  }
  auto* p = reinterpret_cast<const unsigned char*>(wrapped.data());
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, nullptr, nullptr, p + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
             wrapped.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p, kek.data()) == 0;
}

const unsigned char kCheckPlain[8] = {'c', 'a', 'r', 'r', 'e', 'l', '!', '\n'};

}  // namespace

struct Keyring::Impl {
  Impl(std::unique_ptr<Store> s, MasterKeys k, std::string library, const Clock* c)
      : store(std::move(s)),
        keys(std::move(k)),
        current_id(MasterKeyId(keys.current)),
        next_id(keys.next ? MasterKeyId(*keys.next) : ""),
        library_id(std::move(library)),
        clock(c) {}

  std::unique_ptr<Store> store;
  MasterKeys keys;
  std::string current_id;
  std::string next_id;  // empty unless rotating
  std::string library_id;
  const Clock* clock;
  std::function<void()> after_destroy;  // SetAfterDestroy's
  std::mutex mu;                        // guards cache, swept and destructions
  struct Cached {
    std::shared_ptr<const SecretKey> key;
    Instant used;
  };
  std::map<std::string, Cached, std::less<>> cache;
  Instant swept{};  // when idle keys were last dropped
  // Counts Destroy calls, before and after their commit. A key loaded while the count moved
  // may have been read before its destruction committed: it is neither cached nor returned,
  // and the load starts again.
  uint64_t destructions = 0;
  // On a store other servers write too, their destructions are counted in the keyring
  // itself ('destructions' in keyring_meta); this is the count the cache was last checked
  // against. A cached key that can be destroyed (a patron's, a day's links) is used only after
  // the count is read again and found unchanged; when it moved, the cache is emptied.
  std::string shared_destructions;

  // REQUIRES: mu held. The cached key called `name`, marked used now; null when not cached.
  std::shared_ptr<const SecretKey> FromCache(std::string_view name) {
    auto it = cache.find(name);
    if (it == cache.end()) return nullptr;
    it->second.used = clock->Now();
    return it->second.key;
  }

  // REQUIRES: mu held. Caches `key` as `name` (see kCacheIdle).
  void Remember(const std::string& name, std::shared_ptr<const SecretKey> key) {
    Instant now = clock->Now();
    if (now - swept >= std::chrono::minutes(1)) {
      std::erase_if(cache,
                    [&](const auto& entry) { return now - entry.second.used >= kCacheIdle; });
      swept = now;
    }
    if (cache.size() >= kCacheLimit) cache.clear();
    cache.insert_or_assign(name, Cached{std::move(key), now});
  }

  const SecretKey* KekById(std::string_view id) const {
    if (id == current_id) return &keys.current;
    if (keys.next && id == next_id) return &*keys.next;
    return nullptr;
  }

  // The KEK new keys are wrapped under: the next one while rotating.
  const SecretKey& WrappingKek() const { return keys.next ? *keys.next : keys.current; }
  const std::string& WrappingId() const { return keys.next ? next_id : current_id; }

  Status EnsureCheck(Transaction& tx, const SecretKey& kek, const std::string& id) {
    CARREL_ASSIGN_OR_RETURN(int64_t n, tx.QueryInt("SELECT count(*) FROM master_key_checks WHERE "
                                                   "kek_id = ?",
                                                   {id}));
    if (n > 0) return Status::Ok();
    return tx.Exec("INSERT INTO master_key_checks (kek_id, sealed) VALUES (?, ?)",
                   {id, Blob{Wrap(kek, Ad(library_id, "check"), kCheckPlain, sizeof kCheckPlain)}});
  }

  Status VerifyCheck(Transaction& tx, const SecretKey& kek, const std::string& id) {
    std::string sealed;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT sealed FROM master_key_checks WHERE kek_id = ?", {id}, [&](const Row& row) {
          sealed = row.Bytes(0);
          return Status::Ok();
        }));
    unsigned char out[sizeof kCheckPlain];
    if (sealed.empty() || !Unwrap(kek, Ad(library_id, "check"), sealed, out, sizeof out)) {
      return PermissionDenied("the master key does not open this library's keyring");
    }
    return Status::Ok();
  }

  StatusOr<std::shared_ptr<const SecretKey>> Load(std::string_view name, bool create);
  // Whether a key cached under `name` may still be used (see shared_destructions); empties the
  // cache when not.
  // `generation` is `destructions` when the key was taken from the cache: a key taken before
  // another check emptied the cache is not used either.
  StatusOr<bool> StillCached(std::string_view name, uint64_t generation);
  StatusOr<std::shared_ptr<const SecretKey>> LoadUncached(std::string_view name, bool create);
};

const std::vector<Migration>& Keyring::Schema() {
  static const std::vector<Migration> schema = {{1, "keyring", kSchema}};
  return schema;
}

Keyring::Keyring(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Keyring::~Keyring() = default;

const std::string& Keyring::library_id() const { return impl_->library_id; }

StatusOr<std::unique_ptr<Keyring>> Keyring::Create(const std::filesystem::path& file,
                                                   MasterKeys keys, std::string library_id,
                                                   const Clock* clock) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    return AlreadyExists(file.string() + " already exists; carrel will not overwrite a keyring");
  }
  SqliteOptions options;
  options.create_if_missing = true;
  options.secure_delete = true;
  CARREL_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(file, options));
  return Create(std::move(store), file.string(), std::move(keys), std::move(library_id), clock);
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Create(std::unique_ptr<Store> store,
                                                   const std::string& where, MasterKeys keys,
                                                   std::string library_id, const Clock* clock) {
  CARREL_ASSIGN_OR_RETURN(int version, store->SchemaVersion());
  if (version > 0) {
    return AlreadyExists(where + " already holds a keyring; carrel will not overwrite it");
  }
  CARREL_RETURN_IF_ERROR(store->Migrate({{1, "keyring", kSchema}}));
  auto impl =
      std::make_unique<Impl>(std::move(store), std::move(keys), std::move(library_id), clock);
  Impl* p = impl.get();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*p->store, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO keyring_meta (key, value) VALUES ('format', ?)",
                                   {std::string(kKeyringFormat)}));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO keyring_meta (key, value) VALUES ('library_id', ?)", {p->library_id}));
    return p->EnsureCheck(tx, p->keys.current, p->current_id);
  }));
  return std::unique_ptr<Keyring>(new Keyring(std::move(impl)));
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(const std::filesystem::path& file,
                                                 MasterKeys keys, std::string library_id,
                                                 const Clock* clock) {
  SqliteOptions options;
  options.secure_delete = true;
  auto store = OpenSqliteStore(file, options);
  if (store.status().code() == StatusCode::kNotFound) {
    return FailedPrecondition("no keyring at " + file.string() +
                              " (restore it with carrel restore --keys)");
  }
  CARREL_RETURN_IF_ERROR(store.status());
  return Open(std::move(store).value(), file.string(), std::move(keys), std::move(library_id),
              clock);
}

StatusOr<std::unique_ptr<Keyring>> Keyring::Open(std::unique_ptr<Store> store,
                                                 const std::string& where, MasterKeys keys,
                                                 std::string library_id, const Clock* clock) {
  auto impl =
      std::make_unique<Impl>(std::move(store), std::move(keys), std::move(library_id), clock);
  Impl* p = impl.get();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*p->store, [&](Transaction& tx) -> Status {
    std::string format, owner;
    Status s = tx.Exec("SELECT key, value FROM keyring_meta", {}, [&](const Row& row) {
      if (row.Text(0) == "format") format = row.Text(1);
      if (row.Text(0) == "library_id") owner = row.Text(1);
      return Status::Ok();
    });
    if (!s.ok() || format != kKeyringFormat) {
      return FailedPrecondition(where + " is not a carrel keyring");
    }
    if (owner != p->library_id) {
      return FailedPrecondition("the keyring " + where +
                                " belongs to another library than this database");
    }
    // A rotation that finished its rewrap may already have made the next key current.
    CARREL_RETURN_IF_ERROR(p->VerifyCheck(tx, p->keys.current, p->current_id));
    if (p->keys.next) CARREL_RETURN_IF_ERROR(p->EnsureCheck(tx, *p->keys.next, p->next_id));
    CARREL_ASSIGN_OR_RETURN(
        int64_t orphans,
        tx.QueryInt("SELECT count(*) FROM data_keys WHERE kek_id <> ? AND kek_id <> ?",
                    {p->current_id, p->next_id.empty() ? p->current_id : p->next_id}));
    if (orphans > 0) {
      return PermissionDenied("some data keys are wrapped by a master key that was not given "
                              "(an unfinished rotation whose master.key.next is missing?)");
    }
    return Status::Ok();
  }));
  return std::unique_ptr<Keyring>(new Keyring(std::move(impl)));
}

StatusOr<std::shared_ptr<const SecretKey>> Keyring::Impl::Load(std::string_view name,
                                                               bool create) {
  while (true) {
    uint64_t seen = 0;
    {
      std::unique_lock<std::mutex> lock(mu);
      if (std::shared_ptr<const SecretKey> key = FromCache(name); key != nullptr) {
        uint64_t generation = destructions;
        lock.unlock();
        CARREL_ASSIGN_OR_RETURN(bool usable, StillCached(name, generation));
        if (usable) return key;
        continue;
      }
      seen = destructions;
    }
    auto loaded = LoadUncached(name, create);
    if (!loaded.ok()) return loaded;
    std::lock_guard<std::mutex> lock(mu);
    if (destructions != seen) continue;  // a destruction may have raced this read
    Remember(std::string(name), *loaded);
    return loaded;
  }
}

namespace {

// Keys that are destroyed: a patron's when the patron is deleted, a day's links at retention.
bool Destructible(std::string_view name) {
  return name.substr(0, 7) == "patron/" || name.substr(0, 6) == "epoch/";
}

}  // namespace

StatusOr<bool> Keyring::Impl::StillCached(std::string_view name, uint64_t generation) {
  if (!store->shared() || !Destructible(name)) return true;
  std::string count;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store, [&](Transaction& tx) -> Status {
    return tx.Exec("SELECT value FROM keyring_meta WHERE key = 'destructions'", {},
                   [&](const Row& row) {
                     count = row.Text(0);
                     return Status::Ok();
                   });
  }));
  std::lock_guard<std::mutex> lock(mu);
  if (count == shared_destructions) return destructions == generation;
  ++destructions;  // a load under way may have read a key destroyed since
  cache.clear();
  shared_destructions = count;
  return false;
}

StatusOr<std::shared_ptr<const SecretKey>> Keyring::Impl::LoadUncached(std::string_view name,
                                                                       bool create) {
  std::string kek_id, wrapped;
  bool destroyed = false;
  auto read = [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT kek_id, wrapped FROM data_keys WHERE name = ?",
                                   {std::string(name)}, [&](const Row& row) {
                                     kek_id = row.Text(0);
                                     wrapped = row.Bytes(1);
                                     return Status::Ok();
                                   }));
    if (wrapped.empty()) {
      CARREL_ASSIGN_OR_RETURN(int64_t gone, tx.QueryInt("SELECT count(*) FROM destroyed_keys WHERE "
                                                        "name = ?",
                                                        {std::string(name)}));
      destroyed = gone > 0;
    }
    return Status::Ok();
  };
  std::shared_ptr<const SecretKey> key;
  if (!create) {
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*store, read));
  } else {
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(read(tx));
      if (!wrapped.empty() || destroyed) return Status::Ok();
      auto fresh = std::make_shared<const SecretKey>(SecretKey::Random());
      CARREL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO data_keys (name, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?)",
                  {std::string(name), WrappingId(),
                   Blob{Wrap(WrappingKek(), Ad(library_id, name), fresh->data(), SecretKey::kSize)},
                   FormatInstant(clock->Now())}));
      key = std::move(fresh);
      return Status::Ok();
    }));
  }
  if (destroyed) {
    return create ? FailedPrecondition("the key was destroyed and cannot be recreated")
                  : NotFound("the key was destroyed");
  }
  if (!key) {
    if (wrapped.empty()) return NotFound("no such key");
    const SecretKey* kek = KekById(kek_id);
    if (kek == nullptr) return PermissionDenied("a data key is wrapped by an unknown master key");
    SecretKey plain = SecretKey::Random();
    if (!Unwrap(*kek, Ad(library_id, name), wrapped,
                const_cast<unsigned char*>(plain.data()), SecretKey::kSize)) {
      return DataLoss("a wrapped data key in the keyring does not authenticate");
    }
    key = std::make_shared<const SecretKey>(std::move(plain));
  }
  return key;
}

StatusOr<std::shared_ptr<const SecretKey>> Keyring::GetOrCreate(std::string_view name) {
  return impl_->Load(name, true);
}

StatusOr<std::shared_ptr<const SecretKey>> Keyring::Get(std::string_view name) {
  return impl_->Load(name, false);
}

StatusOr<std::vector<std::string>> Keyring::CreateMany(const std::vector<std::string>& names) {
  Impl* p = impl_.get();
  std::string created_at = FormatInstant(p->clock->Now());
  std::vector<std::string> taken;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*p->store, [&](Transaction& tx) -> Status {
    taken.clear();
    for (const std::string& name : names) {
      CARREL_ASSIGN_OR_RETURN(int64_t gone, tx.QueryInt("SELECT count(*) FROM destroyed_keys WHERE "
                                                        "name = ?",
                                                        {name}));
      if (gone > 0) {
        taken.push_back(name);
        continue;
      }
      SecretKey fresh = SecretKey::Random();
      Status s = tx.Exec(
          "INSERT INTO data_keys (name, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (name) DO NOTHING",
          {name, p->WrappingId(),
           Blob{Wrap(p->WrappingKek(), Ad(p->library_id, name), fresh.data(), SecretKey::kSize)},
           created_at});
      CARREL_RETURN_IF_ERROR(s);
      // A name in use is skipped without failing the statement (PostgreSQL would end the
      // transaction at a failed one).
      if (tx.changes() == 0) taken.push_back(name);
    }
    return Status::Ok();
  }));
  return taken;
}

size_t Keyring::CachedKeyCount() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->cache.size();
}

bool Keyring::WasDestroyed(std::string_view name) {
  bool gone = false;
  (void)WithReadTransaction(*impl_->store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        int64_t n,
        tx.QueryInt("SELECT count(*) FROM destroyed_keys WHERE name = ?", {std::string(name)}));
    gone = n > 0;
    return Status::Ok();
  });
  return gone;
}

Status Keyring::Destroy(const std::vector<std::string>& names) {
  auto forget = [&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    ++impl_->destructions;
    for (const std::string& n : names) impl_->cache.erase(n);
  };
  forget();
  Instant now = impl_->clock->Now();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*impl_->store, [&](Transaction& tx) -> Status {
    // Counted for the other servers on a shared keyring (Impl::shared_destructions).
    int64_t count = 0;
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT value FROM keyring_meta WHERE key = 'destructions'", {},
                                   [&](const Row& row) {
                                     count = std::strtoll(row.Text(0).c_str(), nullptr, 10);
                                     return Status::Ok();
                                   }));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO keyring_meta (key, value) VALUES ('destructions', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {std::to_string(count + 1)}));
    for (const std::string& n : names) {
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM data_keys WHERE name = ?", {n}));
      CARREL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO destroyed_keys (name, destroyed_at) VALUES (?, ?) "
                  "ON CONFLICT (name) DO NOTHING",
                  {n, FormatInstant(now)}));
    }
    return Status::Ok();
  }));
  forget();  // again: nothing read before the commit stays cached
  // secure_delete zeroed the freed pages in the database; now empty the WAL that still holds
  // the pages as they were.
  Status checkpointed = impl_->store->Checkpoint();
  if (impl_->after_destroy) impl_->after_destroy();
  return checkpointed;
}

void Keyring::SetAfterDestroy(std::function<void()> hook) {
  impl_->after_destroy = std::move(hook);
}

StatusOr<std::vector<std::string>> Keyring::DestroyedKeys() {
  std::vector<std::string> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*impl_->store, [&](Transaction& tx) {
    return tx.Exec("SELECT name FROM destroyed_keys ORDER BY name", {}, [&](const Row& row) {
      out.push_back(row.Text(0));
      return Status::Ok();
    });
  }));
  return out;
}

StatusOr<std::vector<std::string>> Keyring::LiveKeys(std::string_view prefix) {
  std::vector<std::string> out;
  std::string upper(prefix);
  upper.push_back('\x7f');
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*impl_->store, [&](Transaction& tx) {
    return tx.Exec("SELECT name FROM data_keys WHERE name >= ? AND name < ? ORDER BY name",
                   {std::string(prefix), upper}, [&](const Row& row) {
                     out.push_back(row.Text(0));
                     return Status::Ok();
                   });
  }));
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::shared_ptr<const SecretKey>>>>
Keyring::LiveKeysWithSecrets(std::string_view prefix) {
  Impl* p = impl_.get();
  std::string upper(prefix);
  upper.push_back('\x7f');
  while (true) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(p->mu);
      seen = p->destructions;
    }
    std::vector<std::pair<std::string, std::shared_ptr<const SecretKey>>> out;
    std::vector<size_t> fresh;  // of `out`, unwrapped here
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*p->store, [&](Transaction& tx) -> Status {
      return tx.Exec(
          "SELECT name, kek_id, wrapped FROM data_keys WHERE name >= ? AND name < ? ORDER BY name",
          {std::string(prefix), upper}, [&](const Row& row) -> Status {
            std::string name = row.Text(0);
            {
              std::lock_guard<std::mutex> lock(p->mu);
              if (std::shared_ptr<const SecretKey> key = p->FromCache(name); key != nullptr) {
                out.emplace_back(std::move(name), std::move(key));
                return Status::Ok();
              }
            }
            const SecretKey* kek = p->KekById(row.Text(1));
            if (kek == nullptr) {
              return PermissionDenied("a data key is wrapped by an unknown master key");
            }
            SecretKey plain = SecretKey::Random();
            if (!Unwrap(*kek, Ad(p->library_id, name), row.Bytes(2),
                        const_cast<unsigned char*>(plain.data()), SecretKey::kSize)) {
              return DataLoss("a wrapped data key in the keyring does not authenticate");
            }
            fresh.push_back(out.size());
            out.emplace_back(std::move(name), std::make_shared<const SecretKey>(std::move(plain)));
            return Status::Ok();
          });
    }));
    std::lock_guard<std::mutex> lock(p->mu);
    if (p->destructions != seen) continue;  // a destruction may have raced this read
    for (size_t i : fresh) p->Remember(out[i].first, out[i].second);
    return out;
  }
}

StatusOr<int64_t> Keyring::LiveKeyCount() {
  int64_t n = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*impl_->store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt("SELECT count(*) FROM data_keys"));
    return Status::Ok();
  }));
  return n;
}

StatusOr<int64_t> Keyring::RewrapToNext(
    const std::function<void(int64_t done, int64_t total)>& progress, int64_t max_keys) {
  if (!impl_->keys.next) return FailedPrecondition("no next master key to rotate to");
  Impl* p = impl_.get();
  int64_t total = 0, done = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*p->store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        total, tx.QueryInt("SELECT count(*) FROM data_keys WHERE kek_id = ?", {p->current_id}));
    return Status::Ok();
  }));
  while (done < max_keys) {
    int64_t batch = 0;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*p->store, [&](Transaction& tx) -> Status {
      std::vector<std::pair<std::string, std::string>> rows;
      CARREL_RETURN_IF_ERROR(tx.Exec("SELECT name, wrapped FROM data_keys WHERE kek_id = ? LIMIT ?",
                                     {p->current_id, std::min<int64_t>(1000, max_keys - done)},
                                     [&](const Row& row) {
                                       rows.emplace_back(row.Text(0), row.Bytes(1));
                                       return Status::Ok();
                                     }));
      for (auto& [name, wrapped] : rows) {
        SecretKey plain = SecretKey::Random();
        if (!Unwrap(p->keys.current, Ad(p->library_id, name), wrapped,
                    const_cast<unsigned char*>(plain.data()), SecretKey::kSize)) {
          return DataLoss("a wrapped data key in the keyring does not authenticate");
        }
        CARREL_RETURN_IF_ERROR(tx.Exec(
            "UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE name = ?",
            {p->next_id,
             Blob{Wrap(*p->keys.next, Ad(p->library_id, name), plain.data(), SecretKey::kSize)},
             name}));
      }
      batch = static_cast<int64_t>(rows.size());
      return Status::Ok();
    }));
    done += batch;
    if (progress) progress(done, total);
    if (batch == 0) break;
  }
  CARREL_RETURN_IF_ERROR(p->store->Checkpoint());
  return done;
}

Status Keyring::FinishRotation() {
  Impl* p = impl_.get();
  return WithWriteTransaction(*p->store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t left,
                            tx.QueryInt("SELECT count(*) FROM data_keys WHERE kek_id "
                                        "NOT IN (SELECT kek_id FROM master_key_checks "
                                        "WHERE kek_id = ?)",
                                        {p->WrappingId()}));
    if (left > 0) return FailedPrecondition("keys remain under the old master key");
    return tx.Exec("DELETE FROM master_key_checks WHERE kek_id <> ?", {p->WrappingId()});
  });
}

Status Keyring::BackupTo(const std::filesystem::path& out) {
  if (impl_->store->engine() == "sqlite") {
    CARREL_RETURN_IF_ERROR(impl_->store->BackupTo(out));
  } else {
    // Another engine: the same portable SQLite file, deleted keys zeroed in it as in the live
    // one.
    SqliteOptions options;
    options.secure_delete = true;
    CARREL_RETURN_IF_ERROR(
        CopyToSqliteFile(*impl_->store, {{1, "keyring", kSchema}}, out, options, nullptr));
  }
  // When it was made, for a restore to judge its age (Library::Restore).
  SqliteOptions options;
  options.secure_delete = true;
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> copy, OpenSqliteStore(out, options));
  return copy->Write([&](Transaction& tx) {
    return tx.Exec(
        "INSERT INTO keyring_meta (key, value) VALUES ('backed_up_at', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        {FormatInstant(impl_->clock->Now())});
  });
}

StatusOr<std::optional<Instant>> Keyring::BackupTakenAt(const std::filesystem::path& file) {
  CARREL_ASSIGN_OR_RETURN(auto meta, ReadBackupMeta(file, "keyring_meta"));
  auto it = meta.find("backed_up_at");
  if (it == meta.end()) return std::optional<Instant>();
  auto at = ParseInstant(it->second);
  if (!at.ok()) return std::optional<Instant>();
  return std::optional<Instant>(*at);
}

StatusOr<std::string> Keyring::BackupLibraryId(const std::filesystem::path& file) {
  CARREL_ASSIGN_OR_RETURN(auto meta, ReadBackupMeta(file, "keyring_meta"));
  if (meta["format"] != kKeyringFormat || meta["library_id"].empty()) {
    return DataLoss(file.string() + " is not a complete carrel backup (truncated or damaged)");
  }
  return meta["library_id"];
}

}  // namespace carrel
