// One script invocation (EVAL or FCALL): the caller's command, the script's own client, and
// what the script changed about its run (RESP version, replication). Lives on the caller's
// stack; the state's LuaHost points at it while the script runs.
//
// REQUIRES: the keyspace lock held exclusively for the whole run (the script is atomic and
// the Lua state is not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <lua.hpp>

namespace rd {

class Client;
class CommandContext;
class CommandTable;
class Server;
class Scripting;
struct CommandSpec;

struct ScriptRun {
  Server& server;
  Scripting& scripting;
  CommandContext& caller;  // EVAL / FCALL: the reply and the propagation go there
  Client& client;          // the script's client: its db (SELECT) is the script's own
  std::string name;        // the script's SHA or the function's name, for error messages
  bool eval_mode = true;   // EVAL (as opposed to FCALL): error texts and SCRIPT/FUNCTION KILL
  bool read_only = false;  // EVAL_RO / FCALL_RO / the no-writes flag: writes are refused
  bool allow_oom = false;  // the allow-oom flag: denyoom commands run even over maxmemory
  bool wrote = false;      // a write ran: past that point OOM no longer stops the script
  bool replicate = true;   // redis.set_repl(): whether the commands reach replicas and the AOF
  int resp = 2;            // redis.setresp()

  // Runs one command for redis.call/pcall: Redis's checks for scripts, then the command with
  // the script's client and RESP version. On success `reply` holds the command's reply
  // (possibly an error reply); false and `error` ("Unknown Redis command called from
  // script", "-READONLY ...") when the command was refused before running (counted in the
  // error statistics here, once).
  bool call(const std::vector<std::string>& args, std::string* reply, std::string* error);

  // Redis's checks for a command run from a script: its spec, or nullptr with the error.
  const CommandSpec* check_command(const std::vector<std::string>& args, std::string* error);
  // Redis's checks on a known command (arity, noscript, ACL, stale, writes, OOM).
  bool command_allowed(const CommandSpec* spec, const std::vector<std::string>& args, std::string* error);
  void execute(const CommandSpec& spec, const std::vector<std::string>& args, std::string* reply);

  // Calls the function below `nargs` arguments on the stack with the script error handler,
  // then writes its result or error as the caller's reply. Pops the function and arguments.
  void invoke(lua_State* lua, int nargs);
};

// The command redis.call would run for `args` (resolving container subcommands), or nullptr.
const CommandSpec* find_script_command(const CommandTable& table, const std::vector<std::string>& args);

// The message handler scripts run under: turns any error into {err=..., source=..., line=...}
// naming the script line that raised it (Redis's __redis__err__handler).
int script_error_handler(lua_State* lua);

}  // namespace rd
