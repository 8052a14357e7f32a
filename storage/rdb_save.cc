// The RDB encoder: writes the keyspace as a version-10 image with the encodings Redis 7.0
// itself writes: lists as quicklist 2 (8 KB listpack nodes); small hashes and sorted sets as
// listpacks and small integer sets as intsets when their in-memory encoding is compact;
// otherwise plain sets/hashes and binary-score sorted sets; streams as listpack nodes
// (RDB_TYPE_STREAM_LISTPACKS_2).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstring>
#include <vector>

#include "server/version.h"
#include "storage/hash.h"
#include "storage/list.h"
#include "storage/rdb.h"
#include "storage/rdb_codec.h"
#include "storage/set.h"
#include "storage/stream.h"
#include "storage/zset.h"

namespace rd {
namespace {

constexpr size_t kFlushAt = 64 * 1024;
constexpr size_t kMinCompressLength = 20;  // shorter strings are never compressed (as Redis)

// Buffers output, keeps the running CRC, and remembers the first sink failure.
class RdbWriter {
 public:
  RdbWriter(RdbSink& sink, bool compress) : sink_(sink), compress_(compress) { buffer_.reserve(kFlushAt + 1024); }

  bool ok() const { return ok_; }

  void raw(const void* data, size_t length) {
    if (length >= kFlushAt) {
      flush();
      emit(static_cast<const char*>(data), length);
      return;
    }
    buffer_.append(static_cast<const char*>(data), length);
    if (buffer_.size() >= kFlushAt) flush();
  }
  void byte(uint8_t b) {
    buffer_.push_back(static_cast<char>(b));
    if (buffer_.size() >= kFlushAt) flush();
  }

  void length(uint64_t len) {
    unsigned char buf[9];
    if (len < (1 << 6)) {
      buf[0] = static_cast<unsigned char>(len);
      return raw(buf, 1);
    }
    if (len < (1 << 14)) {
      buf[0] = static_cast<unsigned char>((len >> 8) | 0x40);
      buf[1] = static_cast<unsigned char>(len & 0xff);
      return raw(buf, 2);
    }
    const bool wide = len > UINT32_MAX;
    const int bytes = wide ? 8 : 4;
    buf[0] = wide ? rdb::kLen64Bit : rdb::kLen32Bit;
    for (int i = 0; i < bytes; i++) buf[1 + i] = static_cast<unsigned char>(len >> (8 * (bytes - 1 - i)));
    raw(buf, static_cast<size_t>(1 + bytes));
  }

  // A string, integer-encoded or LZF-compressed when that is what Redis would write.
  void string(std::string_view s) {
    int64_t number = 0;
    if (s.size() <= 11 && rdb::exact_int64(s, &number) && integer(number)) return;
    if (compress_ && s.size() > kMinCompressLength && compressed(s)) return;
    length(s.size());
    raw(s.data(), s.size());
  }

  void integer_string(int64_t value) {
    if (integer(value)) return;
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof(buf), value).ptr;
    string(std::string_view(buf, static_cast<size_t>(end - buf)));
  }

  void binary_double(double value) {
    unsigned char buf[8];
    std::memcpy(buf, &value, 8);  // little-endian host, as the format wants
    raw(buf, 8);
  }

  void aux(std::string_view key, std::string_view value) {
    byte(rdb::kOpAux);
    string(key);
    string(value);
  }
  void aux(std::string_view key, int64_t value) {
    byte(rdb::kOpAux);
    string(key);
    integer_string(value);
  }

  // EOF opcode and the checksum (0 when disabled), then the last flush.
  bool finish(bool checksum) {
    byte(rdb::kOpEof);
    flush();
    uint64_t crc = checksum ? crc_ : 0;
    unsigned char buf[8];
    for (int i = 0; i < 8; i++) buf[i] = static_cast<unsigned char>(crc >> (8 * i));
    emit(reinterpret_cast<const char*>(buf), 8);
    return ok_;
  }

