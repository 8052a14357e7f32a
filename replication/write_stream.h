// The ordered stream of effective write commands, fanned out to its consumers: the
// replication backlog (and through it every replica) and the append-only file.
//
// The dispatcher appends every propagated command while it still holds the keyspace lock
// exclusively, so every consumer sees the execution order. Each consumer keeps its own
// notion of the selected database (and emits SELECT itself when the db changes).
//
// Thread-safety: append() is only called under the exclusive keyspace lock; consumers are
// added and removed under that same lock (exclusive), so no extra lock is needed here.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string_view>
#include <vector>

namespace rd {

class WriteConsumer {
 public:
  virtual ~WriteConsumer() = default;
  // One command executed against database `db`. Called under the exclusive keyspace lock:
  // must be quick (append to a buffer) and must not take the keyspace lock.
  virtual void on_command(int db, const std::string_view* args, size_t count) = 0;
  // Whether it also wants commands only replicas get (PUBLISH: Redis's PROPAGATE_REPL).
  virtual bool wants_replication_only() const { return true; }
};

class WriteStream {
 public:
  // False while nobody consumes the stream: the dispatcher then skips encoding entirely.
  bool active() const { return active_.load(std::memory_order_relaxed); }

  // REQUIRES: keyspace lock exclusive.
  void append(int db, const std::string_view* args, size_t count, bool replication_only = false) {
    for (WriteConsumer* consumer : consumers_) {
      if (!replication_only || consumer->wants_replication_only()) consumer->on_command(db, args, count);
    }
  }

  // REQUIRES: keyspace lock exclusive. The consumer must outlive its registration.
  void add_consumer(WriteConsumer* consumer) {
    consumers_.push_back(consumer);
    active_.store(true, std::memory_order_relaxed);
  }
  void remove_consumer(WriteConsumer* consumer) {
    consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), consumer), consumers_.end());
    active_.store(!consumers_.empty(), std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> active_{false};
  std::vector<WriteConsumer*> consumers_;  // Guarded by the keyspace lock
};

}  // namespace rd
