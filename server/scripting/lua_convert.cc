#include "server/scripting/lua_convert.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "protocol/reply.h"
#include "server/scripting/lua_util.h"
#include "storage/numbers.h"

namespace rd {
namespace {

// ---- reply bytes -> Lua ----

// Reads one reply at `pos` (our own server's output: well formed by construction).
class ReplyReader {
 public:
  ReplyReader(lua_State* lua, std::string_view bytes) : lua_(lua), bytes_(bytes) {}

  void push_value() {
    if (!lua_checkstack(lua_, 4)) luaL_error(lua_, "reached lua stack limit");
    const char type = bytes_[pos_++];
    const std::string_view line = read_line();
    switch (type) {
      case '+':
        return push_single_field("ok", line);
      case '-':
        push_error_table(lua_, std::string("-").append(line));
        lua_pushboolean(lua_, 1);
        lua_setfield(lua_, -2, "ignore_error_stats_update");
        return;
      case ':':
        return lua_pushnumber(lua_, static_cast<lua_Number>(to_int(line)));
      case '$':
        return push_bulk(line, false);
      case '=':
        return push_bulk(line, true);
      case '*':
      case '>':
        return push_array(to_int(line));
      case '_':
        return lua_pushnil(lua_);
      case '#':
        return lua_pushboolean(lua_, line == "t");
      case ',':
        lua_newtable(lua_);
        lua_pushnumber(lua_, to_double(line));
        lua_setfield(lua_, -2, "double");
        return;
      case '(':
        return push_single_field("big_number", line);
      case '%':
        return push_map(to_int(line));
      case '~':
        return push_set(to_int(line));
      case '|':
        return skip_attribute(to_int(line));
      default:
        luaL_error(lua_, "unexpected reply type '%c'", type);
    }
  }

 private:
  std::string_view read_line() {
    const size_t end = bytes_.find("\r\n", pos_);
    const std::string_view line = bytes_.substr(pos_, end - pos_);
    pos_ = end + 2;
    return line;
  }
  static int64_t to_int(std::string_view text) {
    int64_t value = 0;
    string_to_int64(text, &value);
    return value;
  }
  static double to_double(std::string_view text) {
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
    return std::strtod(std::string(text).c_str(), nullptr);
  }

  void push_single_field(const char* field, std::string_view value) {
    lua_newtable(lua_);
    lua_push_view(lua_, value);
    lua_setfield(lua_, -2, field);
  }

  void push_bulk(std::string_view header, bool verbatim) {
    const int64_t length = to_int(header);
    if (length < 0) return lua_pushboolean(lua_, 0);  // RESP2 null bulk
    const std::string_view data = bytes_.substr(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length) + 2;
    if (!verbatim) return lua_push_view(lua_, data);
    lua_newtable(lua_);
    lua_newtable(lua_);
    lua_push_view(lua_, data.substr(4));
    lua_setfield(lua_, -2, "string");
    lua_push_view(lua_, data.substr(0, 3));
    lua_setfield(lua_, -2, "format");
    lua_setfield(lua_, -2, "verbatim_string");
  }

  void push_array(int64_t length) {
    if (length < 0) return lua_pushboolean(lua_, 0);  // RESP2 null array
    lua_newtable(lua_);
    for (int64_t i = 1; i <= length; i++) {
      push_value();
      lua_rawseti(lua_, -2, static_cast<int>(i));
    }
  }

  void push_map(int64_t pairs) {
    lua_newtable(lua_);
    lua_newtable(lua_);
    for (int64_t i = 0; i < pairs; i++) {
      push_value();
      push_value();
      lua_settable(lua_, -3);
    }
    lua_setfield(lua_, -2, "map");
  }

  void push_set(int64_t length) {
    lua_newtable(lua_);
    lua_newtable(lua_);
    for (int64_t i = 0; i < length; i++) {
      push_value();
      lua_pushboolean(lua_, 1);
      lua_settable(lua_, -3);
    }
    lua_setfield(lua_, -2, "set");
  }

  // Attributes are not shown to scripts: parse past them, then the value they decorate.
  void skip_attribute(int64_t pairs) {
    for (int64_t i = 0; i < 2 * pairs; i++) {
      push_value();
      lua_pop(lua_, 1);
    }
    push_value();
  }

