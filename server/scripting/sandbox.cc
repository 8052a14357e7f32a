#include "server/scripting/sandbox.h"

#include <cmath>
#include <cstring>

#include "server/scripting/lua_host.h"
#include "server/scripting/lua_libs.h"
#include "server/scripting/rand48.h"

extern "C" {
#include <lua-bitop.h>
#include <lua-cjson.h>
}

namespace rd {
namespace {

// Registry keys (their addresses are unique).
char kHostKey;
char kProtectedKey;  // proxy -> true, for every read-only proxy

constexpr const char* kReadonlyError = "Attempt to modify a readonly table";

void open_library(lua_State* lua, const char* name, lua_CFunction open) {
  lua_pushcfunction(lua, open);
  lua_pushstring(lua, name);
  lua_call(lua, 1, 1);
  // Libraries that do not register themselves (cjson) are made globals here.
  if (name[0] != '\0' && lua_istable(lua, -1)) lua_setglobal(lua, name);
  lua_settop(lua, 0);
}

void remove_global(lua_State* lua, const char* name) {
  lua_pushnil(lua);
  lua_setglobal(lua, name);
}

bool is_protected(lua_State* lua, int index) {
  if (!lua_istable(lua, index)) return false;
  index = index < 0 ? lua_gettop(lua) + index + 1 : index;
  lua_pushlightuserdata(lua, &kProtectedKey);
  lua_rawget(lua, LUA_REGISTRYINDEX);
  lua_pushvalue(lua, index);
  lua_rawget(lua, -2);
  const bool found = !lua_isnil(lua, -1);
  lua_pop(lua, 2);
  return found;
}

// Pushes the table a proxy reads through to (its metatable's __index).
void push_backing(lua_State* lua, int proxy) {
  lua_getmetatable(lua, proxy);
  lua_pushliteral(lua, "__index");
  lua_rawget(lua, -2);
  lua_remove(lua, -2);
}

// ---- metamethods ----

int readonly_newindex(lua_State* lua) { return luaL_error(lua, "%s", kReadonlyError); }

int missing_global(lua_State* lua) {
  const char* name = lua_tostring(lua, 2);
  return luaL_error(lua, "Script attempted to access nonexistent global variable '%s'",
                    name != nullptr ? name : luaL_typename(lua, 2));
}

// ---- base functions that know about proxies ----

// Errors raised from C functions carry no position, as Redis's VM-level check does.
int raise_readonly(lua_State* lua) {
  lua_pushstring(lua, kReadonlyError);
  return lua_error(lua);
}

int safe_rawset(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  luaL_checkany(lua, 2);
  luaL_checkany(lua, 3);
  if (is_protected(lua, 1)) return raise_readonly(lua);
  lua_settop(lua, 3);
  lua_rawset(lua, 1);
  return 1;
}

int safe_setmetatable(lua_State* lua) {
  if (is_protected(lua, 1)) return raise_readonly(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));  // the original setmetatable
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, LUA_MULTRET);
  return lua_gettop(lua);
}

// A proxy's metatable would lead to the real table: a read-only stand-in is returned for the
// globals and for strings, nothing for library tables.
int safe_getmetatable(lua_State* lua) {
  luaL_checkany(lua, 1);
  if (is_protected(lua, 1)) {
    lua_getfield(lua, lua_upvalueindex(2), "globals");
    return 1;
  }
  if (lua_type(lua, 1) == LUA_TSTRING) {
    lua_getfield(lua, lua_upvalueindex(2), "string");
    return 1;
  }
  lua_pushvalue(lua, lua_upvalueindex(1));  // the original getmetatable
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, 1);
  return 1;
}

// next() over a proxy walks the table behind it (whose table values are proxies too).
int safe_next(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  lua_settop(lua, 2);
  if (is_protected(lua, 1)) {
    push_backing(lua, 1);
    lua_replace(lua, 1);
  }
  if (lua_next(lua, 1)) return 2;
  lua_pushnil(lua);
  return 1;
}

// table.insert/remove/sort/setn write with raw sets: refuse a proxy as Redis refuses a
// read-only table.
int safe_table_write(lua_State* lua) {
  if (is_protected(lua, 1)) return raise_readonly(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));  // the original table function
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, LUA_MULTRET);
  return lua_gettop(lua);
}

int safe_pairs(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TTABLE);
  lua_pushvalue(lua, lua_upvalueindex(1));  // safe_next
  lua_pushvalue(lua, 1);
  lua_pushnil(lua);
  return 3;
}

// ---- math.random on Rand48 ----

