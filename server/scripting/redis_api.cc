#include "server/scripting/redis_api.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/scripting/lua_convert.h"
#include "server/scripting/lua_host.h"
#include "server/scripting/lua_util.h"
#include "server/scripting/script_run.h"
#include "server/server.h"
#include "server/version.h"
#include "storage/digest.h"

namespace rd {
namespace {

constexpr int kReplAof = 1;
constexpr int kReplReplica = 2;

// Raises {err="ERR <message>"} as Redis's luaPushError + lua_error do.
int raise_error(lua_State* lua, std::string_view message) {
  push_error_table(lua, message);
  return lua_error(lua);
}

ScriptRun* require_run(lua_State* lua, const char* what) {
  ScriptRun* run = lua_host(lua).run;
  if (run == nullptr) raise_error(lua, std::string(what) + " can only be called inside a script invocation");
  return run;
}

// The arguments of redis.call as strings. Numbers are formatted with %.17g: Lua's own
// conversion would lose precision. False (with `error` set) when one is neither.
bool collect_arguments(lua_State* lua, std::vector<std::string>* args, std::string* error) {
  const int argc = lua_gettop(lua);
  if (argc == 0) {
    *error = "Please specify at least one argument for this redis lib call";
    return false;
  }
  args->reserve(static_cast<size_t>(argc));
  for (int i = 1; i <= argc; i++) {
    if (lua_type(lua, i) == LUA_TNUMBER) {
      char buf[64];
      const int n = std::snprintf(buf, sizeof(buf), "%.17g", static_cast<double>(lua_tonumber(lua, i)));
      args->emplace_back(buf, static_cast<size_t>(n));
    } else if (lua_type(lua, i) == LUA_TSTRING) {
      args->emplace_back(lua_view(lua, i));
    } else {
      *error = "Lua redis lib command arguments must be strings or integers";
      return false;
    }
  }
  return true;
}

// redis.call (raise = true) and redis.pcall.
int redis_command(lua_State* lua, bool raise) {
  ScriptRun* run = require_run(lua, "redis.call/pcall");
  std::vector<std::string> args;
  std::string error;
  if (!collect_arguments(lua, &args, &error)) {
    lua_settop(lua, 0);
    push_error_table(lua, error);
    return raise ? lua_error(lua) : 1;
  }
  lua_settop(lua, 0);
  std::string reply;
  if (!run->call(args, &reply, &error)) {
    push_error_table(lua, error);
    // Refused before running: like a command's error, not counted again by the script.
    lua_pushboolean(lua, 1);
    lua_setfield(lua, -2, "ignore_error_stats_update");
    return raise ? lua_error(lua) : 1;
  }
  push_reply_value(lua, reply);
  if (raise && reply[0] == '-') return lua_error(lua);
  return 1;
}

int redis_call(lua_State* lua) { return redis_command(lua, true); }
int redis_pcall(lua_State* lua) { return redis_command(lua, false); }

int redis_error_reply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    push_error_table(lua, "wrong number or type of arguments");
    return 1;
  }
  // A C string in Redis: a NUL ends it. "-CODE text" keeps its code; other texts get ERR.
  std::string text(lua_view(lua, -1));
  text.resize(std::min(text.size(), text.find('\0')));
  push_error_table(lua, !text.empty() && text[0] == '-' ? text : "-" + text);
  return 1;
}

int redis_status_reply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    push_error_table(lua, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(lua);
  lua_pushvalue(lua, -2);
  lua_setfield(lua, -2, "ok");
  return 1;
}

int redis_sha1hex(lua_State* lua) {
  if (lua_gettop(lua) != 1) return raise_error(lua, "wrong number of arguments");
  lua_push_view(lua, sha1_hex(lua_view(lua, 1)));
  return 1;
}

int redis_log(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc < 2) return raise_error(lua, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(lua, 1)) return raise_error(lua, "First argument must be a number (log level).");
  const int level = static_cast<int>(lua_tonumber(lua, 1));
  if (level < 0 || level > 3) return raise_error(lua, "Invalid debug level.");
  std::string message;
  for (int i = 2; i <= argc; i++) {
    if (!lua_isstring(lua, i)) continue;
    if (i != 2) message += ' ';
    message += lua_view(lua, i);
  }
  static const char kLevels[] = {'.', '-', '*', '#'};
  lua_host(lua).server->log(kLevels[level], message);
  return 0;
}

int redis_setresp(lua_State* lua) {
  ScriptRun* run = require_run(lua, "redis.setresp");
  if (lua_gettop(lua) != 1) return raise_error(lua, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(lua, 1));
  if (resp != 2 && resp != 3) return raise_error(lua, "RESP version must be 2 or 3.");
  run->resp = resp;
  return 0;
}