  lua_State* lua_;
  std::string_view bytes_;
  size_t pos_ = 0;
};

// ---- Lua -> reply ----

// Up to the first NUL, as Redis's C-string handling of status and error texts.
std::string_view c_string(std::string_view text) { return text.substr(0, text.find('\0')); }

std::string without_newlines(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

// (long long) of a double as Redis's cast does on x86-64: NaN and out-of-range give INT64_MIN.
int64_t truncate_number(double value) {
  if (std::isnan(value) || value >= 9223372036854775808.0 || value < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(value);
}

// Pushes table[field] (raw) and returns its type; the caller pops it.
int raw_field(lua_State* lua, const char* field) {
  lua_pushstring(lua, field);
  lua_rawget(lua, -2);
  return lua_type(lua, -1);
}

bool write_special_table(lua_State* lua, Reply& reply, int script_resp);
void write_array(lua_State* lua, Reply& reply, int script_resp);

void write_value(lua_State* lua, Reply& reply, int script_resp) {
  if (!lua_checkstack(lua, 4)) {
    reply.error("ERR reached lua stack limit");
    lua_pop(lua, 1);
    return;
  }
  switch (lua_type(lua, -1)) {
    case LUA_TSTRING:
      reply.bulk(lua_view(lua, -1));
      break;
    case LUA_TBOOLEAN:
      if (script_resp == 2) {
        lua_toboolean(lua, -1) ? reply.integer(1) : reply.null();
      } else {
        reply.boolean(lua_toboolean(lua, -1) != 0);
      }
      break;
    case LUA_TNUMBER:
      reply.integer(truncate_number(lua_tonumber(lua, -1)));
      break;
    case LUA_TTABLE:
      if (!write_special_table(lua, reply, script_resp)) write_array(lua, reply, script_resp);
      break;
    default:
      reply.null();
  }
  lua_pop(lua, 1);
}

void write_map(lua_State* lua, Reply& reply, int script_resp) {
  const size_t position = reply.begin_deferred();
  size_t pairs = 0;
  lua_pushnil(lua);
  while (lua_next(lua, -2)) {
    lua_pushvalue(lua, -2);
    write_value(lua, reply, script_resp);  // the key
    write_value(lua, reply, script_resp);  // the value
    pairs++;
  }
  reply.end_deferred_map(position, pairs);
}

void write_set(lua_State* lua, Reply& reply, int script_resp) {
  const size_t position = reply.begin_deferred();
  size_t length = 0;
  lua_pushnil(lua);
  while (lua_next(lua, -2)) {
    lua_pop(lua, 1);
    lua_pushvalue(lua, -1);
    write_value(lua, reply, script_resp);
    length++;
  }
  reply.end_deferred_set(position, length);
}

bool write_verbatim(lua_State* lua, Reply& reply) {
  LuaStackGuard guard(lua);
  if (raw_field(lua, "format") != LUA_TSTRING) return false;
  const std::string_view format = lua_view(lua, -1);
  lua_pop(lua, 1);
  if (raw_field(lua, "string") != LUA_TSTRING) return false;
  reply.verbatim(lua_view(lua, -1), format);
  return true;
}

// The table on top: {err=}, {ok=}, {double=}, {big_number=}, {verbatim_string=}, {map=},
// {set=}, checked in Redis's order. Returns false for a plain array.
bool write_special_table(lua_State* lua, Reply& reply, int script_resp) {
  if (raw_field(lua, "err") == LUA_TSTRING) {
    lua_pop(lua, 1);
    const LuaError error = read_lua_error(lua);
    reply.error(c_string(error.message));
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "ok") == LUA_TSTRING) {
    reply.simple(without_newlines(c_string(lua_view(lua, -1))));
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "double") == LUA_TNUMBER) {
    reply.dbl(lua_tonumber(lua, -1));
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "big_number") == LUA_TSTRING) {
    const std::string number = without_newlines(lua_view(lua, -1));
    if (reply.protocol() >= 3) {
      reply.raw("(" + number + "\r\n");
    } else {
      reply.bulk(number);
    }
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "verbatim_string") == LUA_TTABLE && write_verbatim(lua, reply)) {
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "map") == LUA_TTABLE) {
    write_map(lua, reply, script_resp);
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  if (raw_field(lua, "set") == LUA_TTABLE) {
    write_set(lua, reply, script_resp);
    lua_pop(lua, 1);
    return true;
  }
  lua_pop(lua, 1);
  return false;
}

void write_array(lua_State* lua, Reply& reply, int script_resp) {
  const size_t position = reply.begin_deferred();
  size_t length = 0;
  for (int i = 1;; i++) {
    lua_rawgeti(lua, -1, i);
    if (lua_isnil(lua, -1)) {
      lua_pop(lua, 1);
      break;
    }
    write_value(lua, reply, script_resp);
    length++;
  }
  reply.end_deferred_array(position, length);
}

std::string trim_newlines(std::string_view text) {
  while (!text.empty() && (text.front() == '\r' || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

void push_reply_value(lua_State* lua, std::string_view bytes) { ReplyReader(lua, bytes).push_value(); }

void push_error_table(lua_State* lua, std::string_view error) {
  std::string_view code = "ERR";
  std::string_view message = error;
  if (!error.empty() && error[0] == '-') {
    const std::string_view rest = error.substr(1);
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) {
      message = rest;
    } else {
      code = rest.substr(0, space);
      message = rest.substr(space + 1);
    }
  }
  const std::string full = std::string(code) + " " + trim_newlines(message);
  lua_newtable(lua);
  lua_push_view(lua, full);
  lua_setfield(lua, -2, "err");
}

void write_lua_value(lua_State* lua, Reply& reply, int script_resp) { write_value(lua, reply, script_resp); }

LuaError read_lua_error(lua_State* lua) {
  LuaError error;
  if (lua_type(lua, -1) == LUA_TSTRING || lua_type(lua, -1) == LUA_TNUMBER) {
    error.message = "ERR " + std::string(lua_view(lua, -1));
    return error;
  }
  if (!lua_istable(lua, -1)) return error;
  lua_getfield(lua, -1, "err");
  if (lua_isstring(lua, -1)) error.message = lua_view(lua, -1);
  lua_pop(lua, 1);
  lua_getfield(lua, -1, "source");
  if (lua_isstring(lua, -1)) error.source = lua_view(lua, -1);
  lua_pop(lua, 1);
  lua_getfield(lua, -1, "line");
  if (lua_isstring(lua, -1)) error.line = lua_view(lua, -1);
  lua_pop(lua, 1);
  lua_getfield(lua, -1, "ignore_error_stats_update");
  if (lua_isboolean(lua, -1)) error.ignore_stats = lua_toboolean(lua, -1) != 0;
  lua_pop(lua, 1);
  return error;
}

}  // namespace rd
