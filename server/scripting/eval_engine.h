// EVAL's engine: one Lua state for every EVAL script, and the script cache (SHA1 of the body ->
// body and shebang flags). A script is compiled once into a function kept in the registry;
// SCRIPT FLUSH starts a new state.
//
// REQUIRES: the keyspace lock held exclusively for every call (the Lua state is shared).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/scripting/lua_host.h"
#include "server/scripting/lua_util.h"

namespace rd {

struct ScriptRun;

class EvalEngine {
 public:
  struct Script {
    std::string body;
    uint32_t flags = 0;  // ScriptFlag bits (kScriptEvalCompat without a shebang)
  };

  explicit EvalEngine(LuaHost host);

  // Compiles and caches `body` (a cached body is not compiled again). False with the error
  // reply text ("ERR Error compiling script ...", "ERR Unexpected flag ...") on failure.
  bool load(std::string_view body, std::string* sha, std::string* error);
  // The cached script with this SHA (lowercase hex), or nullptr.
  const Script* find(std::string_view sha) const;
  // SCRIPT FLUSH: forget every script and start a fresh Lua state.
  void flush();

  // Runs the cached script `sha` with KEYS and ARGV, replying through run.caller.
  void run(ScriptRun& run, std::string_view sha, const std::vector<std::string_view>& keys,
           const std::vector<std::string_view>& args);

  size_t script_count() const { return scripts_.size(); }
  size_t scripts_memory() const { return scripts_memory_; }
  size_t lua_memory() const;

 private:
  void create_state();

  LuaHost host_;
  LuaStatePtr lua_;
  std::unordered_map<std::string, Script> scripts_;
  size_t scripts_memory_ = 0;
  int runs_since_gc_ = 0;
};

// Parses EVAL's "#!lua flags=a,b" first line. Returns the ScriptFlag bits (kScriptEvalCompat
// when there is no shebang) and the length of the shebang line; -1 with `error` when invalid.
int64_t parse_eval_shebang(std::string_view body, uint32_t* flags, std::string* error);

// Pushes a table holding `values` as an array.
void push_string_array(lua_State* lua, const std::vector<std::string_view>& values);

}  // namespace rd
