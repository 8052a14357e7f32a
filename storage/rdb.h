// The RDB file format (version 10, what Redis 7.0 writes): the whole keyspace as one byte
// stream, used by SAVE/BGSAVE, DEBUG RELOAD, loading at startup and full resynchronization.
// Implemented in rdb_save.cc (encoder), rdb_load.cc (decoder) and the helpers declared in
// rdb_codec.h (LZF, CRC64, ziplist/listpack/intset/zipmap decoders).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// Everything a save can be told (the short form above uses the defaults).
struct RdbSaveOptions {
  RdbReplicationInfo replication;
  int64_t now_ms = 0;          // also written as the "ctime" AUX field (in seconds)
  bool compress = true;        // rdbcompression: LZF for strings over 20 bytes when it saves space
  bool checksum = true;        // rdbchecksum: "no" writes a zero CRC, which loaders skip
  int64_t used_memory = 0;     // the "used-mem" AUX field
  bool aof_base = false;       // the "aof-base" AUX field: this image is an AOF base file
  bool skip_expired = true;    // leave out keys already expired at now_ms
  bool exclude_data = false;   // functions only (REPLCONF rdb-filter-only functions)
  // rdb-key-save-delay: microseconds slept after each key (test suites slow a save down to
  // observe it in progress); negative: that many nanoseconds of busy work, as Redis.
  int64_t key_save_delay = 0;
  // FUNCTION libraries (their "#!lua name=..." code), saved after the AUX fields as Redis does.
  std::vector<std::string> function_libraries;
};
bool rdb_save(const Keyspace& keyspace, const RdbSaveOptions& options, RdbSink& sink);

// The size of `value` once serialized (DEBUG OBJECT serializedlength).
size_t rdb_serialized_length(const Value& value, bool compress);

// ---- one value: DUMP / RESTORE / MIGRATE payloads ----
// The value's RDB type byte followed by the value, exactly as a save writes it.
std::string rdb_encode_value(const Value& value, bool compress);
// Decodes a type byte and one value from the start of `data` (trailing bytes are ignored, as
// Redis's RESTORE ignores them). Only the value types Redis 7.0 knows (0..7, 9..19) are
// accepted, and empty collections are refused. Returns "" or the reason it failed.
std::string rdb_decode_value(std::string_view data, const EncodingLimits& limits, Value* out);

struct RdbLoadResult {
  std::string error;  // "" on success
  RdbReplicationInfo replication;
  int64_t keys_loaded = 0;
  int64_t keys_expired = 0;
  std::vector<std::string> function_libraries;  // the code of each FUNCTION library, in file order
};

// Loads an RDB image into `keyspace` (which the caller has emptied if it wants a replacement).
// Accepts versions 1..12. `skip_expired`: masters drop keys already expired in the file.
// `allow_duplicates` (DEBUG RELOAD MERGE): a key already present is replaced by the file's,
// instead of failing the load.
// REQUIRES: keyspace lock exclusive (or exclusive ownership before the server starts).
RdbLoadResult rdb_load(RdbSource& source, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms,
                       bool skip_expired, bool allow_duplicates = false);

// Sinks and sources over memory (tests, DEBUG OBJECT, AOF preamble detection).
class StringSink : public RdbSink {
 public:
  bool write(const char* data, size_t length) override {
    out.append(data, length);
    return true;
  }
  std::string out;
};

class StringSource : public RdbSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  bool read(char* data, size_t length) override;
  size_t consumed() const { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace rd
