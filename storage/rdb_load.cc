// The RDB decoder: versions 1..12, every encoding Redis 7.x writes for strings, lists, sets,
// sorted sets, hashes and streams (plus the older ziplist/zipmap/quicklist forms). Values are
// rebuilt through the containers' public API. Anything it cannot represent (modules,
// functions) or any damage ends the load with an error message, never a crash.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/rdb.h"
#include "storage/rdb_codec.h"
#include "storage/set.h"
#include "storage/stream.h"
#include "storage/zset.h"

namespace rd {
namespace {

// Thrown inside the decoder and turned into RdbLoadResult::error at the top: decoding is
// deeply nested and every byte read can fail, so an exception keeps each step to one line.
struct LoadError {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw LoadError{std::move(message)}; }

constexpr size_t kReadChunk = 1 << 20;  // strings are read in chunks: a corrupt length cannot
                                         // make us allocate more than the file holds

class RdbReader {
 public:
  explicit RdbReader(RdbSource& source) : source_(source) {}

  uint64_t offset() const { return offset_; }
  uint64_t crc() const { return crc_; }

  void read(void* data, size_t length) {
    if (!source_.read(static_cast<char*>(data), length)) fail("Short read or unexpected end of file");
    crc_ = rdb::crc64(crc_, data, length);
    offset_ += length;
  }
  // Reads without updating the checksum (the footer itself).
  void read_footer(void* data, size_t length) {
    if (!source_.read(static_cast<char*>(data), length)) fail("Short read or unexpected end of file");
    offset_ += length;
  }

  uint8_t byte() {
    uint8_t b = 0;
    read(&b, 1);
    return b;
  }

  uint64_t le(size_t n) {
    unsigned char buf[8];
    read(buf, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= uint64_t{buf[i]} << (8 * i);
    return v;
  }

  // A length, or (when `encoded` is given) the special string encoding it announces.
  uint64_t length(bool* encoded = nullptr) {
    if (encoded != nullptr) *encoded = false;
    uint8_t first = byte();
    switch (first >> 6) {
      case rdb::kLen6Bit: return first & 0x3f;
      case rdb::kLen14Bit: return (uint64_t{first & 0x3fu} << 8) | byte();
      case rdb::kLenEncoded:
        if (encoded == nullptr) fail("Unexpected encoded length");
        *encoded = true;
        return first & 0x3f;
      default: break;
    }
    if (first != rdb::kLen32Bit && first != rdb::kLen64Bit) fail("Unknown length encoding " + std::to_string(first));
    size_t n = first == rdb::kLen32Bit ? 4 : 8;
    unsigned char buf[8];
    read(buf, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | buf[i];
    return v;
  }

  std::string string() {
    bool encoded = false;
    uint64_t len = length(&encoded);
    if (!encoded) return raw_string(len);
    switch (len) {
      case rdb::kEncInt8: return std::to_string(static_cast<int8_t>(le(1)));
      case rdb::kEncInt16: return std::to_string(static_cast<int16_t>(le(2)));
      case rdb::kEncInt32: return std::to_string(static_cast<int32_t>(le(4)));
      case rdb::kEncLzf: return lzf_string();
      default: fail("Unknown string encoding " + std::to_string(len));
    }
  }

  double binary_double() {
    uint64_t bits = le(8);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

  // The old text form: a length byte (253 nan, 254 +inf, 255 -inf) and the digits.
  double text_double() {
    uint8_t len = byte();
    if (len == 253) return NAN;
    if (len == 254) return INFINITY;
    if (len == 255) return -INFINITY;
    char buf[256];
    read(buf, len);
    buf[len] = '\0';
    char* end = nullptr;
    double d = std::strtod(buf, &end);
    if (end != buf + len) fail("Invalid double value");
    return d;
  }

 private:
  std::string raw_string(uint64_t len) {
    std::string out;
    while (out.size() < len) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - out.size(), kReadChunk));
      size_t old = out.size();
      out.resize(old + chunk);
      read(out.data() + old, chunk);
    }
    return out;
  }

