// cmsgpack: MessagePack for scripts, as the library Redis bundles (lua-cmsgpack) documents it.
//
//   cmsgpack.pack(v1, v2, ...)              -> the encodings of every value, concatenated
//   cmsgpack.unpack(s)                      -> every value encoded in s
//   cmsgpack.unpack_one(s [, offset])       -> next offset (-1 at the end), first value
//   cmsgpack.unpack_limit(s, n [, offset])  -> next offset (-1 at the end), up to n values
//
// Encoding: integral numbers use the smallest integer form, other numbers float32 when exact,
// else float64; strings are str (fixstr/str8/16/32); a table whose keys are exactly 1..n is an
// array, any other a map; tables nested deeper than 16 levels, and non-data values, are nil.
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "server/scripting/lua_libs.h"

namespace rd {
namespace {

constexpr int kMaxNesting = 16;

// ---- encoding ----

void put_be(std::string* out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_header(std::string* out, uint8_t type, uint64_t value, int bytes) {
  out->push_back(static_cast<char>(type));
  put_be(out, value, bytes);
}

void encode_integer(std::string* out, int64_t n) {
  if (n >= 0) {
    if (n <= 127) return out->push_back(static_cast<char>(n));
    if (n <= 0xff) return put_header(out, 0xcc, static_cast<uint64_t>(n), 1);
    if (n <= 0xffff) return put_header(out, 0xcd, static_cast<uint64_t>(n), 2);
    if (n <= 0xffffffffLL) return put_header(out, 0xce, static_cast<uint64_t>(n), 4);
    return put_header(out, 0xcf, static_cast<uint64_t>(n), 8);
  }
  if (n >= -32) return out->push_back(static_cast<char>(static_cast<int8_t>(n)));
  if (n >= -128) return put_header(out, 0xd0, static_cast<uint8_t>(n), 1);
  if (n >= -32768) return put_header(out, 0xd1, static_cast<uint16_t>(n), 2);
  if (n >= -2147483648LL) return put_header(out, 0xd2, static_cast<uint32_t>(n), 4);
  put_header(out, 0xd3, static_cast<uint64_t>(n), 8);
}

void encode_number(std::string* out, double n) {
  if (!std::isinf(n) && !std::isnan(n) && n >= -9223372036854775808.0 && n < 9223372036854775808.0 &&
      static_cast<double>(static_cast<int64_t>(n)) == n) {
    return encode_integer(out, static_cast<int64_t>(n));
  }
  const float f = static_cast<float>(n);
  if (static_cast<double>(f) == n) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return put_header(out, 0xca, bits, 4);
  }
  uint64_t bits;
  std::memcpy(&bits, &n, sizeof(bits));
  put_header(out, 0xcb, bits, 8);
}

void encode_string(std::string* out, const char* data, size_t length) {
  if (length < 32) {
    out->push_back(static_cast<char>(0xa0 | length));
  } else if (length <= 0xff) {
    put_header(out, 0xd9, length, 1);
  } else if (length <= 0xffff) {
    put_header(out, 0xda, length, 2);
  } else {
    put_header(out, 0xdb, length, 4);
  }
  out->append(data, length);
}

void encode_collection_header(std::string* out, size_t length, uint8_t fix, uint8_t type16, uint8_t type32) {
  if (length < 16) return out->push_back(static_cast<char>(fix | length));
  if (length <= 0xffff) return put_header(out, type16, length, 2);
  put_header(out, type32, length, 4);
}

// Whether the table on top has exactly the keys 1..n.
bool is_array(lua_State* lua) {
  const int top = lua_gettop(lua);
  double count = 0;
  double max = 0;
  lua_pushnil(lua);
  while (lua_next(lua, -2)) {
    lua_pop(lua, 1);
    const double key = lua_type(lua, -1) == LUA_TNUMBER ? lua_tonumber(lua, -1) : 0;
    if (key <= 0 || std::floor(key) != key) {
      lua_settop(lua, top);
      return false;
    }
    if (key > max) max = key;
    count++;
  }
  lua_settop(lua, top);
  return max == count;
}

void encode_value(lua_State* lua, std::string* out, int level);

void encode_table(lua_State* lua, std::string* out, int level) {
  luaL_checkstack(lua, 3, "in function encode_table");
  if (is_array(lua)) {
    const size_t length = lua_objlen(lua, -1);
    encode_collection_header(out, length, 0x90, 0xdc, 0xdd);
    for (size_t i = 1; i <= length; i++) {
      lua_rawgeti(lua, -1, static_cast<int>(i));
      encode_value(lua, out, level + 1);
    }
    return;
  }
  size_t pairs = 0;
  lua_pushnil(lua);
  while (lua_next(lua, -2)) {
    lua_pop(lua, 1);
    pairs++;
  }
  encode_collection_header(out, pairs, 0x80, 0xde, 0xdf);
  lua_pushnil(lua);
  while (lua_next(lua, -2)) {
    lua_pushvalue(lua, -2);
    encode_value(lua, out, level + 1);  // the key
    encode_value(lua, out, level + 1);  // the value
  }
}

// Encodes the value on top of the stack and pops it.
void encode_value(lua_State* lua, std::string* out, int level) {
  int type = lua_type(lua, -1);
  if (type == LUA_TTABLE && level == kMaxNesting) type = LUA_TNIL;
  switch (type) {
    case LUA_TSTRING: {
      size_t length = 0;
      const char* data = lua_tolstring(lua, -1, &length);
      encode_string(out, data, length);
      break;
    }
    case LUA_TBOOLEAN:
      out->push_back(static_cast<char>(lua_toboolean(lua, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER:
      encode_number(out, lua_tonumber(lua, -1));
      break;
    case LUA_TTABLE:
      encode_table(lua, out, level);
      break;
    default:
      out->push_back(static_cast<char>(0xc0));
  }
  lua_pop(lua, 1);
}

int msgpack_pack(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc == 0) return luaL_argerror(lua, 0, "MessagePack pack needs input.");
  std::string out;
  for (int i = 1; i <= argc; i++) {
    luaL_checkstack(lua, 1, "in function mp_check");
    lua_pushvalue(lua, i);
    encode_value(lua, &out, 0);
  }
  lua_pushlstring(lua, out.data(), out.size());
  return 1;
}

// ---- decoding ----

enum class DecodeError { kNone, kMissingBytes, kBadFormat };

class Decoder {
 public:
  Decoder(lua_State* lua, const unsigned char* data, size_t length) : lua_(lua), data_(data), left_(length) {}

  size_t left() const { return left_; }
  DecodeError error() const { return error_; }

  // Pushes one value (nil after an error).
  void decode() {
    luaL_checkstack(lua_, 1, "too many nested values");
    if (!need(1)) return lua_pushnil(lua_);
    const unsigned char type = take(1)[0];
    if (type <= 0x7f) return lua_pushnumber(lua_, type);
    if (type >= 0xe0) return lua_pushnumber(lua_, static_cast<int8_t>(type));
    if ((type & 0xe0) == 0xa0) return push_string(type & 0x1f);
    if ((type & 0xf0) == 0x90) return push_array(type & 0x0f);
    if ((type & 0xf0) == 0x80) return push_map(type & 0x0f);
    switch (type) {
      case 0xc0: return lua_pushnil(lua_);
      case 0xc2: return lua_pushboolean(lua_, 0);
      case 0xc3: return lua_pushboolean(lua_, 1);
      case 0xcc: return push_unsigned(1);
      case 0xcd: return push_unsigned(2);
      case 0xce: return push_unsigned(4);
      case 0xcf: return push_unsigned(8);
      case 0xd0: return push_signed(1);
      case 0xd1: return push_signed(2);
      case 0xd2: return push_signed(4);
      case 0xd3: return push_signed(8);
      case 0xca: return push_float();
      case 0xcb: return push_double();
      case 0xc4: case 0xd9: return with_length(1, &Decoder::push_string);
      case 0xc5: case 0xda: return with_length(2, &Decoder::push_string);
      case 0xc6: case 0xdb: return with_length(4, &Decoder::push_string);
      case 0xdc: return with_length(2, &Decoder::push_array);
      case 0xdd: return with_length(4, &Decoder::push_array);
      case 0xde: return with_length(2, &Decoder::push_map);
      case 0xdf: return with_length(4, &Decoder::push_map);
      default:
        error_ = DecodeError::kBadFormat;
        return lua_pushnil(lua_);
    }
  }

 private:
  bool need(size_t n) {
    if (error_ != DecodeError::kNone) return false;
    if (left_ < n) {
      error_ = DecodeError::kMissingBytes;
      return false;
    }
    return true;
  }
  const unsigned char* take(size_t n) {
    const unsigned char* at = data_;
    data_ += n;
    left_ -= n;
    return at;
  }
  uint64_t read_be(size_t bytes) {
    uint64_t value = 0;
    for (const unsigned char* p = take(bytes); bytes > 0; bytes--) value = (value << 8) | *p++;
    return value;
  }
  void with_length(size_t bytes, void (Decoder::*then)(uint64_t)) {
    if (!need(bytes)) return lua_pushnil(lua_);
    (this->*then)(read_be(bytes));
  }
  void push_unsigned(size_t bytes) {
    if (!need(bytes)) return lua_pushnil(lua_);
    lua_pushnumber(lua_, static_cast<lua_Number>(read_be(bytes)));
  }
  void push_signed(size_t bytes) {
    if (!need(bytes)) return lua_pushnil(lua_);
    const uint64_t raw = read_be(bytes);
    const int shift = static_cast<int>(64 - 8 * bytes);
    lua_pushnumber(lua_, static_cast<lua_Number>(static_cast<int64_t>(raw << shift) >> shift));
  }
  void push_float() {
    if (!need(4)) return lua_pushnil(lua_);
    const uint32_t bits = static_cast<uint32_t>(read_be(4));
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    lua_pushnumber(lua_, value);
  }
  void push_double() {
    if (!need(8)) return lua_pushnil(lua_);
    const uint64_t bits = read_be(8);
    double value;
    std::memcpy(&value, &bits, sizeof(value));
    lua_pushnumber(lua_, value);
  }
  void push_string(uint64_t length) {
    if (!need(length)) return lua_pushnil(lua_);
    lua_pushlstring(lua_, reinterpret_cast<const char*>(take(length)), length);
  }
  void push_array(uint64_t length) {
    lua_newtable(lua_);
    for (uint64_t i = 1; i <= length && error_ == DecodeError::kNone; i++) {
      lua_pushnumber(lua_, static_cast<lua_Number>(i));
      decode();
      lua_settable(lua_, -3);
    }
  }
  void push_map(uint64_t pairs) {
    lua_newtable(lua_);
    for (uint64_t i = 0; i < pairs && error_ == DecodeError::kNone; i++) {
      decode();
      decode();
      if (lua_isnil(lua_, -2)) {  // only after an error: a nil key cannot be stored
        lua_pop(lua_, 2);
        continue;
      }
      lua_settable(lua_, -3);
    }
  }

  lua_State* lua_;
  const unsigned char* data_;
  size_t left_;
  DecodeError error_ = DecodeError::kNone;
};

// Decodes up to `limit` values from `offset` (both 0: every value, no offset returned).
int unpack_full(lua_State* lua, lua_Integer limit, lua_Integer offset) {
  size_t length = 0;
  const char* data = luaL_checklstring(lua, 1, &length);
  const bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    return luaL_error(lua, "Invalid request to unpack with offset of %d and limit of %d.", static_cast<int>(offset),
                      static_cast<int>(length));
  }
  if (static_cast<size_t>(offset) > length) {
    return luaL_error(lua, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(length));
  }
  if (decode_all) limit = INT_MAX;
  Decoder decoder(lua, reinterpret_cast<const unsigned char*>(data) + offset, length - static_cast<size_t>(offset));
  int count = 0;
  for (; decoder.left() > 0 && count < limit; count++) {
    decoder.decode();
    if (decoder.error() == DecodeError::kMissingBytes) return luaL_error(lua, "Missing bytes in input.");
    if (decoder.error() == DecodeError::kBadFormat) return luaL_error(lua, "Bad data format in input.");
  }
  if (decode_all) return count;
  luaL_checkstack(lua, 1, "in function mp_unpack_full");
  lua_pushinteger(lua, decoder.left() == 0 ? -1 : static_cast<lua_Integer>(length - decoder.left()));
  lua_insert(lua, 2);
  return count + 1;
}

int msgpack_unpack(lua_State* lua) { return unpack_full(lua, 0, 0); }

int msgpack_unpack_one(lua_State* lua) {
  const lua_Integer offset = luaL_optinteger(lua, 2, 0);
  lua_settop(lua, 1);
  return unpack_full(lua, 1, offset);
}

int msgpack_unpack_limit(lua_State* lua) {
  const lua_Integer limit = luaL_checkinteger(lua, 2);
  const lua_Integer offset = luaL_optinteger(lua, 3, 0);
  lua_settop(lua, 1);
  return unpack_full(lua, limit, offset);
}

const luaL_Reg kFunctions[] = {
    {"pack", msgpack_pack},
    {"unpack", msgpack_unpack},
    {"unpack_one", msgpack_unpack_one},
    {"unpack_limit", msgpack_unpack_limit},
    {nullptr, nullptr},
};

}  // namespace

int open_cmsgpack_library(lua_State* lua) {
  luaL_register(lua, "cmsgpack", kFunctions);
  lua_pushliteral(lua, "cmsgpack");
  lua_setfield(lua, -2, "_NAME");
  lua_pushliteral(lua, "lua-cmsgpack 0.4.0");
  lua_setfield(lua, -2, "_VERSION");
  lua_pushliteral(lua, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(lua, -2, "_COPYRIGHT");
  lua_pushliteral(lua, "MessagePack C implementation for Lua");
  lua_setfield(lua, -2, "_DESCRIPTION");
  return 1;
}

}  // namespace rd
