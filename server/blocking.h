// Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...).
//
// A blocking command that finds nothing to serve registers a BlockedState and its thread
// waits on its eventfd. A write that may satisfy it (a push, a ZADD) signals the key ready;
// after that write, still under the exclusive keyspace lock, the dispatcher re-runs each
// waiter's command in FIFO order on the writer's thread (Server::serve_blocked_clients), stores
// the reply in the BlockedState and wakes the waiter. Serving inside the writer's critical
// section makes the pop atomic with the push, exactly as Redis serves blocked clients.
//
// Guarded by the keyspace lock (exclusive for every change).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/value.h"

namespace rd {

class Client;
class Keyspace;
struct CommandSpec;

// What a blocked command replies when its timeout expires.
enum class TimeoutReply { kNullArray, kNullBulk };

struct BlockedState {
  Client* client = nullptr;
  const CommandSpec* spec = nullptr;
  std::vector<std::string> args;  // owned copy of the command
  int db = 0;
  int protocol = 2;
  std::vector<std::string> keys;
  int64_t deadline_ms = 0;  // absolute unix ms; 0 = wait forever
  int64_t arrival_ns = 0;   // when the command reached us (Client::input_arrival_ns); 0: now
  TimeoutReply timeout_reply = TimeoutReply::kNullArray;
  bool done = false;        // served (or unblocked): `reply` holds what to send
  std::string reply;
  // When set, the command is also re-run when one of its keys is deleted or comes to hold
  // another type (XREADGROUP, which Redis 7.0 then answers -UNBLOCKED).
  std::optional<ValueType> vanish_type;
};

class BlockingRegistry {
 public:
  void add(BlockedState* state);
  void remove(BlockedState* state);
  // Notes that (db, key) may now satisfy waiters; cheap when nobody waits on it.
  void signal_ready(int db, std::string_view key);
  bool has_ready() const { return !ready_.empty(); }
  // Takes the keys signalled since the last call, in signal order.
  std::vector<std::pair<int, std::string>> take_ready();
  // The waiters of (db, key), oldest first (a copy: serving changes the registry).
  std::vector<BlockedState*> waiters(int db, std::string_view key) const;
  BlockedState* find_client(uint64_t client_id) const;
  // Signals the keys of waiters with a vanish_type that are now missing or of another type.
  // Cheap when no such waiter exists. REQUIRES: keyspace lock exclusive.
  void signal_vanished(const Keyspace& keyspace);
  size_t blocked_count() const { return blocked_.size(); }
  size_t keys_count() const { return by_key_.size(); }

 private:
  static std::string slot(int db, std::string_view key);
  std::unordered_map<std::string, std::deque<BlockedState*>> by_key_;
  std::vector<BlockedState*> blocked_;
  std::vector<std::pair<int, std::string>> ready_;
  size_t vanish_waiters_ = 0;  // waiters with a vanish_type
};

}  // namespace rd
