#include "server/eviction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "server/command_table.h"
#include "server/memory_accounting.h"
#include "server/server.h"

namespace rd {

thread_local bool Eviction::pre_command_oom_ = false;

namespace {

constexpr size_t kPoolSize = 16;
constexpr uint32_t kClockMask = (1u << 24) - 1;

bool is_allkeys(EvictionPolicy p) {
  return p == EvictionPolicy::kAllKeysLru || p == EvictionPolicy::kAllKeysLfu || p == EvictionPolicy::kAllKeysRandom;
}

bool is_lfu(EvictionPolicy p) { return p == EvictionPolicy::kAllKeysLfu || p == EvictionPolicy::kVolatileLfu; }

bool is_random(EvictionPolicy p) {
  return p == EvictionPolicy::kAllKeysRandom || p == EvictionPolicy::kVolatileRandom;
}

EvictionPolicy parse_policy(const std::string& name) {
  if (name == "volatile-lru") return EvictionPolicy::kVolatileLru;
  if (name == "volatile-lfu") return EvictionPolicy::kVolatileLfu;
  if (name == "volatile-random") return EvictionPolicy::kVolatileRandom;
  if (name == "volatile-ttl") return EvictionPolicy::kVolatileTtl;
  if (name == "allkeys-lru") return EvictionPolicy::kAllKeysLru;
  if (name == "allkeys-lfu") return EvictionPolicy::kAllKeysLfu;
  if (name == "allkeys-random") return EvictionPolicy::kAllKeysRandom;
  return EvictionPolicy::kNoEviction;
}

// Seconds since the access clock value `then` (24-bit, wrapping).
uint32_t idle_seconds(uint32_t then, uint32_t now) { return (now - then) & kClockMask; }

// A uniform double in [0, 1) from a per-thread xorshift generator: the LFU increment runs on
// readers' threads, without any lock.
double random_unit() {
  thread_local uint64_t state = 0;
  if (state == 0) {
    state = static_cast<uint64_t>(monotonic_us()) ^ reinterpret_cast<uintptr_t>(&state) ^ 0x9E3779B97F4A7C15ULL;
    if (state == 0) state = 1;
  }
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0);
}

int clamp_int(int64_t value, int64_t low, int64_t high) {
  return static_cast<int>(std::min(std::max(value, low), high));
}

}  // namespace

Eviction::Eviction(Server& server) : server_(server), random_(std::random_device{}()) {}

void Eviction::apply_config(std::string_view name) {
  auto is = [&](std::string_view param) { return name.empty() || name == param; };
  Config& config = server_.config;
  if (is("maxmemory")) {
    const int64_t limit = std::max<int64_t>(0, config.get_int("maxmemory"));
    maxmemory_.store(limit, std::memory_order_relaxed);
    const int64_t used = used_memory();
    if (!name.empty() && limit > 0 && used > limit) {
      server_.log('#', "WARNING: the new maxmemory value set via CONFIG SET (" + std::to_string(limit) +
                           ") is smaller than the current memory usage (" + std::to_string(used) +
                           "). This will result in key eviction and/or the inability to accept new write "
                           "commands depending on the maxmemory-policy.");
    }
  }
  if (is("maxmemory-policy")) {
    const EvictionPolicy policy = parse_policy(config.get("maxmemory-policy"));
    // The pool's scores belong to the old policy; it is cleared at the next pass (under the
    // keyspace lock) when the policy it was filled for differs.
    policy_.store(policy, std::memory_order_relaxed);
    lfu_.store(is_lfu(policy), std::memory_order_relaxed);
  }
  if (is("maxmemory-samples")) samples_.store(clamp_int(config.get_int("maxmemory-samples"), 1, 1024), std::memory_order_relaxed);
  if (is("maxmemory-eviction-tenacity")) {
    tenacity_.store(clamp_int(config.get_int("maxmemory-eviction-tenacity"), 0, 100), std::memory_order_relaxed);
  }
  if (is("lfu-log-factor")) lfu_log_factor_.store(clamp_int(config.get_int("lfu-log-factor"), 0, INT32_MAX));
  if (is("lfu-decay-time")) lfu_decay_time_.store(clamp_int(config.get_int("lfu-decay-time"), 0, INT32_MAX));
  if (is("replica-ignore-maxmemory")) replica_ignores_.store(config.get_bool("replica-ignore-maxmemory"));
  if (is("lazyfree-lazy-eviction")) lazy_.store(config.get_bool("lazyfree-lazy-eviction"));
}

