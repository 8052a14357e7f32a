// FUNCTION's engine: libraries of named functions ("#!lua name=<library>" code that calls
// redis.register_function), in a Lua state of their own.
//
// Loading runs the library code against a small API (redis.register_function, redis.log,
// redis.LOG_*, redis.REDIS_VERSION*) and nothing else; the functions it registers run later
// against the full runtime environment. Both are the backing of the same read-only globals
// proxy, swapped around a load, as Redis 7.0 does.
//
// REQUIRES: the keyspace lock held exclusively for every call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/scripting/lua_host.h"
#include "server/scripting/lua_util.h"

namespace rd {

struct ScriptRun;

struct ScriptFunction {
  std::string name;
  int callback = LUA_NOREF;  // registry reference of the Lua function
  uint32_t flags = 0;        // ScriptFlag bits
  std::optional<std::string> description;
};

struct FunctionLibrary {
  std::string name;
  std::string code;
  std::map<std::string, ScriptFunction> functions;
};

// The library whose code is running during FUNCTION LOAD (what register_function fills).
struct LibraryLoad {
  std::map<std::string, ScriptFunction> functions;
  int64_t deadline_us = 0;  // monotonic: the library code is stopped past it (FUNCTION LOAD timeout)
};

class FunctionEngine {
 public:
  explicit FunctionEngine(LuaHost host);

  // FUNCTION LOAD [REPLACE]: false with the error reply text ("ERR Library 'x' already
  // exists", "ERR Error registering functions: ...") when the library is not loaded.
  bool load(std::string_view code, bool replace, std::string* library, std::string* error);
  // FUNCTION DELETE: false when there is no such library.
  bool remove(std::string_view library);
  // FUNCTION FLUSH.
  void flush();

  const ScriptFunction* find_function(std::string_view name) const;
  const std::map<std::string, FunctionLibrary, std::less<>>& libraries() const { return libraries_; }
  // Functions of every library (two names differing only in case both count).
  size_t function_count() const;

  // Runs `function` with its keys and args tables, replying through run.caller.
  void run(ScriptRun& run, const ScriptFunction& function, const std::vector<std::string_view>& keys,
           const std::vector<std::string_view>& args);

  size_t lua_memory() const;

 private:
  // Runs the compiled library code (on top of the stack) against the load API.
  bool register_library(LibraryLoad* load, std::string* error);
  void release(const FunctionLibrary& library);
  bool name_taken(const LibraryLoad& load, std::string_view replaced, std::string* error) const;

  LuaHost host_;
  LuaStatePtr lua_;
  int load_env_ = LUA_NOREF;     // registry refs of the two backing tables
  int runtime_env_ = LUA_NOREF;
  std::map<std::string, FunctionLibrary, std::less<>> libraries_;
  // Lowercase function name -> {library, function name}: FCALL finds functions whatever their
  // case (within a library, names differing in case are distinct).
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> function_library_;
};

// Parses FUNCTION LOAD's "#!<engine> name=<library>" first line: the library name and the
// length of the line, or false with the error reply text.
bool parse_library_shebang(std::string_view code, std::string* name, size_t* length, std::string* error);

}  // namespace rd
