// maxmemory: the memory limit, the eviction policies and the OOM error, as Redis 7.0.
//
// Memory figures come from server/memory_accounting.h (a cheap, exact count of heap bytes).
// Before each command the dispatcher calls check_command(): when used memory (minus what is
// not counted for eviction) exceeds maxmemory, keys are evicted per maxmemory-policy, under
// the exclusive keyspace lock, for at most a short time slice (maxmemory-eviction-tenacity);
// if memory is still over the limit and nothing could be evicted (noeviction, or no candidate
// keys), commands flagged denyoom are rejected with kOomError, and so is every command queued
// inside MULTI but DISCARD/QUIT/RESET, and EXEC of a transaction holding a denyoom command.
// A pass that ran out of time leaves the rest to the next command and to the cron thread.
//
// Selection, like Redis (approximated LRU/LFU/TTL by sampling): each pass samples
// maxmemory-samples keys per database (all keys, or only keys with a TTL for volatile-*),
// scores them (LRU: idle time; LFU: 255 - decayed frequency; TTL: the sooner the expiry the
// higher) and merges them into a pool of the 16 best candidates kept across passes; the best
// candidate that still exists is evicted. Random policies pick a random key, visiting the
// databases in turn. An evicted key is deleted like an expired one: evicted_keys stat, WATCH
// invalidation, "evicted" keyspace event, and DEL (UNLINK with lazyfree-lazy-eviction) sent to
// replicas and the AOF.
//
// LFU: KeyEntry::lfu_counter is a logarithmic counter (0..255) incremented on access with
// probability 1/((counter - 5) * lfu-log-factor + 1) and decremented by one for every
// lfu-decay-time minutes the key stayed idle (idle time from KeyEntry::access_clock, which
// every access refreshes). New keys start at 5.
//
// Replicas ignore maxmemory while replica-ignore-maxmemory is yes (the default): their
// dataset is the master's. Nothing is evicted while clients are paused, nor for commands of
// the master link (or the AOF loader).
//
// Thread-safety: configuration and statistics are atomics; the candidate pool and the random
// generator are guarded by the keyspace lock (held exclusively by every eviction pass).
#pragma once

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.h"

namespace rd {

class Server;
class Client;
struct CommandSpec;

inline constexpr std::string_view kOomError = "OOM command not allowed when used memory > 'maxmemory'.";

enum class EvictionPolicy : uint8_t {
  kNoEviction,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
};

class Eviction {
 public:
  // kOk: under the limit (or eviction does not apply now); kRunning: still over the limit but
  // keys were evicted and more can be (the time slice ran out); kFail: over the limit and
  // nothing left to evict.
  enum class Result { kOk, kRunning, kFail };

  explicit Eviction(Server& server);
  Eviction(const Eviction&) = delete;
  Eviction& operator=(const Eviction&) = delete;

  // Re-reads maxmemory, maxmemory-policy/-samples/-eviction-tenacity, lfu-log-factor,
  // lfu-decay-time, replica-ignore-maxmemory, lazyfree-lazy-eviction (`name` empty: all).
  void apply_config(std::string_view name);
  // Remembers the memory in use once the server is initialized (used_memory_startup).
  void record_startup();

  int64_t maxmemory() const { return maxmemory_.load(std::memory_order_relaxed); }
  EvictionPolicy policy() const { return policy_.load(std::memory_order_relaxed); }

  // ---- access bookkeeping (any keyspace lock; relaxed atomics) ----
  // A key was read or written: refresh its access clock and, under an LFU policy, its
  // frequency counter.
  void touch(KeyEntry* entry) const {
    const uint32_t now = access_clock_now();
    if (lfu_.load(std::memory_order_relaxed)) update_frequency(entry, now);
    entry->access_clock.store(now, std::memory_order_relaxed);
  }
  // The frequency counter with the decay of the key's idle time applied (OBJECT FREQ).
  int frequency(const KeyEntry* entry) const { return decayed_frequency(entry, access_clock_now()); }