void Eviction::record_startup() {
  const int64_t used = used_memory();
  startup_.store(used, std::memory_order_relaxed);
  peak_memory(used);
}

// ---------------------------------------------------------------------------------------
// Memory figures

int64_t Eviction::used_memory() const { return allocated_bytes(); }

int64_t Eviction::peak_memory(int64_t used) {
  int64_t peak = peak_.load(std::memory_order_relaxed);
  while (used > peak && !peak_.compare_exchange_weak(peak, used, std::memory_order_relaxed)) {
  }
  return std::max(peak, used);
}

int64_t Eviction::not_counted_memory() const {
  // Redis leaves out the replication buffer beyond the backlog size (bytes held only for
  // lagging replicas) and the AOF buffer. Our AOF writes through; the replication buffer's size
  // is private to replication/ for now, so nothing is left out yet.
  return 0;
}

bool Eviction::over_limit() const {
  const int64_t limit = maxmemory();
  return limit > 0 && used_memory() - not_counted_memory() > limit;
}

int64_t Eviction::total_exceeded_ms() const {
  return (exceeded_total_us_.load(std::memory_order_relaxed) / 1000) + current_exceeded_ms();
}

int64_t Eviction::current_exceeded_ms() const {
  const int64_t since = exceeded_since_us_.load(std::memory_order_relaxed);
  return since == 0 ? 0 : std::max<int64_t>(0, monotonic_us() - since) / 1000;
}

void Eviction::reset_stats() {
  exceeded_total_us_.store(0, std::memory_order_relaxed);
  if (exceeded_since_us_.load(std::memory_order_relaxed) != 0) {
    exceeded_since_us_.store(monotonic_us(), std::memory_order_relaxed);
  }
}

