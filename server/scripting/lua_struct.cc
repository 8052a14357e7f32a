// struct: pack and unpack binary records, as the library Redis bundles (Roberto
// Ierusalimschy's "struct" for Lua 5.1) documents it.
//
//   struct.pack(fmt, v1, v2, ...) -> string
//   struct.unpack(fmt, s [, i])   -> v1, v2, ..., next position
//   struct.size(fmt)              -> bytes of a fixed-size format
//
// Format: ">" big endian, "<" little endian, "=" native, "![n]" alignment (power of 2,
// default 8), "x" a zero byte, "b/B" char, "h/H" short, "l/L" long, "T" size_t,
// "i/I[n]" n-byte integer (default 4), "f" float, "d" double, "s" zero-terminated string,
// "c[n]" n chars (c0: the whole string when packing, the previous value's length when
// unpacking), " " ignored. Lowercase integer options are signed.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>

#include "server/scripting/lua_libs.h"

namespace rd {
namespace {

constexpr int kMaxIntSize = 32;
constexpr size_t kMaxAlign = 8;  // alignment of double on the platforms we build for

enum class Endian { kBig, kLittle };

struct Header {
  Endian endian = Endian::kLittle;  // native on x86-64 / arm64
  size_t align = 1;
};

size_t read_number(const char** fmt, size_t fallback) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return fallback;
  size_t value = 0;
  do {
    value = value * 10 + static_cast<size_t>(*(*fmt)++ - '0');
  } while (std::isdigit(static_cast<unsigned char>(**fmt)) && value < 100000);
  return value;
}

size_t option_size(lua_State* lua, char option, const char** fmt) {
  switch (option) {
    case 'B': case 'b': return sizeof(char);
    case 'H': case 'h': return sizeof(short);
    case 'L': case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return read_number(fmt, 1);
    case 'i': case 'I': {
      const size_t size = read_number(fmt, sizeof(int));
      if (size > kMaxIntSize) {
        luaL_error(lua, "integral size %d is larger than limit of %d", static_cast<int>(size), kMaxIntSize);
      }
      return size;
    }
    default: return 0;  // options that need no alignment
  }
}

size_t padding(size_t position, const Header& header, char option, size_t size) {
  if (size == 0 || option == 'c') return 0;
  if (size > header.align) size = header.align;
  return (size - (position & (size - 1))) & (size - 1);
}

void control_option(lua_State* lua, char option, const char** fmt, Header* header) {
  switch (option) {
    case ' ': return;
    case '>': header->endian = Endian::kBig; return;
    case '<': header->endian = Endian::kLittle; return;
    case '=': header->endian = Endian::kLittle; return;
    case '!': {
      const size_t align = read_number(fmt, kMaxAlign);
      if ((align & (align - 1)) != 0) luaL_error(lua, "alignment %d is not a power of 2", static_cast<int>(align));
      header->align = align;
      return;
    }
    default:
      luaL_argerror(lua, 1, lua_pushfstring(lua, "invalid format option '%c'", option));
  }
}

void put_integer(lua_State* lua, std::string* out, int arg, Endian endian, size_t size) {
  const lua_Number number = luaL_checknumber(lua, arg);
  uint64_t value = number < 0 ? static_cast<uint64_t>(static_cast<int64_t>(number)) : static_cast<uint64_t>(number);
  char bytes[kMaxIntSize];
  for (size_t i = 0; i < size; i++) {
    const size_t at = endian == Endian::kLittle ? i : size - 1 - i;
    bytes[at] = static_cast<char>(value & 0xff);
    value = i < 7 ? value >> 8 : 0;
  }
  out->append(bytes, size);
}

lua_Number get_integer(const char* data, Endian endian, bool is_signed, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; i++) {
    const size_t at = endian == Endian::kBig ? i : size - 1 - i;
    value = (value << 8) | static_cast<unsigned char>(data[at]);
  }
  if (!is_signed || size == 0 || size > 8) return static_cast<lua_Number>(value);
  const uint64_t sign = ~uint64_t{0} << (size * 8 - 1);
  if ((value & sign) != 0) value |= sign;
  return static_cast<lua_Number>(static_cast<int64_t>(value));
}

// Floats are stored in the platform's (little endian) order; ">" reverses them.
template <typename T>
void append_float(std::string* out, T value, Endian endian) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  if (endian == Endian::kBig) std::reverse(bytes, bytes + sizeof(T));
  out->append(bytes, sizeof(T));
}

