// The value stored under a key: a small closed set of types. Each container type lives in its
// own header (list.h, hash.h, set.h, zset.h, stream.h) and is the one place that knows its
// encodings.
//
// Not thread-safe: guarded by the keyspace lock like the database that holds it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace rd {

class ListValue;
class SetValue;
class ZSetValue;
class HashValue;
class StreamValue;

// When the compact encodings of small collections convert to their large ones. The values
// come from the config (hash-max-listpack-entries, ...); the server keeps a current copy.
struct EncodingLimits {
  size_t hash_max_listpack_entries = 512;
  size_t hash_max_listpack_value = 64;
  size_t set_max_intset_entries = 512;
  size_t zset_max_listpack_entries = 128;
  size_t zset_max_listpack_value = 64;
  int64_t list_max_listpack_size = -2;
};

// The order matches the variant below.
enum class ValueType : uint8_t { kString = 0, kList = 1, kSet = 2, kZSet = 3, kHash = 4, kStream = 5 };

// The name TYPE reports: "string", "list", "set", "zset", "hash", "stream".
std::string_view value_type_name(ValueType type);

class Value;

// The encoding OBJECT ENCODING reports for a value ("int", "embstr", "raw", "listpack", ...).
// Strings modified in place (APPEND, SETRANGE) are "raw" as in Redis.
std::string_view encoding_name(const Value& value, bool string_is_raw);
// OBJECT REFCOUNT: Redis shares small integers (0..9999), reporting INT_MAX for them.
int64_t object_refcount(const Value& value, bool string_is_raw);

class Value {
 public:
  Value();
  explicit Value(std::string text);
  explicit Value(std::unique_ptr<ListValue> list);
  explicit Value(std::unique_ptr<SetValue> set);
  explicit Value(std::unique_ptr<ZSetValue> zset);
  explicit Value(std::unique_ptr<HashValue> hash);
  explicit Value(std::unique_ptr<StreamValue> stream);
  ~Value();
  Value(Value&&) noexcept;
  Value& operator=(Value&&) noexcept;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  ValueType type() const { return static_cast<ValueType>(data_.index()); }
  bool is(ValueType t) const { return type() == t; }

  // Each accessor requires the matching type().
  const std::string& str() const { return std::get<std::string>(data_); }
  std::string& str() { return std::get<std::string>(data_); }
  ListValue& list() { return *std::get<std::unique_ptr<ListValue>>(data_); }
  const ListValue& list() const { return *std::get<std::unique_ptr<ListValue>>(data_); }
  SetValue& set() { return *std::get<std::unique_ptr<SetValue>>(data_); }
  const SetValue& set() const { return *std::get<std::unique_ptr<SetValue>>(data_); }
  ZSetValue& zset() { return *std::get<std::unique_ptr<ZSetValue>>(data_); }
  const ZSetValue& zset() const { return *std::get<std::unique_ptr<ZSetValue>>(data_); }
  HashValue& hash() { return *std::get<std::unique_ptr<HashValue>>(data_); }
  const HashValue& hash() const { return *std::get<std::unique_ptr<HashValue>>(data_); }
  StreamValue& stream() { return *std::get<std::unique_ptr<StreamValue>>(data_); }
  const StreamValue& stream() const { return *std::get<std::unique_ptr<StreamValue>>(data_); }

  // A deep copy (COPY, DEBUG RELOAD round trips in tests).
  Value clone() const;

 private:
  std::variant<std::string, std::unique_ptr<ListValue>, std::unique_ptr<SetValue>,
               std::unique_ptr<ZSetValue>, std::unique_ptr<HashValue>, std::unique_ptr<StreamValue>>
      data_;
};

}  // namespace rd
