// Buffered reads from a replication link's socket (the replica side of the master link):
// lines for the handshake, exact byte counts for the RDB, and raw chunks for the stream.
// Every wait is bounded by a timeout, and a socket shut down by another thread (REPLICAOF,
// shutdown, CLIENT KILL) ends any wait at once.
//
// Not thread-safe: owned by the link thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rd {

class LinkReader {
 public:
  enum class Fill { kData, kTimeout, kClosed };

  explicit LinkReader(int fd);

  // Waits up to `timeout_ms` for bytes and appends what arrived to pending().
  Fill fill(int timeout_ms);
  // Reads up to and including the next "\n"; *line gets it without "\r\n" / "\n".
  // False when the link closed or no byte came for `timeout_ms`.
  bool read_line(std::string* line, int timeout_ms);
  // Reads exactly `length` bytes. `timeout_ms` bounds each wait for more data.
  bool read_exact(char* out, size_t length, int timeout_ms);

  std::string_view pending() const { return {data_.get() + begin_, end_ - begin_}; }
  void consume(size_t n) { begin_ += n; }
  // Every byte received so far.
  uint64_t total_read() const { return total_; }

 private:
  void make_room();

  int fd_;
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t total_ = 0;
};

}  // namespace rd