template <typename T>
T read_float(const char* data, Endian endian) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, data, sizeof(T));
  if (endian == Endian::kBig) std::reverse(bytes, bytes + sizeof(T));
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

int struct_pack(lua_State* lua) {
  const char* fmt = luaL_checkstring(lua, 1);
  Header header;
  int arg = 2;
  std::string out;
  while (*fmt != '\0') {
    const char option = *fmt++;
    size_t size = option_size(lua, option, &fmt);
    out.append(padding(out.size(), header, option, size), '\0');
    switch (option) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
        put_integer(lua, &out, arg++, header.endian, size);
        break;
      case 'x':
        out.push_back('\0');
        break;
      case 'f':
        append_float(&out, static_cast<float>(luaL_checknumber(lua, arg++)), header.endian);
        break;
      case 'd':
        append_float(&out, static_cast<double>(luaL_checknumber(lua, arg++)), header.endian);
        break;
      case 'c': case 's': {
        size_t length = 0;
        const char* text = luaL_checklstring(lua, arg++, &length);
        if (size == 0) size = length;
        luaL_argcheck(lua, length >= size, arg, "string too short");
        out.append(text, size);
        if (option == 's') out.push_back('\0');
        break;
      }
      default:
        control_option(lua, option, &fmt, &header);
    }
  }
  lua_pushlstring(lua, out.data(), out.size());
  return 1;
}

int struct_unpack(lua_State* lua) {
  const char* fmt = luaL_checkstring(lua, 1);
  size_t length = 0;
  const char* data = luaL_checklstring(lua, 2, &length);
  size_t pos = static_cast<size_t>(luaL_optinteger(lua, 3, 1)) - 1;
  luaL_argcheck(lua, pos <= length, 3, "offset must be 1 or greater");
  Header header;
  int results = 0;
  while (*fmt != '\0') {
    const char option = *fmt++;
    size_t size = option_size(lua, option, &fmt);
    pos += padding(pos, header, option, size);
    luaL_argcheck(lua, pos <= length && size <= length - pos, 2, "data string too short");
    luaL_checkstack(lua, 2, "too many results");
    switch (option) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
        lua_pushnumber(lua, get_integer(data + pos, header.endian, std::islower(static_cast<unsigned char>(option)), size));
        results++;
        break;
      case 'x':
        break;
      case 'f':
        lua_pushnumber(lua, read_float<float>(data + pos, header.endian));
        results++;
        break;
      case 'd':
        lua_pushnumber(lua, read_float<double>(data + pos, header.endian));
        results++;
        break;
      case 'c':
        if (size == 0) {
          if (results == 0 || !lua_isnumber(lua, -1)) luaL_error(lua, "format 'c0' needs a previous size");
          size = static_cast<size_t>(lua_tonumber(lua, -1));
          lua_pop(lua, 1);
          results--;
          luaL_argcheck(lua, size <= length - pos, 2, "data string too short");
        }
        lua_pushlstring(lua, data + pos, size);
        results++;
        break;
      case 's': {
        const void* end = std::memchr(data + pos, '\0', length - pos);
        if (end == nullptr) luaL_error(lua, "unfinished string in data");
        size = static_cast<size_t>(static_cast<const char*>(end) - (data + pos)) + 1;
        lua_pushlstring(lua, data + pos, size - 1);
        results++;
        break;
      }
      default:
        control_option(lua, option, &fmt, &header);
    }
    pos += size;
  }
  lua_pushinteger(lua, static_cast<lua_Integer>(pos + 1));
  return results + 1;
}

int struct_size(lua_State* lua) {
  const char* fmt = luaL_checkstring(lua, 1);
  Header header;
  size_t pos = 0;
  while (*fmt != '\0') {
    const char option = *fmt++;
    const size_t size = option_size(lua, option, &fmt);
    pos += padding(pos, header, option, size);
    if (option == 's') {
      luaL_argerror(lua, 1, "option 's' has no fixed size");
    } else if (option == 'c' && size == 0) {
      luaL_argerror(lua, 1, "option 'c0' has no fixed size");
    }
    if (!std::isalnum(static_cast<unsigned char>(option))) control_option(lua, option, &fmt, &header);
    pos += size;
  }
  lua_pushinteger(lua, static_cast<lua_Integer>(pos));
  return 1;
}

const luaL_Reg kFunctions[] = {
    {"pack", struct_pack},
    {"unpack", struct_unpack},
    {"size", struct_size},
    {nullptr, nullptr},
};

}  // namespace

int open_struct_library(lua_State* lua) {
  luaL_register(lua, "struct", kFunctions);
  return 1;
}

}  // namespace rd