// Our replicas and AOF read one write stream: any of REPL_AOF / REPL_REPLICA keeps
// propagating, REPL_NONE stops it.
int redis_set_repl(lua_State* lua) {
  ScriptRun* run = require_run(lua, "redis.set_repl");
  if (lua_gettop(lua) != 1) return raise_error(lua, "redis.set_repl() requires two arguments.");
  const int flags = static_cast<int>(lua_tonumber(lua, -1));
  if ((flags & ~(kReplAof | kReplReplica)) != 0) {
    return raise_error(lua, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  run->replicate = flags != 0;
  return 0;
}

// There are no ACL users: every existing command is permitted.
int redis_acl_check_cmd(lua_State* lua) {
  ScriptRun* run = require_run(lua, "redis.acl_check_cmd");
  std::vector<std::string> args;
  std::string error;
  if (!collect_arguments(lua, &args, &error)) return raise_error(lua, error);
  const CommandSpec* spec = find_script_command(lua_host(lua).server->commands, args);
  if (spec == nullptr) return raise_error(lua, "Invalid command passed to redis.acl_check_cmd()");
  // As the user who called the script (EVAL's client), not the script's own client.
  lua_pushboolean(lua, run->server.acl->script_command_allowed(run->caller.client, *spec, args) ? 1 : 0);
  return 1;
}

int redis_breakpoint(lua_State* lua) {
  lua_pushboolean(lua, 0);  // no debugging session (SCRIPT DEBUG) is ever active
  return 1;
}

int redis_debug(lua_State*) { return 0; }

int redis_replicate_commands(lua_State* lua) {
  lua_pushboolean(lua, 1);  // 7.0 always replicates effects
  return 1;
}

// Redis's pcall: like Lua's, but an error table's err string is returned instead of the table.
int script_pcall(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc == 0) {  // what Redis's implementation answers (it ends up calling its placeholder)
    lua_pushboolean(lua, 0);
    lua_pushliteral(lua, "attempt to call a boolean value");
    return 2;
  }
  if (lua_pcall(lua, argc - 1, LUA_MULTRET, 0) == 0) {
    lua_pushboolean(lua, 1);
    lua_insert(lua, 1);
    return lua_gettop(lua);
  }
  if (lua_istable(lua, -1)) {
    lua_getfield(lua, -1, "err");
    if (lua_isstring(lua, -1)) {
      lua_replace(lua, -2);
    } else {
      lua_pop(lua, 1);
    }
  }
  lua_pushboolean(lua, 0);
  lua_insert(lua, -2);
  return 2;
}

void set_function(lua_State* lua, const char* name, lua_CFunction function) {
  lua_pushcfunction(lua, function);
  lua_setfield(lua, -2, name);
}

void set_number(lua_State* lua, const char* name, double value) {
  lua_pushnumber(lua, value);
  lua_setfield(lua, -2, name);
}

// "7.0.15" -> 0x00070f, as REDIS_VERSION_NUM.
double version_number() {
  int major = 0, minor = 0, patch = 0;
  std::sscanf(kRedisVersion, "%d.%d.%d", &major, &minor, &patch);
  return (major << 16) | (minor << 8) | patch;
}

}  // namespace

void add_redis_log_and_version(lua_State* lua) {
  set_function(lua, "log", redis_log);
  set_number(lua, "LOG_DEBUG", 0);
  set_number(lua, "LOG_VERBOSE", 1);
  set_number(lua, "LOG_NOTICE", 2);
  set_number(lua, "LOG_WARNING", 3);
  set_number(lua, "REDIS_VERSION_NUM", version_number());
  lua_pushstring(lua, kRedisVersion);
  lua_setfield(lua, -2, "REDIS_VERSION");
}

void push_redis_api(lua_State* lua, ScriptApi api) {
  lua_newtable(lua);
  set_function(lua, "call", redis_call);
  set_function(lua, "pcall", redis_pcall);
  add_redis_log_and_version(lua);
  set_function(lua, "setresp", redis_setresp);
  set_function(lua, "sha1hex", redis_sha1hex);
  set_function(lua, "error_reply", redis_error_reply);
  set_function(lua, "status_reply", redis_status_reply);
  set_function(lua, "set_repl", redis_set_repl);
  set_number(lua, "REPL_NONE", 0);
  set_number(lua, "REPL_AOF", kReplAof);
  set_number(lua, "REPL_SLAVE", kReplReplica);
  set_number(lua, "REPL_REPLICA", kReplReplica);
  set_number(lua, "REPL_ALL", kReplAof | kReplReplica);
  set_function(lua, "acl_check_cmd", redis_acl_check_cmd);
  if (api == ScriptApi::kEval) {
    set_function(lua, "breakpoint", redis_breakpoint);
    set_function(lua, "debug", redis_debug);
    set_function(lua, "replicate_commands", redis_replicate_commands);
  }
}

void install_redis_pcall(lua_State* lua) {
  lua_pushcfunction(lua, script_pcall);
  lua_setglobal(lua, "pcall");
}

}  // namespace rd
