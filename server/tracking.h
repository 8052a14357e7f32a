// Client-side caching (CLIENT TRACKING): which clients may have which keys in their caches,
// and the invalidation messages sent when those keys change, with Redis 7.0's semantics.
//
// Two modes per client:
//  - default: the server remembers the keys a tracking client reads (the keys of its
//    read-only commands); the first change to such a key sends each client that read it one
//    invalidation naming the key, and forgets the key (the client must read it again to hear
//    of the next change). Like Redis, the table is keyed by key name only (one table for all
//    databases) and holds client ids: turning tracking off leaves the client's keys in the
//    table until they change (they are reported again if tracking was turned back on) or
//    FLUSHDB/FLUSHALL empties the table.
//  - BCAST: the client names prefixes (none: every key); every change to a key under one of
//    them is reported, read or not. The keys one command changes are collected and sent when
//    it ends (flush_broadcasts), one message per prefix, keys sorted (Redis batches per event
//    loop iteration).
//
// Delivery: a RESP3 client gets a push `>2 invalidate [keys]` (a null instead of the keys on
// a flush). With REDIRECT the target gets it instead: as a push if it speaks RESP3, as a
// message on __redis__:invalidate if it is a subscribed RESP2 client, else not at all. When
// the target is gone, a RESP3 tracking client gets `tracking-redir-broken <id>` instead. Every
// message goes through the receiver's push queue (Client::push), behind the replies it has
// pending.
//
// Thread-safety: all state is guarded by mutex_. Keys are remembered under the shared
// keyspace lock (readers run in parallel), changes are reported under the exclusive one.
// Lock order: keyspace -> mutex_ -> the server's client list -> Client locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rd {

class Client;

struct TrackingOptions {
  bool bcast = false;
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  uint64_t redirect = 0;  // 0: none
  std::vector<std::string> prefixes;
};

struct TrackingStats {
  int64_t clients = 0;   // INFO tracking_clients
  int64_t keys = 0;      // tracking_total_keys
  int64_t items = 0;     // tracking_total_items: (key, client) pairs
  int64_t prefixes = 0;  // tracking_total_prefixes
};

class Tracking {
 public:
  // Finds a connected client by id (REDIRECT targets). Must not call back into Tracking.
  using ClientLookup = std::function<std::shared_ptr<Client>(uint64_t id)>;

  // `output_bytes` counts bytes written directly to idle clients; `pubsub_limit` is the hard
  // output limit of subscribed receivers (client-output-buffer-limit pubsub). Both may be null.
  Tracking(ClientLookup lookup, std::atomic<uint64_t>* output_bytes, const std::atomic<int64_t>* pubsub_limit);
  Tracking(const Tracking&) = delete;
  Tracking& operator=(const Tracking&) = delete;

  // ---- hot-path checks: one relaxed load each ----
  // A key change may have to be reported (remembered keys or BCAST prefixes exist).
  bool armed() const { return armed_.load(std::memory_order_relaxed); }
  // Changes wait for flush_broadcasts().
  bool broadcast_pending() const { return broadcast_pending_.load(std::memory_order_relaxed); }
  // The table holds more keys than tracking-table-max-keys.
  bool over_limit() const {
    const int64_t max = max_keys_.load(std::memory_order_relaxed);
    return max > 0 && key_count_.load(std::memory_order_relaxed) > max;
  }

  // ---- a client's own settings (called on its connection thread) ----
  // CLIENT TRACKING ON with validated options; BCAST prefixes add to those already set.
  void enable(Client& client, const TrackingOptions& options);
  // CLIENT TRACKING OFF, RESET, disconnection. Leaves the keys it read in the table.
  void disable(Client& client);
  // Whether `prefix` overlaps (either is a prefix of the other) a BCAST prefix `client`
  // already has; the first such one (in byte order) goes to `existing`.
  bool overlapping_prefix(const Client& client, std::string_view prefix, std::string* existing) const;
  std::vector<std::string> prefixes(const Client& client) const;
  void set_max_keys(int64_t max) { max_keys_.store(max, std::memory_order_relaxed); }

  // ---- reads ----
  // `client` read `keys` (default mode; the caller checked OPTIN/OPTOUT and BCAST).
  void remember(const Client& client, const std::vector<std::string_view>& keys);

  // ---- changes (REQUIRES: keyspace lock exclusive) ----
  // `key` changed, by the client with id `modifier` (0: expiry, eviction, a script's
  // client), while `caller` (or nobody: cron) ran a command: NOLOOP clients are not told
  // of their own changes.
  void invalidate(std::string_view key, uint64_t modifier, const Client* caller);
  // FLUSHDB / FLUSHALL / a dataset replaced: every tracking client is told (null key list) and
  // the whole table is forgotten.
  void invalidate_all();
  // Sends the BCAST messages for the changes collected so far.
  void flush_broadcasts();
  // tracking-table-max-keys: forgets keys (reporting them as changed) until the table is
  // within the limit. Needs no keyspace lock (only the table changes).
  void enforce_limit(const Client* caller);

  TrackingStats stats() const;

 private:
  // Lets the key table be searched with a string_view (no copy per lookup).
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct Prefix {
    std::map<uint64_t, Client*> clients;          // BCAST clients with this prefix, by id
    std::map<std::string, uint64_t> changed;      // key -> id of its last modifier (NOLOOP)
  };

  void invalidate_locked(std::string_view key, const Client* caller);
  // Sends `keys` (a RESP array, or a null) to `tracker` or its REDIRECT target.
  void send_locked(Client& tracker, std::string_view keys);
  void deliver(Client& receiver, std::string_view bytes);
  void refresh_locked();

  ClientLookup lookup_;
  std::atomic<uint64_t>* output_bytes_;
  const std::atomic<int64_t>* pubsub_limit_;

  mutable std::mutex mutex_;
  // key -> ids of the clients that read it, in Redis's order (its radix tree of raw ids).
  std::unordered_map<std::string, std::vector<uint64_t>, KeyHash, std::equal_to<>> keys_;  // Protected by mutex_
  int64_t items_ = 0;                                             // Protected by mutex_
  std::map<std::string, Prefix> prefixes_;                        // Protected by mutex_
  std::map<uint64_t, Client*> clients_;  // tracking clients by id. Protected by mutex_

  std::atomic<bool> armed_{false};
  std::atomic<bool> broadcast_pending_{false};
  std::atomic<int64_t> key_count_{0};
  std::atomic<int64_t> max_keys_{1000000};
};

}  // namespace rd