  // ---- before a command (the dispatcher) ----
  // Redis's maxmemory step: when over the limit, evicts (REQUIRES: keyspace lock not held)
  // and returns true if the command must be rejected with kOomError. For EXEC the caller
  // discards the transaction and replies "EXECABORT Transaction discarded because of: ...".
  // `flags`: the command's flags (a script command's derived from the script).
  bool check_command(Client& client, const CommandSpec& spec, uint32_t flags, bool in_multi) {
    if (maxmemory() == 0) {
      pre_command_oom_ = false;
      return false;
    }
    return check_command_slow(client, spec, flags, in_multi);
  }
  // Whether the last check_command() on this thread found memory over the limit with
  // nothing left to evict: a script checks it before its first denyoom command (Redis's
  // pre_command_oom_state).
  static bool pre_command_oom() { return pre_command_oom_; }

  // One eviction pass if over the limit. REQUIRES: keyspace lock not held. `caller`: the
  // client whose command is about to run (client tracking's NOLOOP), or none.
  Result perform_evictions(const Client* caller = nullptr);
  // The same with the keyspace lock already held exclusively.
  Result perform_evictions_locked(const Client* caller = nullptr);
  // Every 100 ms: peak memory, and eviction left unfinished by a pass that ran out of time.
  void cron();

  // ---- figures (INFO) ----
  int64_t used_memory() const;
  // used_memory_peak, updated with `used`.
  int64_t peak_memory(int64_t used);
  int64_t startup_memory() const { return startup_.load(std::memory_order_relaxed); }
  // Memory not compared with maxmemory (mem_not_counted_for_evict): replication buffers
  // beyond the backlog, the AOF buffer.
  int64_t not_counted_memory() const;
  // total_eviction_exceeded_time / current_eviction_exceeded_time, in ms.
  int64_t total_exceeded_ms() const;
  int64_t current_exceeded_ms() const;
  // CONFIG RESETSTAT (the peak is kept, as in Redis).
  void reset_stats();

 private:
  struct Candidate {
    uint64_t score;  // higher: evict first
    int db;
    std::string key;
  };

  bool check_command_slow(Client& client, const CommandSpec& spec, uint32_t flags, bool in_multi);
  bool applies() const;  // not a replica ignoring maxmemory, clients not paused
  bool over_limit() const;
  void note_result(Result result);
  int64_t time_limit_us() const;
  bool select_from_pool(int* db, std::string* key);
  bool select_random(int* db, std::string* key);
  void populate_pool(int db_index);
  void sample_volatile(const Db& db, size_t want, std::vector<KeyEntry*>* out);
  uint64_t score(const KeyEntry* entry, uint32_t now) const;
  void evict(int db, const std::string& key, const Client* caller);
  void update_frequency(KeyEntry* entry, uint32_t now) const;
  int decayed_frequency(const KeyEntry* entry, uint32_t now) const;

  Server& server_;
  std::atomic<int64_t> maxmemory_{0};
  std::atomic<EvictionPolicy> policy_{EvictionPolicy::kNoEviction};
  std::atomic<bool> lfu_{false};
  std::atomic<int> samples_{5};
  std::atomic<int> tenacity_{10};
  std::atomic<int> lfu_log_factor_{10};
  std::atomic<int> lfu_decay_time_{1};
  std::atomic<bool> replica_ignores_{true};
  std::atomic<bool> lazy_{false};

  std::atomic<int64_t> startup_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> exceeded_since_us_{0};  // monotonic; 0: not over the limit
  std::atomic<int64_t> exceeded_total_us_{0};

  // Guarded by the keyspace lock (exclusive).
  std::vector<Candidate> pool_;  // ascending score; the best candidate is last
  EvictionPolicy pool_policy_ = EvictionPolicy::kNoEviction;  // the policy pool_ was scored for
  std::vector<KeyEntry*> sampled_;
  std::mt19937_64 random_;
  unsigned next_db_ = 0;  // random policies visit the databases in turn

  static thread_local bool pre_command_oom_;
};

}  // namespace rd