  std::string lzf_string() {
    uint64_t compressed_len = length();
    uint64_t len = length();
    // LZF expands at most ~132x (a 2-byte reference yields up to 264 bytes).
    if (len > compressed_len * 140 + 64) fail("Invalid LZF lengths");
    std::string compressed = raw_string(compressed_len);
    std::string out(len, '\0');
    if (!rdb::lzf_decompress(compressed.data(), compressed.size(), out.data(), out.size())) {
      fail("Invalid LZF compressed string");
    }
    return out;
  }

  RdbSource& source_;
  uint64_t offset_ = 0;
  uint64_t crc_ = 0;
};

// ---- values ----

class ValueLoader {
 public:
  ValueLoader(RdbReader& in, const EncodingLimits& limits) : in_(in), limits_(limits) {}

  // Returns false for an empty collection (Redis skips those keys).
  bool load(uint8_t type, Value* out) {
    switch (type) {
      case rdb::kTypeString: *out = Value(in_.string()); return true;
      case rdb::kTypeList: return list_plain(out);
      case rdb::kTypeListZiplist: return list_from_blobs(out, 1, false);
      case rdb::kTypeListQuicklist: return list_from_blobs(out, in_.length(), false);
      case rdb::kTypeListQuicklist2: return list_from_blobs(out, in_.length(), true);
      case rdb::kTypeSet: return set_plain(out);
      case rdb::kTypeSetIntset: return set_blob(out, rdb::decode_intset);
      case rdb::kTypeSetListpack: return set_blob(out, rdb::decode_listpack);
      case rdb::kTypeZSet:
      case rdb::kTypeZSet2: return zset_plain(out, type == rdb::kTypeZSet2);
      case rdb::kTypeZSetZiplist: return zset_blob(out, rdb::decode_ziplist);
      case rdb::kTypeZSetListpack: return zset_blob(out, rdb::decode_listpack);
      case rdb::kTypeHash: return hash_plain(out);
      case rdb::kTypeHashZipmap: return hash_blob(out, rdb::decode_zipmap);
      case rdb::kTypeHashZiplist: return hash_blob(out, rdb::decode_ziplist);
      case rdb::kTypeHashListpack: return hash_blob(out, rdb::decode_listpack);
      case rdb::kTypeModule:
      case rdb::kTypeModule2: fail("Module values are not supported (RDB type " + std::to_string(type) + ")");
      case rdb::kTypeStreamListpacks:
      case rdb::kTypeStreamListpacks2:
      case kTypeStreamListpacks3: return stream(out, type);
      default: fail("Unknown RDB value type " + std::to_string(type));
    }
  }

 private:
  using Decoder = bool (*)(std::string_view, const rdb::ElementVisitor&);
  static constexpr uint8_t kTypeStreamListpacks3 = 21;  // Redis 7.2: consumers' active time

  StreamId raw_id() {
    unsigned char buf[16];
    in_.read(buf, 16);
    StreamId id;
    for (int i = 0; i < 8; i++) {
      id.ms = (id.ms << 8) | buf[i];
      id.seq = (id.seq << 8) | buf[8 + i];
    }
    return id;
  }

