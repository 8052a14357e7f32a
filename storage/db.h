// The keyspace: numbered databases of key -> value entries with optional expiry times, all
// guarded by one reader/writer lock.
//
// Locking rule: every Db member, and every Value reachable from it, is guarded by
// Keyspace::mutex(): shared for reads, exclusive for writes. The one exception is
// KeyEntry::access_clock and lfu_counter, atomics that readers refresh under the shared lock.
// Storage knows nothing of clients, replication or expiry policy: callers decide whether a
// logically expired key is deleted (master, write path) or merely hidden (readers, replicas).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "storage/dict.h"
#include "storage/value.h"

namespace rd {

inline constexpr int64_t kNoExpire = -1;

// One key and its value. The key bytes follow the struct in the same allocation, which saves a
// separate allocation per key (the keyspace is dominated by small keys).
struct KeyEntry {
  KeyEntry* next = nullptr;         // chain link, owned by the Dict
  int64_t expire_at_ms = kNoExpire;  // absolute unix time in ms, or kNoExpire
  Value value;
  std::atomic<uint32_t> access_clock{0};  // seconds clock of the last access (OBJECT IDLETIME)
  // Strings modified in place (APPEND, SETRANGE) report "raw" like Redis; SET resets this.
  bool string_is_raw = false;
  // LFU access frequency (logarithmic counter, 0..255, OBJECT FREQ), maintained on access while
  // an LFU maxmemory policy is set; it decays with the idle time of access_clock (see
  // server/eviction.h). Fits in padding: KeyEntry does not grow. Relaxed atomic, like
  // access_clock (readers update it under the shared lock).
  std::atomic<uint8_t> lfu_counter{kLfuInitCounter};
  uint32_t key_length = 0;

  static constexpr uint8_t kLfuInitCounter = 5;  // a new key is not evicted before it can be used

  std::string_view key() const { return {reinterpret_cast<const char*>(this + 1), key_length}; }
  bool has_expire() const { return expire_at_ms != kNoExpire; }
  bool expired_at(int64_t now_ms) const { return expire_at_ms != kNoExpire && expire_at_ms <= now_ms; }

  static KeyEntry* create(std::string_view key, Value value);
  static void destroy(KeyEntry* entry);

 private:
  explicit KeyEntry(Value v) : value(std::move(v)) {}
};

struct KeyEntryOps {
  static std::string_view key(const KeyEntry* entry) { return entry->key(); }
  static void destroy(KeyEntry* entry) { KeyEntry::destroy(entry); }
};

class Db {
 public:
  // The entry for `key`, expired or not.
  KeyEntry* find(std::string_view key) const { return table_.find(key); }
  // Adds a new key (it must not exist). Returns the entry, owned by the Db.
  KeyEntry* add(std::string_view key, Value value);
  // Sets or replaces the value of `key`, clearing its expiry unless keep_ttl; returns the entry.
  KeyEntry* set(std::string_view key, Value value, bool keep_ttl = false);
  // Deletes `key`; returns whether it existed.
  bool erase(std::string_view key);
  // Removes `key` and hands its entry to the caller (for RENAME/MOVE); nullptr when absent.
  KeyEntry* detach(std::string_view key);
  // Links a detached entry back in (its key must not exist).
  void attach(KeyEntry* entry);

  void set_expire(KeyEntry* entry, int64_t expire_at_ms);
  void clear_expire(KeyEntry* entry) { set_expire(entry, kNoExpire); }

  size_t size() const { return table_.size(); }
  size_t expires_count() const { return expires_count_; }
  // Removes every key; returns how many there were.
  size_t clear();
  void swap(Db& other);
  void reserve(size_t count) { table_.reserve(count); }

  template <typename F>
  void for_each(F&& visit) const { table_.for_each(visit); }
  template <typename F>
  uint64_t scan(uint64_t cursor, F&& visit) const { return table_.scan(cursor, visit); }
  template <typename Rng>
  KeyEntry* random_entry(Rng&& random) const { return table_.random_node(random); }
  // The bucket array, for callers that sample runs of buckets (eviction of keys with a TTL).
  size_t bucket_count() const { return table_.bucket_count(); }
  KeyEntry* bucket_head(size_t index) const { return table_.bucket_head(index); }

  // Walks up to `buckets` buckets from the active-expiry cursor, calling visit(entry) for each
  // entry that has a TTL. Returns false when the walk wrapped around to the start.
  template <typename F>
  bool walk_volatile(size_t buckets, F&& visit) {
    for (size_t i = 0; i < buckets; i++) {
      if (expire_cursor_ >= table_.bucket_count()) {
        expire_cursor_ = 0;
        return false;
      }
      for (KeyEntry* e = table_.bucket_head(expire_cursor_); e != nullptr; e = e->next) {
        if (e->has_expire()) visit(e);
      }
      expire_cursor_++;
    }
    return true;
  }

 private:
  Dict<KeyEntry, KeyEntryOps> table_;
  size_t expires_count_ = 0;
  size_t expire_cursor_ = 0;  // active expiry's position in the bucket array
};

class Keyspace {
 public:
  explicit Keyspace(int databases) : dbs_(static_cast<size_t>(databases)) {}

  std::shared_mutex& mutex() const { return mutex_; }
  int db_count() const { return static_cast<int>(dbs_.size()); }
  Db& db(int index) { return dbs_[static_cast<size_t>(index)]; }
  const Db& db(int index) const { return dbs_[static_cast<size_t>(index)]; }

  // Changes since the last successful save (save points, INFO). REQUIRES: exclusive lock.
  int64_t dirty = 0;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<Db> dbs_;  // Protected by mutex_
};

// A coarse clock for access times, in seconds, wrapping like Redis's 24-bit LRU clock.
uint32_t access_clock_now();
// Refreshes the cached access clock; once called, access_clock_now() returns the cached value
// (the server's cron calls it ten times a second).
void tick_access_clock();

}  // namespace rd