int math_random(lua_State* lua) {
  Rand48& rand = *lua_host(lua).rand;
  const double r = static_cast<double>(rand.next() % Rand48::kMax) / static_cast<double>(Rand48::kMax);
  switch (lua_gettop(lua)) {
    case 0:
      lua_pushnumber(lua, r);
      break;
    case 1: {
      const int upper = luaL_checkint(lua, 1);
      luaL_argcheck(lua, 1 <= upper, 1, "interval is empty");
      lua_pushnumber(lua, std::floor(r * upper) + 1);
      break;
    }
    case 2: {
      const int lower = luaL_checkint(lua, 1);
      const int upper = luaL_checkint(lua, 2);
      luaL_argcheck(lua, lower <= upper, 2, "interval is empty");
      lua_pushnumber(lua, std::floor(r * (upper - lower + 1)) + lower);
      break;
    }
    default:
      return luaL_error(lua, "wrong number of arguments");
  }
  return 1;
}

int math_randomseed(lua_State* lua) {
  lua_host(lua).rand->seed(luaL_checkint(lua, 1));
  return 0;
}

void install_math_random(lua_State* lua) {
  lua_getglobal(lua, "math");
  lua_pushcfunction(lua, math_random);
  lua_setfield(lua, -2, "random");
  lua_pushcfunction(lua, math_randomseed);
  lua_setfield(lua, -2, "randomseed");
  lua_pop(lua, 1);
}

// Replaces the base functions that could write through (or see behind) a proxy. The stand-in
// metatables getmetatable returns are built here: {globals = <proxy of the globals'
// metatable>, string = <proxy of the strings' metatable>}, filled in by protect_globals.
void install_safe_base(lua_State* lua) {
  lua_pushcfunction(lua, safe_rawset);
  lua_setglobal(lua, "rawset");

  lua_getglobal(lua, "setmetatable");
  lua_pushcclosure(lua, safe_setmetatable, 1);
  lua_setglobal(lua, "setmetatable");

  lua_getglobal(lua, "getmetatable");
  lua_newtable(lua);
  lua_pushvalue(lua, -1);
  lua_setfield(lua, LUA_REGISTRYINDEX, "rd.public_metatables");
  lua_pushcclosure(lua, safe_getmetatable, 2);
  lua_setglobal(lua, "getmetatable");

  lua_getglobal(lua, "table");
  for (const char* name : {"insert", "remove", "sort", "setn"}) {
    lua_getfield(lua, -1, name);
    lua_pushcclosure(lua, safe_table_write, 1);
    lua_setfield(lua, -2, name);
  }
  lua_pop(lua, 1);

  lua_pushcfunction(lua, safe_next);
  lua_pushvalue(lua, -1);
  lua_setglobal(lua, "next");
  lua_pushcclosure(lua, safe_pairs, 1);
  lua_setglobal(lua, "pairs");
}

void register_proxy(lua_State* lua, int proxy) {
  proxy = proxy < 0 ? lua_gettop(lua) + proxy + 1 : proxy;
  lua_pushlightuserdata(lua, &kProtectedKey);
  lua_rawget(lua, LUA_REGISTRYINDEX);
  lua_pushvalue(lua, proxy);
  lua_pushboolean(lua, 1);
  lua_rawset(lua, -3);
  lua_pop(lua, 1);
}

// Strings index the string library through their shared metatable: point it at the
// library's proxy, and publish a read-only view of the metatable for getmetatable("").
void protect_string_metatable(lua_State* lua, int public_metatables) {
  lua_pushliteral(lua, "");
  lua_getmetatable(lua, -1);
  lua_getglobal(lua, "string");  // already the proxy
  lua_setfield(lua, -2, "__index");
  push_readonly_proxy(lua, -1);
  lua_setfield(lua, public_metatables, "string");
  lua_pop(lua, 2);
}

}  // namespace

void set_lua_host(lua_State* lua, LuaHost* host) {
  lua_pushlightuserdata(lua, &kHostKey);
  lua_pushlightuserdata(lua, host);
  lua_rawset(lua, LUA_REGISTRYINDEX);
}

LuaHost& lua_host(lua_State* lua) {
  lua_pushlightuserdata(lua, &kHostKey);
  lua_rawget(lua, LUA_REGISTRYINDEX);
  auto* host = static_cast<LuaHost*>(lua_touserdata(lua, -1));
  lua_pop(lua, 1);
  return *host;
}