  // RDB_TYPE_STREAM_LISTPACKS (Redis 5/6), _2 (7.0) and _3 (7.2). Streams may be empty.
  bool stream(Value* out, uint8_t type) {
    auto s = std::make_unique<StreamValue>();
    const uint64_t nodes = in_.length();
    for (uint64_t i = 0; i < nodes; i++) {
      std::string key = in_.string();
      if (key.size() != 16) fail("Stream node key entry is not the size of a stream ID");
      std::string listpack = in_.string();
      std::string error = s->load_node(key, listpack);
      if (!error.empty()) fail(error);
    }
    const uint64_t length = in_.length();
    if (length != s->length()) fail("Stream length inconsistent with its entries");
    StreamId last;
    last.ms = in_.length();
    last.seq = in_.length();
    s->set_last_id(last);
    if (type >= rdb::kTypeStreamListpacks2) {
      StreamId first, max_deleted;
      first.ms = in_.length();
      first.seq = in_.length();
      max_deleted.ms = in_.length();
      max_deleted.seq = in_.length();
      s->set_first_id(first);
      s->set_max_deleted_id(max_deleted);
      s->set_entries_added(in_.length());
    } else {
      // As Redis 7.0 upgrades an older stream: entries added = length, first ID looked up.
      s->set_entries_added(length);
      s->set_first_id(s->edge_id(true, true));
    }
    if (s->length() > 0 && s->edge_id(false, false) > last) fail("Stream last ID is smaller than its entries");
    const uint64_t groups = in_.length();
    for (uint64_t g = 0; g < groups; g++) {
      std::string name = in_.string();
      StreamId group_last;
      group_last.ms = in_.length();
      group_last.seq = in_.length();
      int64_t entries_read = type >= rdb::kTypeStreamListpacks2
                                 ? static_cast<int64_t>(in_.length())
                                 : s->estimate_distance_from_first_ever_entry(group_last);
      StreamGroup* group = s->add_group(name, group_last, entries_read);
      if (group == nullptr) fail("Duplicated consumer group name");
      const uint64_t pending = in_.length();
      for (uint64_t i = 0; i < pending; i++) {
        StreamId id = raw_id();
        StreamPending nack;
        nack.delivery_time = static_cast<int64_t>(in_.le(8));
        nack.delivery_count = in_.length();
        if (!group->pel.emplace(id, nack).second) fail("Duplicated global PEL entry loading stream consumer group");
      }
      const uint64_t consumers = in_.length();
      for (uint64_t c = 0; c < consumers; c++) {
        std::string cname = in_.string();
        const auto seen = static_cast<int64_t>(in_.le(8));
        if (type >= kTypeStreamListpacks3) in_.le(8);  // active time: not kept by 7.0
        StreamConsumer* consumer = group->add_consumer(cname, seen);
        if (consumer == nullptr) fail("Duplicate stream consumer detected");
        const uint64_t owned = in_.length();
        for (uint64_t i = 0; i < owned; i++) {
          StreamId id = raw_id();
          auto it = group->pel.find(id);
          if (it == group->pel.end()) fail("Consumer entry not found in group global PEL");
          if (it->second.consumer != nullptr) fail("Duplicated consumer PEL entry loading a stream consumer group");
          it->second.consumer = consumer;
          consumer->pel.emplace(id, &it->second);
        }
      }
      for (const auto& [id, nack] : group->pel) {
        if (nack.consumer == nullptr) fail("Stream PEL entry without a consumer");
      }
    }
    *out = Value(std::move(s));
    return true;
  }

  bool list_plain(Value* out) {
    uint64_t len = in_.length();
    auto list = std::make_unique<ListValue>();
    for (uint64_t i = 0; i < len; i++) list->push_back(in_.string());
    if (list->size() == 0) return false;
    *out = Value(std::move(list));
    return true;
  }

  // A ziplist (one node), or quicklist nodes: ziplists, or (v2) a container byte then a
  // listpack or one plain element.
  bool list_from_blobs(Value* out, uint64_t nodes, bool v2) {
    auto list = std::make_unique<ListValue>();
    for (uint64_t i = 0; i < nodes; i++) {
      uint64_t container = v2 ? in_.length() : rdb::kQuicklistNodePacked;
      std::string blob = in_.string();
      if (container == rdb::kQuicklistNodePlain) {
        list->push_back(blob);
        continue;
      }
      if (container != rdb::kQuicklistNodePacked) fail("Unknown quicklist node container");
      auto push = [&](std::string_view item) { list->push_back(item); };
      bool ok = v2 ? rdb::decode_listpack(blob, push) : rdb::decode_ziplist(blob, push);
      if (!ok) fail(v2 ? "Listpack integrity check failed" : "Ziplist integrity check failed");
    }
    if (list->size() == 0) return false;
    *out = Value(std::move(list));
    return true;
  }

  bool set_plain(Value* out) {
    uint64_t len = in_.length();
    auto set = std::make_unique<SetValue>();
    for (uint64_t i = 0; i < len; i++) {
      if (!set->add(in_.string(), limits_)) fail("Duplicate set members detected");
    }
    if (set->size() == 0) return false;
    *out = Value(std::move(set));
    return true;
  }

