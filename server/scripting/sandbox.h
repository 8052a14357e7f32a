// The environment scripts run in, as Redis 7.0 builds it: the base, table, string, math, cjson,
// bit, struct and cmsgpack libraries (no os, io, package, debug, print, dofile, loadfile,
// getfenv, setfenv, newproxy), math.random on the Rand48 sequence, and globals that cannot be
// changed.
//
// Redis 7.0 patches its Lua with read-only tables. Stock Lua 5.1 has none, so every table a
// script can reach from the globals (the globals themselves, string, math, redis, ...) is an
// empty proxy whose metatable reads through to the real table and refuses writes with Redis's
// "Attempt to modify a readonly table". rawset, setmetatable, getmetatable, next and pairs are
// replaced by versions that know about proxies, so scripts can neither write through them nor
// reach the real tables; table.insert/remove/sort/setn refuse proxies. The thread's global
// table is the globals proxy, so chunks compiled later (scripts, loadstring) see it too.
//
// Known difference from Redis's VM-level protection: ipairs, # and unpack see an empty proxy.
#pragma once

#include <lua.hpp>

#include "server/scripting/lua_util.h"

namespace rd {

struct LuaHost;

// A state with the libraries opened and the base functions trimmed, not yet protected: the
// caller adds its globals (redis, ...) to the table at LUA_GLOBALSINDEX, then calls
// protect_globals().
LuaStatePtr new_sandbox_state(LuaHost* host);

// Makes the current global table the read-only backing of a new globals proxy: every table
// value in it is replaced by a read-only proxy, reading a missing global raises "Script
// attempted to access nonexistent global variable", and the proxy becomes the thread's
// globals (and _G). Leaves the stack unchanged.
void protect_globals(lua_State* lua);

// Pushes a read-only proxy of the table at `index`.
void push_readonly_proxy(lua_State* lua, int index);

// Sets the metatable of the table at `index` so that reading a missing field raises "Script
// attempted to access nonexistent global variable '<name>'" (Redis uses the same text for the
// function-loading `redis` table).
void set_missing_field_error(lua_State* lua, int index);

// Sets `name` in the globals' backing table to the value on top of the stack (popped):
// KEYS and ARGV, which Redis sets past its protection before each EVAL.
void set_backing_global(lua_State* lua, const char* name);

// Replaces the backing table the globals proxy reads from with the table on top of the stack
// (popped): FUNCTION LOAD runs library code against a small API, functions against the
// runtime globals.
void set_globals_backing(lua_State* lua);

}  // namespace rd
