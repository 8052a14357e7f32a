// The `redis` table scripts see: call, pcall, error_reply, status_reply, sha1hex, log and its
// levels, setresp, set_repl and its flags, acl_check_cmd, REDIS_VERSION(_NUM), and for EVAL
// also breakpoint, debug and replicate_commands (kept for old scripts; no-ops in 7.0).
// Also the global pcall, which hands scripts the text of a redis.call error table.
#pragma once

#include <lua.hpp>

namespace rd {

enum class ScriptApi { kEval, kFunction };

// Pushes a new (unprotected) `redis` table for `api`.
void push_redis_api(lua_State* lua, ScriptApi api);

// Adds redis.log, the LOG_* levels and REDIS_VERSION(_NUM) to the table on top of the stack
// (FUNCTION LOAD's library API has these too).
void add_redis_log_and_version(lua_State* lua);

// Replaces the global pcall with Redis's: an error table raised by redis.call is returned as
// its err string (scripts written for Redis 6 expect a string).
void install_redis_pcall(lua_State* lua);

}  // namespace rd
