#include "server/scripting/script_run.h"

#include <cctype>
#include <cstring>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/eviction.h"
#include "server/scripting/lua_convert.h"
#include "server/scripting/lua_host.h"
#include "server/scripting/lua_util.h"
#include "server/scripting/scripting.h"
#include "replication/replication.h"
#include "server/server.h"

namespace rd {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lua's tostring() for an error value, without calling into the script's globals.
std::string error_value_text(lua_State* lua, int index) {
  switch (lua_type(lua, index)) {
    case LUA_TSTRING:
    case LUA_TNUMBER: {
      lua_pushvalue(lua, index);
      std::string text(lua_view(lua, -1));
      lua_pop(lua, 1);
      return text;
    }
    case LUA_TNIL:
      return "nil";
    case LUA_TBOOLEAN:
      return lua_toboolean(lua, index) ? "true" : "false";
    default: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%s: %p", luaL_typename(lua, index), lua_topointer(lua, index));
      return buf;
    }
  }
}

// Where the error happened: the function that raised it, or its caller when that is a C
// function (error(), redis.call, a metamethod).
bool error_location(lua_State* lua, lua_Debug* ar) {
  if (!lua_getstack(lua, 1, ar)) return false;
  lua_getinfo(lua, "Sl", ar);
  if (std::strcmp(ar->what, "C") != 0) return true;
  if (!lua_getstack(lua, 2, ar)) return false;
  lua_getinfo(lua, "Sl", ar);
  return true;
}

// The reply of a failed script: the error text, and where it was raised.
std::string script_error_text(const LuaError& error, const std::string& name) {
  std::string text = error.message;
  if (!error.line.empty() && !error.source.empty()) {
    text += " script: " + name + ", on " + error.source + ":" + error.line + ".";
  }
  return text.substr(0, text.find('\0'));
}

// Whether the value on top is an error table whose error a command already counted.
bool is_counted_error_table(lua_State* lua) {
  if (!lua_istable(lua, -1)) return false;
  LuaStackGuard guard(lua);
  lua_pushliteral(lua, "err");
  lua_rawget(lua, -2);
  if (lua_type(lua, -1) != LUA_TSTRING) return false;
  lua_pop(lua, 1);
  return read_lua_error(lua).ignore_stats;
}

// Every kInterruptPeriod VM instructions: notices a long script (BUSY for other clients) and
// SCRIPT/FUNCTION KILL. A killed script is stopped at every following line too, so a pcall in
// the script cannot swallow the kill.
constexpr int kInterruptPeriod = 100000;

void interrupt_hook(lua_State* lua, lua_Debug*) {
  ScriptRun* run = lua_host(lua).run;
  if (run == nullptr || !run->scripting.interrupted()) return;
  lua_sethook(lua, interrupt_hook, LUA_MASKLINE, 0);
  run->server.log('#', "Lua script killed by user with SCRIPT KILL.");
  push_error_table(lua, "Script killed by user with SCRIPT KILL...");
  lua_error(lua);
}

}  // namespace

const CommandSpec* find_script_command(const CommandTable& table, const std::vector<std::string>& args) {
  const CommandSpec* spec = table.find(args[0]);
  if (spec == nullptr || spec->subcommands.empty() || args.size() < 2) return spec;
  auto it = spec->subcommands.find(lowercase(args[1]));
  return it == spec->subcommands.end() ? nullptr : it->second.get();
}

bool ScriptRun::call(const std::vector<std::string>& args, std::string* reply_out, std::string* error) {
  const CommandSpec* spec = check_command(args, error);
  if (spec != nullptr) {
    execute(*spec, args, reply_out);
    return true;
  }
  // A refused command counts as an error reply once, here; the script's own error reply (or
  // the pcall result) does not count it again.
  server.stats.total_error_replies.fetch_add(1, std::memory_order_relaxed);
  server.count_error((*error)[0] == '-' ? std::string_view(*error).substr(1) : "ERR");
  return false;
}

const CommandSpec* ScriptRun::check_command(const std::vector<std::string>& args, std::string* error) {
  const CommandSpec* spec = find_script_command(server.commands, args);
  if (spec == nullptr) {
    *error = "Unknown Redis command called from script";
    return nullptr;
  }
  if (!command_allowed(spec, args, error)) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);  // INFO commandstats
    return nullptr;
  }
  return spec;
}

