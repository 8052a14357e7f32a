// Encodes the write stream's commands in the replication protocol: each command as a RESP
// multibulk, preceded by SELECT whenever its database differs from the previous command's.
// The encoding is exactly what Redis 7.0 sends, so offsets agree with a real Redis replica's.
//
// Not thread-safe: the owner calls it under the exclusive keyspace lock.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rd {

class StreamEncoder {
 public:
  // Appends the encoding of `args` (a command run against `db`) to *out.
  void encode(int db, const std::string_view* args, size_t count, std::string* out);
  // The next command is preceded by SELECT whatever its database (after a full sync starts a
  // replica from a snapshot, or after a replica is promoted).
  void force_select() { selected_db_ = -1; }
  int selected_db() const { return selected_db_; }

 private:
  int selected_db_ = -1;
};

// The fixed commands a master adds to the stream on its own.
inline constexpr std::string_view kPingCommand = "*1\r\n$4\r\nping\r\n";
inline constexpr std::string_view kGetAckCommand = "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

}  // namespace rd