  bool set_blob(Value* out, Decoder decode) {
    std::string blob = in_.string();
    auto set = std::make_unique<SetValue>();
    bool duplicate = false;
    if (!decode(blob, [&](std::string_view m) { duplicate |= !set->add(m, limits_); })) {
      fail("Set encoding integrity check failed");
    }
    if (duplicate) fail("Duplicate set members detected");
    if (set->size() == 0) return false;
    *out = Value(std::move(set));
    return true;
  }

  bool zset_plain(Value* out, bool binary_scores) {
    uint64_t len = in_.length();
    auto zset = std::make_unique<ZSetValue>();
    for (uint64_t i = 0; i < len; i++) {
      std::string member = in_.string();
      double score = binary_scores ? in_.binary_double() : in_.text_double();
      if (std::isnan(score)) fail("Zset with NAN score detected");
      if (!zset->add(member, score, limits_)) fail("Duplicate zset fields detected");
    }
    if (zset->size() == 0) return false;
    *out = Value(std::move(zset));
    return true;
  }

  bool zset_blob(Value* out, Decoder decode) {
    std::string blob = in_.string();
    auto zset = std::make_unique<ZSetValue>();
    std::string member;
    bool have_member = false;
    bool bad = false;
    auto visit = [&](std::string_view item) {
      if (!have_member) {
        member.assign(item);
        have_member = true;
        return;
      }
      have_member = false;
      std::string text(item);
      char* end = nullptr;
      double score = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || std::isnan(score) || !zset->add(member, score, limits_)) bad = true;
    };
    if (!decode(blob, visit) || have_member || bad) fail("Zset encoding integrity check failed");
    if (zset->size() == 0) return false;
    *out = Value(std::move(zset));
    return true;
  }

  bool hash_plain(Value* out) {
    uint64_t len = in_.length();
    auto hash = std::make_unique<HashValue>();
    for (uint64_t i = 0; i < len; i++) {
      std::string field = in_.string();
      std::string value = in_.string();
      if (!hash->set(field, value, limits_)) fail("Duplicate hash fields detected");
    }
    if (hash->size() == 0) return false;
    *out = Value(std::move(hash));
    return true;
  }

  bool hash_blob(Value* out, Decoder decode) {
    std::string blob = in_.string();
    auto hash = std::make_unique<HashValue>();
    std::string field;
    bool have_field = false;
    bool duplicate = false;
    auto visit = [&](std::string_view item) {
      if (!have_field) {
        field.assign(item);
        have_field = true;
        return;
      }
      have_field = false;
      duplicate |= !hash->set(field, item, limits_);
    };
    if (!decode(blob, visit) || have_field) fail("Hash encoding integrity check failed");
    if (duplicate) fail("Duplicate hash fields detected");
    if (hash->size() == 0) return false;
    *out = Value(std::move(hash));
    return true;
  }

