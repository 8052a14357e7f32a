#include "server/blocking.h"

#include <algorithm>
#include <iterator>
#include <cstring>

#include "server/client.h"
#include "storage/db.h"

namespace rd {

std::string BlockingRegistry::slot(int db, std::string_view key) {
  std::string s(sizeof(db), '\0');
  std::memcpy(s.data(), &db, sizeof(db));
  s.append(key);
  return s;
}

void BlockingRegistry::add(BlockedState* state) {
  blocked_.push_back(state);
  if (state->vanish_type) vanish_waiters_++;
  for (const std::string& key : state->keys) {
    auto& queue = by_key_[slot(state->db, key)];
    if (std::find(queue.begin(), queue.end(), state) != queue.end()) continue;
    // FIFO by arrival: a command that arrived earlier but blocked later (its thread ran
    // later) goes before the waiters that arrived after it.
    auto position = queue.end();
    while (state->arrival_ns != 0 && position != queue.begin() && (*std::prev(position))->arrival_ns > state->arrival_ns) {
      --position;
    }
    queue.insert(position, state);
  }
}

void BlockingRegistry::remove(BlockedState* state) {
  const auto before = blocked_.size();
  blocked_.erase(std::remove(blocked_.begin(), blocked_.end(), state), blocked_.end());
  if (blocked_.size() != before && state->vanish_type) vanish_waiters_--;
  for (const std::string& key : state->keys) {
    auto it = by_key_.find(slot(state->db, key));
    if (it == by_key_.end()) continue;
    auto& queue = it->second;
    queue.erase(std::remove(queue.begin(), queue.end(), state), queue.end());
    if (queue.empty()) by_key_.erase(it);
  }
}

void BlockingRegistry::signal_ready(int db, std::string_view key) {
  if (by_key_.empty()) return;
  if (by_key_.find(slot(db, key)) == by_key_.end()) return;
  for (const auto& [ready_db, ready_key] : ready_) {
    if (ready_db == db && ready_key == key) return;
  }
  ready_.emplace_back(db, std::string(key));
}

std::vector<std::pair<int, std::string>> BlockingRegistry::take_ready() {
  std::vector<std::pair<int, std::string>> out;
  out.swap(ready_);
  return out;
}

std::vector<BlockedState*> BlockingRegistry::waiters(int db, std::string_view key) const {
  auto it = by_key_.find(slot(db, key));
  if (it == by_key_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void BlockingRegistry::signal_vanished(const Keyspace& keyspace) {
  if (vanish_waiters_ == 0) return;
  for (const BlockedState* state : blocked_) {
    if (!state->vanish_type || state->done) continue;
    for (const std::string& key : state->keys) {
      const KeyEntry* entry = keyspace.db(state->db).find(key);
      if (entry == nullptr || !entry->value.is(*state->vanish_type)) signal_ready(state->db, key);
    }
  }
}

BlockedState* BlockingRegistry::find_client(uint64_t client_id) const {
  for (BlockedState* state : blocked_) {
    if (state->client->id == client_id) return state;
  }
  return nullptr;
}

}  // namespace rd
