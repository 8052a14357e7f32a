#include "server/watch.h"

#include <algorithm>
#include <cstring>

#include "server/client.h"
#include "storage/db.h"

namespace rd {

std::string WatchRegistry::slot(int db, std::string_view key) {
  std::string s(sizeof(db), '\0');
  std::memcpy(s.data(), &db, sizeof(db));
  s.append(key);
  return s;
}

void WatchRegistry::watch(Client* client, int db, std::string_view key, bool expired_now) {
  for (const WatchedKey& w : client->watched) {
    if (w.db == db && w.key == key) return;
  }
  client->watched.push_back({db, std::string(key), expired_now});
  watchers_[slot(db, key)].push_back(client);
}

void WatchRegistry::unwatch_all(Client* client) {
  for (const WatchedKey& w : client->watched) {
    auto it = watchers_.find(slot(w.db, w.key));
    if (it == watchers_.end()) continue;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), client), list.end());
    if (list.empty()) watchers_.erase(it);
  }
  client->watched.clear();
  client->dirty_cas.store(false, std::memory_order_relaxed);
}

namespace {

// The WatchedKey record a client keeps for (db, key).
WatchedKey* find_watched(Client* client, int db, std::string_view key) {
  for (WatchedKey& w : client->watched) {
    if (w.db == db && w.key == key) return &w;
  }
  return nullptr;
}

}  // namespace

void WatchRegistry::touch(int db, std::string_view key, const Keyspace& keyspace) {
  if (watchers_.empty()) return;
  auto it = watchers_.find(slot(db, key));
  if (it == watchers_.end()) return;
  int gone = -1;  // computed once, when a client watched the key already expired
  for (Client* c : it->second) {
    WatchedKey* w = find_watched(c, db, key);
    if (w != nullptr && w->expired_when_watched) {
      if (gone < 0) gone = keyspace.db(db).find(key) == nullptr ? 1 : 0;
      if (gone == 1) {
        w->expired_when_watched = false;  // deleted: later changes count again
        continue;
      }
    }
    c->dirty_cas.store(true, std::memory_order_relaxed);
  }
}

void WatchRegistry::touch_existing_in_db(const Keyspace& keyspace, int db) {
  for (auto& [encoded, clients] : watchers_) {
    int key_db = 0;
    std::memcpy(&key_db, encoded.data(), sizeof(key_db));
    if (db >= 0 && key_db != db) continue;
    std::string_view key = std::string_view(encoded).substr(sizeof(key_db));
    if (keyspace.db(key_db).find(key) == nullptr) continue;
    for (Client* c : clients) {
      // A key that had already expired when it was watched vanishing is no logical change.
      WatchedKey* w = find_watched(c, key_db, key);
      if (w != nullptr && w->expired_when_watched) {
        w->expired_when_watched = false;
        continue;
      }
      c->dirty_cas.store(true, std::memory_order_relaxed);
    }
  }
}

void WatchRegistry::touch_swapped(const Keyspace& keyspace, int db1, int db2, int64_t now_ms) {
  for (auto& [encoded, clients] : watchers_) {
    int key_db = 0;
    std::memcpy(&key_db, encoded.data(), sizeof(key_db));
    if (key_db != db1 && key_db != db2) continue;
    std::string_view key = std::string_view(encoded).substr(sizeof(key_db));
    // `emptied` is the watched db's content now; `incoming` what the swap puts there.
    const KeyEntry* emptied = keyspace.db(key_db).find(key);
    const KeyEntry* incoming = keyspace.db(key_db == db1 ? db2 : db1).find(key);
    if (emptied == nullptr && incoming == nullptr) continue;
    const bool incoming_expired = incoming != nullptr && incoming->expired_at(now_ms);
    for (Client* c : clients) {
      WatchedKey* w = find_watched(c, key_db, key);
      if (w != nullptr && w->expired_when_watched) {
        if (incoming == nullptr) {  // an expired key deleted: no logical change
          w->expired_when_watched = false;
          continue;
        }
        if (incoming_expired) continue;  // expired before, expired after
      } else if (w != nullptr && emptied == nullptr && incoming_expired) {
        w->expired_when_watched = true;  // nothing replaced with an expired key
        continue;
      }
      c->dirty_cas.store(true, std::memory_order_relaxed);
    }
  }
}

}  // namespace rd