  void flush() {
    if (buffer_.empty()) return;
    emit(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

 private:
  // Integer encodings for values that fit in 8, 16 or 32 bits.
  bool integer(int64_t v) {
    unsigned char buf[5];
    size_t n = 0;
    if (v >= INT8_MIN && v <= INT8_MAX) {
      buf[0] = 0xc0 | rdb::kEncInt8;
      n = 1;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      buf[0] = 0xc0 | rdb::kEncInt16;
      n = 2;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      buf[0] = 0xc0 | rdb::kEncInt32;
      n = 4;
    } else {
      return false;
    }
    auto u = static_cast<uint64_t>(v);
    for (size_t i = 0; i < n; i++) buf[1 + i] = static_cast<unsigned char>(u >> (8 * i));
    raw(buf, n + 1);
    return true;
  }

  bool compressed(std::string_view s) {
    // Only worth it when it saves more than the 4 bytes of lengths it costs.
    scratch_.resize(s.size() - 4);
    size_t n = rdb::lzf_compress(s.data(), s.size(), scratch_.data(), scratch_.size());
    if (n == 0) return false;
    byte(0xc0 | rdb::kEncLzf);
    length(n);
    length(s.size());
    raw(scratch_.data(), n);
    return true;
  }

  void emit(const char* data, size_t length) {
    crc_ = rdb::crc64(crc_, data, length);
    if (ok_ && !sink_.write(data, length)) ok_ = false;
  }

  RdbSink& sink_;
  const bool compress_;
  bool ok_ = true;
  uint64_t crc_ = 0;
  std::string buffer_;
  std::string scratch_;
};

// ---- compact encodings: what Redis 7.0 writes for small collections ----

constexpr size_t kListpackHeader = 6;  // u32 total bytes, u16 count
constexpr size_t kQuicklistNodeBytes = 8192;  // list-max-listpack-size -2, Redis's default

size_t backlen_size(size_t len) {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

// Bytes one element takes in a listpack (encoding, data, back-length).
size_t listpack_entry_size(std::string_view s) {
  int64_t v = 0;
  size_t len;
  if (s.size() <= 20 && rdb::exact_int64(s, &v)) {
    len = (v >= 0 && v <= 127) ? 1 : (v >= -4096 && v <= 4095) ? 2 : (v >= INT16_MIN && v <= INT16_MAX) ? 3
        : (v >= -8388608 && v <= 8388607) ? 4 : (v >= INT32_MIN && v <= INT32_MAX) ? 5 : 9;
  } else {
    len = s.size() + (s.size() < 64 ? 1 : s.size() < 4096 ? 2 : 5);
  }
  return len + backlen_size(len);
}

class ListpackBuilder {
 public:
  void add(std::string_view s) {
    const size_t start = body_.size();
    int64_t v = 0;
    if (s.size() <= 20 && rdb::exact_int64(s, &v)) {
      add_int(v);
    } else if (s.size() < 64) {
      body_.push_back(static_cast<char>(0x80 | s.size()));
      body_.append(s);
    } else if (s.size() < 4096) {
      body_.push_back(static_cast<char>(0xe0 | (s.size() >> 8)));
      body_.push_back(static_cast<char>(s.size() & 0xff));
      body_.append(s);
    } else {
      body_.push_back(static_cast<char>(0xf0));
      put_le(static_cast<uint64_t>(s.size()), 4);
      body_.append(s);
    }
    add_backlen(body_.size() - start);
    count_++;
  }
  size_t bytes() const { return kListpackHeader + body_.size() + 1; }
  bool empty() const { return count_ == 0; }

  // The finished blob; the builder is empty again afterwards.
  std::string take() {
    std::string out;
    out.reserve(bytes());
    const uint64_t total = bytes();
    const uint64_t count = count_ < 65535 ? count_ : 65535;  // 65535: "count them"
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>(total >> (8 * i)));
    for (int i = 0; i < 2; i++) out.push_back(static_cast<char>(count >> (8 * i)));
    out += body_;
    out.push_back(static_cast<char>(0xff));
    body_.clear();
    count_ = 0;
    return out;
  }

 private:
  void put_le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) body_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void add_int(int64_t v) {
    const auto u = static_cast<uint64_t>(v);
    if (v >= 0 && v <= 127) {
      body_.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
      uint64_t code = u & 0x1fff;  // 13-bit two's complement
      body_.push_back(static_cast<char>(0xc0 | (code >> 8)));
      body_.push_back(static_cast<char>(code & 0xff));
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      body_.push_back(static_cast<char>(0xf1));
      put_le(u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
      body_.push_back(static_cast<char>(0xf2));
      put_le(u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      body_.push_back(static_cast<char>(0xf3));
      put_le(u, 4);
    } else {
      body_.push_back(static_cast<char>(0xf4));
      put_le(u, 8);
    }
  }
  // The entry's length, most significant 7 bits first, read backwards by the decoder: every
  // byte but the first carries the continuation bit.
  void add_backlen(size_t len) {
    const size_t n = backlen_size(len);
    for (size_t i = 0; i < n; i++) {
      auto bits = static_cast<unsigned char>((len >> (7 * (n - 1 - i))) & 127);
      body_.push_back(static_cast<char>(i == 0 ? bits : bits | 128));
    }
  }

  std::string body_;
  size_t count_ = 0;
};

// A score as text that strtod reads back exactly ("3", "2.5", "inf").
std::string score_text(double score) {
  char buf[64];
  if (std::isfinite(score) && score == std::floor(score) && std::fabs(score) < 1e17) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(score));
  } else {
    std::snprintf(buf, sizeof(buf), "%.17g", score);
  }
  return buf;
}

// An intset blob: members are canonical integers (the set's encoding says so), sorted.
std::string intset_blob(const SetValue& set) {
  std::vector<int64_t> values;
  values.reserve(set.size());
  set.for_each([&](std::string_view m) {
    int64_t v = 0;
    rdb::exact_int64(m, &v);
    values.push_back(v);
  });
  std::sort(values.begin(), values.end());
  uint64_t width = 2;
  for (int64_t v : values) {
    if (v < INT32_MIN || v > INT32_MAX) width = 8;
    else if ((v < INT16_MIN || v > INT16_MAX) && width < 4) width = 4;
  }
  std::string out;
  auto put = [&](uint64_t v, uint64_t bytes) {
    for (uint64_t i = 0; i < bytes; i++) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(width, 4);
  put(values.size(), 4);
  for (int64_t v : values) put(static_cast<uint64_t>(v), width);
  return out;
}

bool all_canonical_ints(const SetValue& set) {
  bool ok = true;
  set.for_each([&](std::string_view m) {
    int64_t v = 0;
    ok = ok && rdb::exact_int64(m, &v);
  });
  return ok;
}

// Whether Redis 7.0 (list-max-listpack-size -2) appends an element of `length` bytes to a
// quicklist node of `node_bytes` bytes rather than starting a new node: it overestimates the
// entry's cost as its length plus 8 and allows 8 KB.
bool fits_quicklist_node(size_t node_bytes, size_t length) { return node_bytes + length + 8 <= kQuicklistNodeBytes; }

// Quicklist 2: listpack nodes split as Redis splits a list built by pushes at the tail (one
// element alone may exceed the limit). The node count comes first, so the split is computed
// once without building, then built.
void write_list(RdbWriter& w, const ListValue& list) {
  uint64_t nodes = 0;
  size_t node_bytes = 0;
  list.for_each([&](std::string_view item) {
    if (node_bytes == 0 || !fits_quicklist_node(node_bytes, item.size())) {
      nodes++;
      node_bytes = kListpackHeader + 1;
    }
    node_bytes += listpack_entry_size(item);
  });
  w.length(nodes);
  ListpackBuilder node;
  list.for_each([&](std::string_view item) {
    if (!node.empty() && !fits_quicklist_node(node.bytes(), item.size())) {
      w.length(rdb::kQuicklistNodePacked);
      w.string(node.take());
    }
    node.add(item);
  });
  if (!node.empty()) {
    w.length(rdb::kQuicklistNodePacked);
    w.string(node.take());
  }
}

// Redis 7.0's RDB_TYPE_STREAM_LISTPACKS_2: the nodes (key, listpack), the metadata, then the
// consumer groups with their PELs (IDs as raw 128-bit big-endian numbers, times as 8-byte
// little-endian milliseconds) and their consumers (each with the IDs of its pending entries).
void write_stream(RdbWriter& w, const StreamValue& stream) {
  auto raw_id = [&](StreamId id) { w.raw(StreamValue::encode_node_key(id).data(), 16); };
  auto ms_time = [&](int64_t ms) {
    unsigned char buf[8];
    for (int i = 0; i < 8; i++) buf[i] = static_cast<unsigned char>(static_cast<uint64_t>(ms) >> (8 * i));
    w.raw(buf, 8);
  };
  w.length(stream.node_count());
  stream.for_each_node([&](const std::string& key, const std::string& listpack) {
    w.string(key);
    w.string(listpack);
  });
  w.length(stream.length());
  w.length(stream.last_id().ms);
  w.length(stream.last_id().seq);
  w.length(stream.first_id().ms);
  w.length(stream.first_id().seq);
  w.length(stream.max_deleted_id().ms);
  w.length(stream.max_deleted_id().seq);
  w.length(stream.entries_added());
  w.length(stream.groups().size());
  for (const auto& [name, group] : stream.groups()) {
    w.string(name);
    w.length(group->last_id.ms);
    w.length(group->last_id.seq);
    w.length(static_cast<uint64_t>(group->entries_read));
    w.length(group->pel.size());
    for (const auto& [id, nack] : group->pel) {
      raw_id(id);
      ms_time(nack.delivery_time);
      w.length(nack.delivery_count);
    }
    w.length(group->consumers.size());
    for (const auto& [cname, consumer] : group->consumers) {
      w.string(cname);
      ms_time(consumer->seen_time);
      w.length(consumer->pel.size());
      for (const auto& [id, nack] : consumer->pel) raw_id(id);
    }
  }
}

bool compact_hash(const Value& value) { return value.hash().encoding_name() == "listpack"; }
bool compact_zset(const Value& value) { return value.zset().encoding_name() == "listpack"; }
bool compact_set(const Value& value) {
  return value.set().encoding_name() == "intset" && all_canonical_ints(value.set());
}

void write_value(RdbWriter& w, const Value& value) {
  switch (value.type()) {
    case ValueType::kString:
      w.string(value.str());
      return;
    case ValueType::kList:
      write_list(w, value.list());
      return;
    case ValueType::kSet:
      if (compact_set(value)) return w.string(intset_blob(value.set()));
      w.length(value.set().size());
      value.set().for_each([&](std::string_view member) { w.string(member); });
      return;
    case ValueType::kZSet:
      if (compact_zset(value)) {
        ListpackBuilder lp;
        value.zset().for_each([&](std::string_view member, double score) {
          lp.add(member);
          lp.add(score_text(score));
        });
        return w.string(lp.take());
      }
      // Redis writes a skip list from the highest score down (its loader then always inserts
      // at the head).
      w.length(value.zset().size());
      if (value.zset().size() > 0) {
        for (ZSetCursor c = value.zset().at(value.zset().size() - 1); c.valid(); c.prev()) {
          w.string(c.member());
          w.binary_double(c.score());
        }
      }
      return;
    case ValueType::kHash:
      if (compact_hash(value)) {
        ListpackBuilder lp;
        value.hash().for_each([&](std::string_view field, std::string_view v) {
          lp.add(field);
          lp.add(v);
        });
        return w.string(lp.take());
      }
      w.length(value.hash().size());
      value.hash().for_each([&](std::string_view field, std::string_view v) {
        w.string(field);
        w.string(v);
      });
      return;
    case ValueType::kStream:
      write_stream(w, value.stream());
      return;
  }
}

uint8_t type_byte(const Value& value) {
  switch (value.type()) {
    case ValueType::kString: return rdb::kTypeString;
    case ValueType::kList: return rdb::kTypeListQuicklist2;
    case ValueType::kSet: return compact_set(value) ? rdb::kTypeSetIntset : rdb::kTypeSet;
    case ValueType::kZSet: return compact_zset(value) ? rdb::kTypeZSetListpack : rdb::kTypeZSet2;
    case ValueType::kHash: return compact_hash(value) ? rdb::kTypeHashListpack : rdb::kTypeHash;
    case ValueType::kStream: return rdb::kTypeStreamListpacks2;
  }
  return rdb::kTypeString;
}

void write_header(RdbWriter& w, const RdbSaveOptions& options) {
  char magic[16];
  std::snprintf(magic, sizeof(magic), "REDIS%04d", rdb::kVersion);
  w.raw(magic, 9);
  w.aux("redis-ver", kRedisVersion);
  w.aux("redis-bits", int64_t{64});
  w.aux("ctime", options.now_ms / 1000);
  w.aux("used-mem", options.used_memory);
  const RdbReplicationInfo& repl = options.replication;
  if (!repl.repl_id.empty()) {
    w.aux("repl-stream-db", int64_t{repl.repl_stream_db < 0 ? 0 : repl.repl_stream_db});
    w.aux("repl-id", repl.repl_id);
    w.aux("repl-offset", repl.repl_offset);
  }
  w.aux("aof-base", int64_t{options.aof_base ? 1 : 0});
  for (const std::string& code : options.function_libraries) {
    w.byte(rdb::kOpFunction2);
    w.string(code);
  }
}

void delay_after_key(int64_t delay) {
  if (delay > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    return;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(-delay);
  while (std::chrono::steady_clock::now() < until) {
  }
}

void write_db(RdbWriter& w, const Db& db, int index, const RdbSaveOptions& options) {
  w.byte(rdb::kOpSelectDb);
  w.length(static_cast<uint64_t>(index));
  w.byte(rdb::kOpResizeDb);
  w.length(db.size());
  w.length(db.expires_count());
  db.for_each([&](const KeyEntry* entry) {
    if (options.skip_expired && entry->expired_at(options.now_ms)) return;
    if (entry->has_expire()) {
      unsigned char buf[9];
      buf[0] = rdb::kOpExpireTimeMs;
      auto ms = static_cast<uint64_t>(entry->expire_at_ms);
      for (int i = 0; i < 8; i++) buf[1 + i] = static_cast<unsigned char>(ms >> (8 * i));
      w.raw(buf, 9);
    }
    w.byte(type_byte(entry->value));
    w.string(entry->key());
    write_value(w, entry->value);
    if (options.key_save_delay != 0) delay_after_key(options.key_save_delay);
  });
}

// Counts bytes without storing them.
class CountingSink : public RdbSink {
 public:
  bool write(const char*, size_t length) override {
    count += length;
    return true;
  }
  size_t count = 0;
};

}  // namespace

bool rdb_save(const Keyspace& keyspace, const RdbSaveOptions& options, RdbSink& sink) {
  RdbWriter w(sink, options.compress);
  write_header(w, options);
  for (int i = 0; i < keyspace.db_count() && w.ok() && !options.exclude_data; i++) {
    if (keyspace.db(i).size() > 0) write_db(w, keyspace.db(i), i, options);
  }
  return w.finish(options.checksum);
}

bool rdb_save(const Keyspace& keyspace, const RdbReplicationInfo& info, int64_t now_ms, RdbSink& sink,
              bool compress) {
  RdbSaveOptions options;
  options.replication = info;
  options.now_ms = now_ms;
  options.compress = compress;
  return rdb_save(keyspace, options, sink);
}

size_t rdb_serialized_length(const Value& value, bool compress) {
  CountingSink sink;
  RdbWriter w(sink, compress);
  write_value(w, value);
  w.flush();
  return sink.count;
}

std::string rdb_encode_value(const Value& value, bool compress) {
  StringSink sink;
  RdbWriter w(sink, compress);
  w.byte(type_byte(value));
  write_value(w, value);
  w.flush();
  return std::move(sink.out);
}

bool StringSource::read(char* data, size_t length) {
  if (length > data_.size() - pos_) return false;
  std::memcpy(data, data_.data() + pos_, length);
  pos_ += length;
  return true;
}

}  // namespace rd
