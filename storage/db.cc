#include "storage/db.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <new>

namespace rd {

KeyEntry* KeyEntry::create(std::string_view key, Value value) {
  // One allocation holds the entry and its key bytes (see the struct comment).
  void* memory = ::operator new(sizeof(KeyEntry) + key.size());
  auto* entry = new (memory) KeyEntry(std::move(value));
  entry->key_length = static_cast<uint32_t>(key.size());
  if (!key.empty()) std::memcpy(reinterpret_cast<char*>(entry + 1), key.data(), key.size());
  entry->access_clock.store(access_clock_now(), std::memory_order_relaxed);
  return entry;
}

void KeyEntry::destroy(KeyEntry* entry) {
  entry->~KeyEntry();
  ::operator delete(entry);
}

KeyEntry* Db::add(std::string_view key, Value value) {
  KeyEntry* entry = KeyEntry::create(key, std::move(value));
  table_.insert(entry);
  return entry;
}

KeyEntry* Db::set(std::string_view key, Value value, bool keep_ttl) {
  KeyEntry* entry = table_.find(key);
  if (entry == nullptr) return add(key, std::move(value));
  entry->value = std::move(value);
  entry->string_is_raw = false;
  if (!keep_ttl) clear_expire(entry);
  entry->access_clock.store(access_clock_now(), std::memory_order_relaxed);
  return entry;
}

bool Db::erase(std::string_view key) {
  KeyEntry* entry = detach(key);
  if (entry == nullptr) return false;
  KeyEntry::destroy(entry);
  return true;
}

KeyEntry* Db::detach(std::string_view key) {
  KeyEntry* entry = table_.unlink(key);
  if (entry != nullptr && entry->has_expire()) expires_count_--;
  return entry;
}

void Db::attach(KeyEntry* entry) {
  table_.insert(entry);
  if (entry->has_expire()) expires_count_++;
}

void Db::set_expire(KeyEntry* entry, int64_t expire_at_ms) {
  if (entry->has_expire()) expires_count_--;
  entry->expire_at_ms = expire_at_ms;
  if (entry->has_expire()) expires_count_++;
}

size_t Db::clear() {
  size_t removed = table_.size();
  table_.clear();
  expires_count_ = 0;
  expire_cursor_ = 0;
  return removed;
}

void Db::swap(Db& other) {
  table_.swap(other.table_);
  std::swap(expires_count_, other.expires_count_);
  std::swap(expire_cursor_, other.expire_cursor_);
}

namespace {

uint32_t read_access_clock() {
  using namespace std::chrono;
  auto seconds = duration_cast<std::chrono::seconds>(steady_clock::now().time_since_epoch()).count();
  return static_cast<uint32_t>(seconds) & ((1u << 24) - 1);
}

// Like Redis's cached LRU clock: every key access stamps the clock, and reading it from the
// vDSO on each access cost several percent of a pipelined SET here. Once a server cron ticks
// it, accesses read the cached value (one-second resolution needs no better).
std::atomic<uint32_t> cached_access_clock{0};
std::atomic<bool> access_clock_ticking{false};

}  // namespace

void tick_access_clock() {
  cached_access_clock.store(read_access_clock(), std::memory_order_relaxed);
  access_clock_ticking.store(true, std::memory_order_release);
}

uint32_t access_clock_now() {
  if (access_clock_ticking.load(std::memory_order_acquire)) {
    return cached_access_clock.load(std::memory_order_relaxed);
  }
  return read_access_clock();
}

}  // namespace rd