// loadstring without precompiled chunks: Lua 5.1 does not verify bytecode, so a crafted
// chunk could break out of the sandbox. Like Redis, a binary chunk loads as nil.
int safe_loadstring(lua_State* lua) {
  size_t length = 0;
  const char* code = lua_tolstring(lua, 1, &length);
  if (code != nullptr && length > 0 && code[0] == LUA_SIGNATURE[0]) {
    lua_pushnil(lua);
    lua_pushliteral(lua, "attempt to load a binary chunk");
    return 2;
  }
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, lua_gettop(lua) - 1, LUA_MULTRET);
  return lua_gettop(lua);
}

void install_safe_loadstring(lua_State* lua) {
  lua_getglobal(lua, "loadstring");
  lua_pushcclosure(lua, safe_loadstring, 1);
  lua_setglobal(lua, "loadstring");
}

LuaStatePtr new_sandbox_state(LuaHost* host) {
  LuaStatePtr state(luaL_newstate());
  lua_State* lua = state.get();
  set_lua_host(lua, host);
  lua_pushlightuserdata(lua, &kProtectedKey);
  lua_newtable(lua);
  lua_rawset(lua, LUA_REGISTRYINDEX);

  open_library(lua, "", luaopen_base);
  open_library(lua, LUA_TABLIBNAME, luaopen_table);
  open_library(lua, LUA_STRLIBNAME, luaopen_string);
  open_library(lua, LUA_MATHLIBNAME, luaopen_math);
  open_library(lua, "cjson", luaopen_cjson);
  open_library(lua, "struct", open_struct_library);
  open_library(lua, "cmsgpack", open_cmsgpack_library);
  open_library(lua, "bit", luaopen_bit);
  for (const char* name : {"print", "dofile", "loadfile", "getfenv", "setfenv", "newproxy"}) {
    remove_global(lua, name);
  }
  install_math_random(lua);
  install_safe_loadstring(lua);
  install_safe_base(lua);
  return state;
}

void push_readonly_proxy(lua_State* lua, int index) {
  index = index < 0 ? lua_gettop(lua) + index + 1 : index;
  lua_newtable(lua);  // the proxy
  lua_newtable(lua);  // its metatable
  lua_pushvalue(lua, index);
  lua_setfield(lua, -2, "__index");
  lua_pushcfunction(lua, readonly_newindex);
  lua_setfield(lua, -2, "__newindex");
  lua_setmetatable(lua, -2);
  register_proxy(lua, -1);
}

void set_missing_field_error(lua_State* lua, int index) {
  index = index < 0 ? lua_gettop(lua) + index + 1 : index;
  lua_newtable(lua);
  lua_pushcfunction(lua, missing_global);
  lua_setfield(lua, -2, "__index");
  lua_setmetatable(lua, index);
}

void protect_globals(lua_State* lua) {
  LuaStackGuard guard(lua);
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  const int backing = lua_gettop(lua);
  // Library tables become proxies (collected first: a table must not change while walked).
  lua_newtable(lua);
  const int tables = lua_gettop(lua);
  lua_pushnil(lua);
  while (lua_next(lua, backing)) {
    if (lua_istable(lua, -1) && !lua_rawequal(lua, -1, backing)) {
      lua_pushvalue(lua, -2);
      lua_pushvalue(lua, -2);
      lua_rawset(lua, tables);
    }
    lua_pop(lua, 1);
  }
  lua_pushnil(lua);
  while (lua_next(lua, tables)) {
    lua_pushvalue(lua, -2);
    push_readonly_proxy(lua, -2);
    lua_rawset(lua, backing);
    lua_pop(lua, 1);
  }
  set_missing_field_error(lua, backing);

  push_readonly_proxy(lua, backing);
  const int proxy = lua_gettop(lua);
  lua_pushvalue(lua, proxy);
  lua_setfield(lua, backing, "_G");

  lua_getfield(lua, LUA_REGISTRYINDEX, "rd.public_metatables");
  const int public_metatables = lua_gettop(lua);
  lua_getmetatable(lua, backing);
  push_readonly_proxy(lua, -1);
  lua_setfield(lua, public_metatables, "globals");
  lua_pop(lua, 1);

  lua_pushvalue(lua, proxy);
  lua_replace(lua, LUA_GLOBALSINDEX);
  protect_string_metatable(lua, public_metatables);
}

void set_backing_global(lua_State* lua, const char* name) {
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  push_backing(lua, -1);
  lua_pushstring(lua, name);
  lua_pushvalue(lua, -4);
  lua_rawset(lua, -3);
  lua_pop(lua, 3);
}

void set_globals_backing(lua_State* lua) {
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  lua_getmetatable(lua, -1);
  lua_pushvalue(lua, -3);
  lua_setfield(lua, -2, "__index");
  lua_pop(lua, 3);
}

}  // namespace rd
