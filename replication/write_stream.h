// The ordered stream of effective write commands that replicas and the AOF consume.
//
// The dispatcher appends every propagated command while it still holds the keyspace lock
// exclusively, so the stream's order is the execution order. Consumers read it under the
// stream's own lock. (Placeholder interface until the replication work lands.)
#pragma once

#include <atomic>
#include <cstddef>
#include <string_view>

namespace rd {

class WriteStream {
 public:
  // False while nobody consumes the stream: the dispatcher then skips encoding entirely.
  bool active() const { return active_.load(std::memory_order_relaxed); }
  // Appends one command executed against database `db`. REQUIRES: keyspace lock exclusive.
  void append(int db, const std::string_view* args, size_t count);

 private:
  std::atomic<bool> active_{false};
};

}  // namespace rd
