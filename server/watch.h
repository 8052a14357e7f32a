// WATCH bookkeeping: which clients watch which (db, key), so a write can mark them dirty.
//
// Guarded by the keyspace lock: WATCH/UNWATCH and every touch happen while it is held
// exclusively, EXEC checks under it. A client unregisters before it is destroyed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rd {

class Client;
class Keyspace;

class WatchRegistry {
 public:
  bool empty() const { return watchers_.empty(); }
  void watch(Client* client, int db, std::string_view key, bool expired_now);
  void unwatch_all(Client* client);
  // Marks every client watching (db, key) dirty; except, when the key is gone from `keyspace`,
  // clients that watched it already expired (its deletion is no logical change, as Redis).
  void touch(int db, std::string_view key, const Keyspace& keyspace);
  // FLUSHDB/FLUSHALL (db < 0: all): marks watchers of keys that exist in `keyspace` dirty.
  void touch_existing_in_db(const Keyspace& keyspace, int db);
  // SWAPDB, before the swap: watchers of keys present in either database, except where the
  // swap makes no logical change (expired for expired, nothing for an expired key).
  void touch_swapped(const Keyspace& keyspace, int db1, int db2, int64_t now_ms);

 private:
  static std::string slot(int db, std::string_view key);
  std::unordered_map<std::string, std::vector<Client*>> watchers_;  // "db\0key" -> clients
};

}  // namespace rd