void Eviction::note_result(Result result) {
  if (result == Result::kOk) {
    const int64_t since = exceeded_since_us_.exchange(0, std::memory_order_relaxed);
    if (since != 0) exceeded_total_us_.fetch_add(std::max<int64_t>(0, monotonic_us() - since));
  } else if (exceeded_since_us_.load(std::memory_order_relaxed) == 0) {
    int64_t expected = 0;
    exceeded_since_us_.compare_exchange_strong(expected, monotonic_us(), std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------------------
// Before commands

bool Eviction::check_command_slow(Client& client, const CommandSpec& spec, uint32_t flags, bool in_multi) {
  pre_command_oom_ = false;
  // The master link's (and the AOF loader's) commands are the dataset's history: applied as is.
  if (client.has_flag(kClientMaster)) return false;
  if (!over_limit()) {
    if (exceeded_since_us_.load(std::memory_order_relaxed) != 0) note_result(Result::kOk);
    return false;
  }
  if (perform_evictions(&client) != Result::kFail) return false;
  pre_command_oom_ = true;
  if ((flags & kCmdDenyOom) != 0) return true;
  if (spec.name == "exec") {
    // EXEC is refused only for a transaction that may grow memory.
    for (const QueuedCommand& queued : client.multi_queue) {
      if ((queued.flags & kCmdDenyOom) != 0) return true;
    }
    return false;
  }
  // Queuing inside MULTI takes memory too: only what ends the transaction gets through.
  return in_multi && spec.name != "discard" && spec.name != "quit" && spec.name != "reset";
}

bool Eviction::applies() const {
  if (server_.is_replica() && replica_ignores_.load(std::memory_order_relaxed)) return false;
  // While clients are paused the dataset stays still: no evictions either (as Redis).
  return !server_.clients_paused();
}

int64_t Eviction::time_limit_us() const {
  const int tenacity = tenacity_.load(std::memory_order_relaxed);
  if (tenacity <= 10) return 50LL * tenacity;  // 0..500 us
  if (tenacity < 100) return static_cast<int64_t>(500.0 * std::pow(1.15, tenacity - 10.0));
  return std::numeric_limits<int64_t>::max();
}

Eviction::Result Eviction::perform_evictions(const Client* caller) {
  if (!applies()) return Result::kOk;
  if (!over_limit()) {
    note_result(Result::kOk);
    return Result::kOk;
  }
  if (policy() == EvictionPolicy::kNoEviction) {
    note_result(Result::kFail);
    return Result::kFail;
  }
  std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
  return perform_evictions_locked(caller);
}

Eviction::Result Eviction::perform_evictions_locked(const Client* caller) {
  if (!applies()) return Result::kOk;
  Result result = Result::kOk;
  if (over_limit() && policy() == EvictionPolicy::kNoEviction) result = Result::kFail;
  const int64_t limit_us = time_limit_us();
  const int64_t started = monotonic_us();
  size_t evicted = 0;
  while (result == Result::kOk && over_limit()) {
    int db = 0;
    std::string key;
    const bool found = is_random(policy()) ? select_random(&db, &key) : select_from_pool(&db, &key);
    if (!found) {
      result = Result::kFail;
      break;
    }
    evict(db, key, caller);
    if (++evicted % 16 == 0 && monotonic_us() - started > limit_us) {
      if (over_limit()) result = Result::kRunning;  // the next command or the cron continues
      break;
    }
  }
  const int64_t elapsed_ms = (monotonic_us() - started) / 1000;
  if (evicted > 0) server_.latency.maybe_add("eviction-cycle", elapsed_ms);
  if (server_.tracking.broadcast_pending()) server_.tracking.flush_broadcasts();
  note_result(result);
  return result;
}

void Eviction::cron() {
  peak_memory(used_memory());
  if (maxmemory() == 0) {
    if (exceeded_since_us_.load(std::memory_order_relaxed) != 0) note_result(Result::kOk);
    return;
  }
  if (policy() != EvictionPolicy::kNoEviction || !over_limit()) perform_evictions();
}

// ---------------------------------------------------------------------------------------
// Choosing and deleting keys. REQUIRES: keyspace lock exclusive.

uint64_t Eviction::score(const KeyEntry* entry, uint32_t now) const {
  switch (policy()) {
    case EvictionPolicy::kAllKeysLfu:
    case EvictionPolicy::kVolatileLfu:
      return 255 - static_cast<uint64_t>(decayed_frequency(entry, now));
    case EvictionPolicy::kVolatileTtl:
      return std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(entry->expire_at_ms);
    default:  // LRU
      return idle_seconds(entry->access_clock.load(std::memory_order_relaxed), now);
  }
}

void Eviction::sample_volatile(const Db& db, size_t want, std::vector<KeyEntry*>* out) {
  const size_t buckets = db.bucket_count();
  if (buckets == 0 || db.expires_count() == 0) return;
  auto next = [this] { return random_(); };
  if (db.expires_count() * 2 >= db.size()) {
    // Most keys have a TTL: independent random picks find them quickly.
    for (size_t attempts = 0; attempts < want * 4 && out->size() < want; attempts++) {
      KeyEntry* entry = db.random_entry(next);
      if (entry != nullptr && entry->has_expire()) out->push_back(entry);
    }
    if (!out->empty()) return;
  }
  // Few keys have one: walk buckets from a random place until enough are found (at worst the
  // whole table, so a key with a TTL is always found when there is one).
  size_t index = static_cast<size_t>(random_()) & (buckets - 1);
  for (size_t walked = 0; walked < buckets && out->size() < want; walked++) {
    for (KeyEntry* entry = db.bucket_head(index); entry != nullptr; entry = entry->next) {
      if (entry->has_expire()) out->push_back(entry);
    }
    index = (index + 1) & (buckets - 1);
  }
}

void Eviction::populate_pool(int db_index) {
  const Db& db = server_.keyspace.db(db_index);
  const size_t want = static_cast<size_t>(samples_.load(std::memory_order_relaxed));
  sampled_.clear();
  if (is_allkeys(policy())) {
    auto next = [this] { return random_(); };
    for (size_t i = 0; i < want; i++) {
      KeyEntry* entry = db.random_entry(next);
      if (entry != nullptr) sampled_.push_back(entry);
    }
  } else {
    sample_volatile(db, want, &sampled_);
  }
  const uint32_t now = access_clock_now();
  for (const KeyEntry* entry : sampled_) {
    const uint64_t value = score(entry, now);
    if (pool_.size() >= kPoolSize && value <= pool_.front().score) continue;  // worse than all
    const std::string_view key = entry->key();
    bool present = false;
    for (const Candidate& c : pool_) {
      if (c.db == db_index && c.key == key) {
        present = true;
        break;
      }
    }
    if (present) continue;
    auto at = std::upper_bound(pool_.begin(), pool_.end(), value,
                               [](uint64_t v, const Candidate& c) { return v < c.score; });
    pool_.insert(at, Candidate{value, db_index, std::string(key)});
    if (pool_.size() > kPoolSize) pool_.erase(pool_.begin());
  }
}

bool Eviction::select_from_pool(int* db, std::string* key) {
  const bool allkeys = is_allkeys(policy());
  // Candidates scored for another policy are meaningless: start over when it changed.
  if (pool_policy_ != policy()) {
    pool_.clear();
    pool_policy_ = policy();
  }
  for (int round = 0; round < 64; round++) {
    size_t total = 0;
    for (int i = 0; i < server_.keyspace.db_count(); i++) {
      const Db& d = server_.keyspace.db(i);
      const size_t keys = allkeys ? d.size() : d.expires_count();
      if (keys == 0) continue;
      total += keys;
      populate_pool(i);
    }
    if (total == 0) return false;
    const uint32_t now = access_clock_now();
    while (!pool_.empty()) {
      Candidate best = std::move(pool_.back());
      pool_.pop_back();
      const KeyEntry* entry = server_.keyspace.db(best.db).find(best.key);
      // A ghost (deleted, or no longer with a TTL for volatile-*): try the next one.
      if (entry == nullptr || (!allkeys && !entry->has_expire())) continue;
      // Touched (or given a later TTL) since it was sampled: back in line with its new score.
      // Scores only go down here, so each candidate comes back at most once.
      const uint64_t current = score(entry, now);
      if (current < best.score) {
        best.score = current;
        auto at = std::upper_bound(pool_.begin(), pool_.end(), current,
                                   [](uint64_t v, const Candidate& c) { return v < c.score; });
        pool_.insert(at, std::move(best));
        continue;
      }
      *db = best.db;
      *key = std::move(best.key);
      return true;
    }
  }
  return false;
}

bool Eviction::select_random(int* db, std::string* key) {
  const bool allkeys = is_allkeys(policy());
  const int dbs = server_.keyspace.db_count();
  auto next = [this] { return random_(); };
  for (int i = 0; i < dbs; i++) {
    const int index = static_cast<int>(++next_db_ % static_cast<unsigned>(dbs));
    const Db& d = server_.keyspace.db(index);
    const KeyEntry* entry = nullptr;
    if (allkeys) {
      if (d.size() > 0) entry = d.random_entry(next);
    } else if (d.expires_count() > 0) {
      sampled_.clear();
      sample_volatile(d, std::max<size_t>(1, static_cast<size_t>(samples_.load())), &sampled_);
      if (!sampled_.empty()) entry = sampled_[random_() % sampled_.size()];
    }
    if (entry != nullptr) {
      *db = index;
      key->assign(entry->key());
      return true;
    }
  }
  return false;
}

void Eviction::evict(int db, const std::string& key, const Client* caller) {
  if (!server_.keyspace.db(db).erase(key)) return;
  server_.stats.evicted_keys.fetch_add(1, std::memory_order_relaxed);
  server_.watches.touch(db, key, server_.keyspace);
  server_.key_changed(key, caller);
  server_.notify(NotifyClass::kEvicted, "evicted", key, db);
  if (server_.write_stream.active()) {
    const std::string_view args[2] = {lazy_.load(std::memory_order_relaxed) ? "UNLINK" : "DEL", key};
    server_.write_stream.append(db, args, 2);
  }
}

// ---------------------------------------------------------------------------------------
// LFU

int Eviction::decayed_frequency(const KeyEntry* entry, uint32_t now) const {
  const int counter = entry->lfu_counter.load(std::memory_order_relaxed);
  const int decay_minutes = lfu_decay_time_.load(std::memory_order_relaxed);
  if (decay_minutes <= 0) return counter;
  const uint32_t idle = idle_seconds(entry->access_clock.load(std::memory_order_relaxed), now);
  const uint32_t periods = idle / 60 / static_cast<uint32_t>(decay_minutes);
  return periods >= static_cast<uint32_t>(counter) ? 0 : counter - static_cast<int>(periods);
}

void Eviction::update_frequency(KeyEntry* entry, uint32_t now) const {
  int counter = decayed_frequency(entry, now);
  if (counter < 255) {
    const int base = std::max(0, counter - KeyEntry::kLfuInitCounter);
    const double p = 1.0 / (static_cast<double>(base) * lfu_log_factor_.load(std::memory_order_relaxed) + 1.0);
    if (random_unit() < p) counter++;
  }
  entry->lfu_counter.store(static_cast<uint8_t>(counter), std::memory_order_relaxed);
}

}  // namespace rd
