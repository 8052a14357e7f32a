#include "storage/value.h"

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/set.h"
#include "storage/stream.h"
#include "storage/zset.h"
#include "storage/numbers.h"

namespace rd {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kString: return "string";
    case ValueType::kList: return "list";
    case ValueType::kSet: return "set";
    case ValueType::kZSet: return "zset";
    case ValueType::kHash: return "hash";
    case ValueType::kStream: return "stream";
  }
  return "none";
}

namespace {

// Redis stores a string as an integer when it is the canonical text of an int64.
bool is_integer_text(const std::string& text, int64_t* value) {
  return text.size() <= 20 && string_to_int64(text, value);
}

}  // namespace

std::string_view encoding_name(const Value& value, bool string_is_raw) {
  switch (value.type()) {
    case ValueType::kString: {
      int64_t number = 0;
      if (string_is_raw) return "raw";
      if (is_integer_text(value.str(), &number)) return "int";
      return value.str().size() <= 44 ? "embstr" : "raw";
    }
    case ValueType::kList: return value.list().encoding_name();
    case ValueType::kSet: return value.set().encoding_name();
    case ValueType::kZSet: return value.zset().encoding_name();
    case ValueType::kHash: return value.hash().encoding_name();
    case ValueType::kStream: return "stream";
  }
  return "unknown";
}

int64_t object_refcount(const Value& value, bool string_is_raw) {
  int64_t number = 0;
  if (value.is(ValueType::kString) && !string_is_raw && is_integer_text(value.str(), &number) && number >= 0 &&
      number < 10000) {
    return 2147483647;
  }
  return 1;
}

Value::Value() : data_(std::string()) {}
Value::Value(std::string text) : data_(std::move(text)) {}
Value::Value(std::unique_ptr<ListValue> list) : data_(std::move(list)) {}
Value::Value(std::unique_ptr<SetValue> set) : data_(std::move(set)) {}
Value::Value(std::unique_ptr<ZSetValue> zset) : data_(std::move(zset)) {}
Value::Value(std::unique_ptr<HashValue> hash) : data_(std::move(hash)) {}
Value::Value(std::unique_ptr<StreamValue> stream) : data_(std::move(stream)) {}
Value::~Value() = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(Value&&) noexcept = default;

Value Value::clone() const {
  switch (type()) {
    case ValueType::kString: return Value(str());
    case ValueType::kList: return Value(list().clone());
    case ValueType::kSet: return Value(set().clone());
    case ValueType::kZSet: return Value(zset().clone());
    case ValueType::kHash: return Value(hash().clone());
    case ValueType::kStream: return Value(stream().clone());
  }
  return Value();
}

}  // namespace rd
