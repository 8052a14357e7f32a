// The RDB file format (version 10, what Redis 7.0 writes): the whole keyspace as one byte
// stream, used by SAVE/BGSAVE, DEBUG RELOAD, loading at startup and full resynchronization.
// (Interface; the persistence work implements it in rdb.cc and friends.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/db.h"

namespace rd {

// Where an RDB image is written (a file, a socket, a string). write() returns false on error.
class RdbSink {
 public:
  virtual ~RdbSink() = default;
  virtual bool write(const char* data, size_t length) = 0;
};

// Where an RDB image is read from. read() fills exactly `length` bytes or returns false.
class RdbSource {
 public:
  virtual ~RdbSource() = default;
  virtual bool read(char* data, size_t length) = 0;
};

// Replication information carried in the RDB's AUX fields.
struct RdbReplicationInfo {
  std::string repl_id;      // "" when not relevant
  int64_t repl_offset = -1;
  int repl_stream_db = -1;  // the db the master's stream had selected
};

// Writes the keyspace as an RDB v10 image. REQUIRES: a consistent view of the keyspace
// (the caller holds its lock, or runs in a forked child). `now_ms`: keys already expired are
// skipped. Returns false when the sink fails.
bool rdb_save(const Keyspace& keyspace, const RdbReplicationInfo& info, int64_t now_ms, RdbSink& sink,
              bool compress = true);

struct RdbLoadResult {
  std::string error;  // "" on success
  RdbReplicationInfo replication;
  int64_t keys_loaded = 0;
  int64_t keys_expired = 0;
};

// Loads an RDB image into `keyspace` (which the caller has emptied if it wants a replacement).
// Accepts versions 1..12. `skip_expired`: masters drop keys already expired in the file.
// REQUIRES: keyspace lock exclusive (or exclusive ownership before the server starts).
RdbLoadResult rdb_load(RdbSource& source, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms,
                       bool skip_expired);

}  // namespace rd