  RdbReader& in_;
  const EncodingLimits& limits_;
};

// ---- the file ----

int read_header(RdbReader& in) {
  char magic[9];
  in.read(magic, 9);
  if (std::memcmp(magic, "REDIS", 5) != 0) fail("Wrong signature trying to load DB from file");
  int version = 0;
  for (int i = 5; i < 9; i++) {
    if (magic[i] < '0' || magic[i] > '9') fail("Wrong signature trying to load DB from file");
    version = version * 10 + (magic[i] - '0');
  }
  if (version < 1 || version > rdb::kMaxLoadVersion) fail("Can't handle RDB format version " + std::to_string(version));
  return version;
}

void read_aux(RdbReader& in, RdbLoadResult* result) {
  std::string key = in.string();
  std::string value = in.string();
  RdbReplicationInfo& repl = result->replication;
  if (key == "repl-id") repl.repl_id = value;
  if (key == "repl-offset") repl.repl_offset = std::strtoll(value.c_str(), nullptr, 10);
  if (key == "repl-stream-db") repl.repl_stream_db = static_cast<int>(std::strtol(value.c_str(), nullptr, 10));
}

void verify_checksum(RdbReader& in, int version) {
  if (version < 5) return;
  const uint64_t computed = in.crc();
  unsigned char buf[8];
  in.read_footer(buf, 8);
  uint64_t stored = 0;
  for (int i = 0; i < 8; i++) stored |= uint64_t{buf[i]} << (8 * i);
  if (stored != 0 && stored != computed) {
    char text[128];
    std::snprintf(text, sizeof(text), "Wrong RDB checksum expected: (%llx) got: (%llx)",
                  static_cast<unsigned long long>(stored), static_cast<unsigned long long>(computed));
    fail(text);
  }
}

void load_all(RdbReader& in, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms, bool skip_expired,
              bool allow_duplicates, RdbLoadResult* result) {
  const int version = read_header(in);
  ValueLoader values(in, limits);
  int db = 0;
  int64_t expire_ms = kNoExpire;
  while (true) {
    uint8_t type = in.byte();
    switch (type) {
      case rdb::kOpExpireTime: expire_ms = static_cast<int64_t>(static_cast<int32_t>(in.le(4))) * 1000; continue;
      case rdb::kOpExpireTimeMs: expire_ms = static_cast<int64_t>(in.le(8)); continue;
      case rdb::kOpIdle: in.length(); continue;
      case rdb::kOpFreq: in.byte(); continue;
      case rdb::kOpAux: read_aux(in, result); continue;
      case rdb::kOpSlotInfo: in.length(); in.length(); in.length(); continue;
      case rdb::kOpModuleAux: fail("Module auxiliary data is not supported");
      case rdb::kOpFunction2: result->function_libraries.push_back(in.string()); continue;
      case rdb::kOpFunctionPreGa: fail("Pre-GA function format not supported");
      case rdb::kOpSelectDb: {
        uint64_t index = in.length();
        if (index >= static_cast<uint64_t>(keyspace.db_count())) {
          fail("Data file was created with a Redis server configured to handle more than " +
               std::to_string(keyspace.db_count()) + " databases");
        }
        db = static_cast<int>(index);
        continue;
      }
      case rdb::kOpResizeDb: {
        uint64_t size = in.length();
        in.length();
        Db& target = keyspace.db(db);
        // A hint only: capped, so a damaged file cannot make us reserve absurd amounts.
        target.reserve(target.size() + static_cast<size_t>(std::min<uint64_t>(size, 1u << 22)));
        continue;
      }
      case rdb::kOpEof: return verify_checksum(in, version);
      default: break;
    }
    std::string key = in.string();
    Value value;
    bool present = values.load(type, &value);
    const int64_t expire = expire_ms;
    expire_ms = kNoExpire;
    if (!present) continue;  // an empty collection: skipped as Redis does
    if (skip_expired && expire != kNoExpire && expire < now_ms) {
      result->keys_expired++;
      continue;
    }
    Db& target = keyspace.db(db);
    if (target.find(key) != nullptr) {
      if (!allow_duplicates) fail("RDB has duplicated key '" + key + "' in DB " + std::to_string(db));
      target.erase(key);
    }
    KeyEntry* entry = target.add(key, std::move(value));
    if (expire != kNoExpire) target.set_expire(entry, expire);
    result->keys_loaded++;
  }
}

}  // namespace

std::string rdb_decode_value(std::string_view data, const EncodingLimits& limits, Value* out) {
  StringSource source(data);
  RdbReader in(source);
  try {
    const uint8_t type = in.byte();
    // Redis 7.0's list of value types: 8 was never used, 20 and later came with 7.2.
    if (type == 8 || type > rdb::kTypeStreamListpacks2) fail("Unknown RDB value type " + std::to_string(type));
    ValueLoader values(in, limits);
    if (!values.load(type, out)) fail("Empty keys are not allowed");
  } catch (const LoadError& error) {
    return error.message;
  } catch (const std::bad_alloc&) {
    return "Out of memory";
  }
  return "";
}

RdbLoadResult rdb_load(RdbSource& source, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms,
                       bool skip_expired, bool allow_duplicates) {
  RdbLoadResult result;
  RdbReader in(source);
  try {
    load_all(in, keyspace, limits, now_ms, skip_expired, allow_duplicates, &result);
  } catch (const LoadError& error) {
    result.error = error.message + " (at offset " + std::to_string(in.offset()) + ")";
  } catch (const std::bad_alloc&) {
    result.error = "Out of memory loading the RDB (at offset " + std::to_string(in.offset()) + ")";
  }
  return result;
}

}  // namespace rd