bool ScriptRun::command_allowed(const CommandSpec* spec, const std::vector<std::string>& args, std::string* error) {
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    *error = "Wrong number of args calling Redis command from script";
    return false;
  }
  if (spec->has(kCmdNoscript) && !server.scripts_may_run_noscript.load(std::memory_order_relaxed)) {
    *error = "This Redis command is not allowed from script";
    return false;
  }
  if (!server.acl->check_script_command(caller.client, *spec, args, error)) return false;
  if (!spec->has(kCmdStale) && server.is_replica() && !server.replica_serve_stale_data.load() &&
      !server.replication->master_link_up()) {
    *error = "Can not execute the command on a stale replica";
    return false;
  }
  // May-replicate commands (PUBLISH, PFCOUNT) count as writes for read-only scripts: so
  // those can run during CLIENT PAUSE WRITE, as in Redis.
  if (read_only && (spec->is_write() || spec->has(kCmdMayReplicate))) {
    *error = "Write commands are not allowed from read-only scripts.";
    return false;
  }
  if (spec->is_write()) {
    const bool from_master = caller.client.has_flag(kClientMaster);
    if (server.is_replica() && !from_master && server.config.get_bool("replica-read-only")) {
      *error = "-READONLY You can't write against a read only replica.";
      return false;
    }
    if (server.persistence->writes_denied() && !from_master && !server.is_replica()) {
      *error = "-" + std::string(kMisconfError);
      return false;
    }
    if (!server.replication->enough_good_replicas()) {
      *error = "-NOREPLICAS Not enough good replicas to write.";
      return false;
    }
  }
  // Over maxmemory when the script started, its first denyoom command is refused (after a
  // write it can no longer stop half-way), unless the script declared allow-oom.
  if (spec->has(kCmdDenyOom) && !allow_oom && !wrote && server.eviction->maxmemory() != 0 &&
      !caller.client.has_flag(kClientMaster) && Eviction::pre_command_oom()) {
    *error = "-" + std::string(kOomError);
    return false;
  }
  if (spec->is_write()) {
    wrote = true;
    if (!scripting.mark_write()) {
      *error = "Script killed by user with SCRIPT KILL...";
      return false;
    }
  }
  return true;
}

void ScriptRun::execute(const CommandSpec& spec, const std::vector<std::string>& args, std::string* reply_out) {
  std::vector<std::string_view> argv(args.begin(), args.end());
  Reply reply(reply_out, resp);
  std::vector<Propagation>& propagated = caller.propagations();
  const size_t before = propagated.size();
  server.execute_nested(caller, client, reply, spec, argv);
  if (!replicate) propagated.erase(propagated.begin() + static_cast<std::ptrdiff_t>(before), propagated.end());
}

void ScriptRun::invoke(lua_State* lua, int nargs) {
  const int handler = lua_gettop(lua) - nargs;  // where the function is now
  lua_pushcfunction(lua, script_error_handler);
  lua_insert(lua, handler);
  lua_sethook(lua, interrupt_hook, LUA_MASKCOUNT, kInterruptPeriod);
  const int status = lua_pcall(lua, nargs, 1, handler);
  lua_sethook(lua, nullptr, 0, 0);
  if (status == 0) {
    if (is_counted_error_table(lua)) caller.error_not_counted = true;
    write_lua_value(lua, caller.reply, resp);
    // An error already counted in the error stats still makes EVAL/FCALL a failed call.
    if (caller.error_not_counted) caller.spec.stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
  } else {
    LuaError error = read_lua_error(lua);
    if (error.message.empty()) {
      error.message = "ERR Error running script " + name + ", execution failure";
    }
    caller.reply.error(script_error_text(error, name));
    if (error.ignore_stats) {
      caller.error_not_counted = true;
      caller.spec.stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
    }
    lua_pop(lua, 1);
  }
  lua_pop(lua, 1);  // the handler
}

int script_error_handler(lua_State* lua) {
  if (!lua_istable(lua, 1)) {
    const std::string text = "ERR " + error_value_text(lua, 1);
    lua_settop(lua, 0);
    lua_newtable(lua);
    lua_push_view(lua, text);
    lua_setfield(lua, -2, "err");
  }
  lua_settop(lua, 1);
  lua_Debug ar;
  if (error_location(lua, &ar)) {
    lua_pushstring(lua, ar.source);
    lua_setfield(lua, 1, "source");
    lua_pushinteger(lua, ar.currentline);
    lua_setfield(lua, 1, "line");
  }
  return 1;
}

}  // namespace rd
