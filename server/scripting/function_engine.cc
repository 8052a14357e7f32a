#include "server/scripting/function_engine.h"

#include <cctype>
#include <cstring>

#include "server/scripting/eval_engine.h"
#include "server/scripting/lua_convert.h"
#include "server/scripting/redis_api.h"
#include "server/scripting/sandbox.h"
#include "server/scripting/script_flags.h"
#include "server/scripting/script_run.h"
#include "server/client.h"

namespace rd {
namespace {

constexpr const char* kBadName =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- redis.register_function ----

int raise(lua_State* lua, std::string_view message) {
  push_error_table(lua, message);
  return lua_error(lua);
}

// The flags table of the named-arguments form.
uint32_t read_flags(lua_State* lua, int index) {
  if (!lua_istable(lua, index)) {
    raise(lua, "flags argument to redis.register_function must be a table representing function flags");
  }
  uint32_t flags = 0;
  for (int i = 1;; i++) {
    lua_rawgeti(lua, index, i);
    if (lua_isnil(lua, -1)) break;
    const uint32_t flag = lua_type(lua, -1) == LUA_TSTRING ? script_flag_by_name(lua_view(lua, -1)) : 0;
    if (flag == 0) raise(lua, "unknown flag given");
    flags |= flag;
    lua_pop(lua, 1);
  }
  lua_pop(lua, 1);
  return flags;
}

// redis.register_function{function_name=, callback=, flags=, description=}: leaves the
// callback on top of the stack.
void read_named_arguments(lua_State* lua, ScriptFunction* function) {
  bool has_callback = false;
  lua_pushnil(lua);
  while (lua_next(lua, 1)) {
    const std::string_view key = lua_type(lua, -2) == LUA_TSTRING ? lua_view(lua, -2) : std::string_view();
    if (key == "function_name") {
      if (!lua_isstring(lua, -1)) raise(lua, "function_name argument given to redis.register_function must be a string");
      function->name = lua_view(lua, -1);
    } else if (key == "description") {
      if (!lua_isstring(lua, -1)) raise(lua, "description argument given to redis.register_function must be a string");
      function->description = std::string(lua_view(lua, -1));
    } else if (key == "callback") {
      if (!lua_isfunction(lua, -1)) raise(lua, "callback argument given to redis.register_function must be a function");
      lua_pushvalue(lua, -1);
      lua_replace(lua, 2);
      has_callback = true;
    } else if (key == "flags") {
      function->flags = read_flags(lua, lua_gettop(lua));
    } else {
      raise(lua, "unknown argument given to redis.register_function");
    }
    lua_pop(lua, 1);
  }
  if (function->name.empty()) raise(lua, "redis.register_function must get a function name argument");
  if (!has_callback) raise(lua, "redis.register_function must get a callback argument");
  lua_settop(lua, 2);
}

int register_function(lua_State* lua) {
  LibraryLoad* load = lua_host(lua).loading;
  if (load == nullptr) return raise(lua, "redis.register_function can only be called on FUNCTION LOAD command");
  ScriptFunction function;
  const int argc = lua_gettop(lua);
  if (argc == 1) {
    if (!lua_istable(lua, 1)) {
      return raise(lua, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    }
    lua_settop(lua, 2);  // slot 2 receives the callback
    read_named_arguments(lua, &function);
  } else if (argc == 2) {
    if (!lua_isstring(lua, 1)) return raise(lua, "first argument to redis.register_function must be a string");
    if (!lua_isfunction(lua, 2)) return raise(lua, "second argument to redis.register_function must be a function");
    function.name = lua_view(lua, 1);
  } else {
    return raise(lua, "wrong number of arguments to redis.register_function");
  }
  if (!valid_name(function.name)) return raise(lua, kBadName);
  if (load->functions.count(function.name) != 0) return raise(lua, "Function already exists in the library");
  lua_pushvalue(lua, 2);
  function.callback = luaL_ref(lua, LUA_REGISTRYINDEX);
  const std::string name = function.name;
  load->functions.emplace(name, std::move(function));
  return 0;
}

// The table FUNCTION LOAD's code sees as `redis`; any other global (or field) is an error.
void push_load_environment(lua_State* lua) {
  lua_newtable(lua);  // the environment
  lua_newtable(lua);  // its redis
  lua_pushcfunction(lua, register_function);
  lua_setfield(lua, -2, "register_function");
  add_redis_log_and_version(lua);
  set_missing_field_error(lua, -1);
  push_readonly_proxy(lua, -1);
  lua_setfield(lua, -3, "redis");
  lua_pop(lua, 1);
  set_missing_field_error(lua, -1);
}

}  // namespace

bool parse_library_shebang(std::string_view code, std::string* name, size_t* length, std::string* error) {
  if (code.substr(0, 2) != "#!") {
    *error = "ERR Missing library metadata";
    return false;
  }
  const size_t newline = code.find('\n');
  if (newline == std::string_view::npos) {
    *error = "ERR Invalid library metadata";
    return false;
  }
  *length = newline;
  std::vector<std::string> parts;
  if (!split_shebang(code.substr(0, newline), &parts)) {
    *error = "ERR Invalid library metadata";
    return false;
  }
  bool named = false;
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].substr(0, 5) != "name=") {
      *error = "ERR Invalid metadata value given: " + std::string(parts[i]);
      return false;
    }
    if (named) {
      *error = "ERR Invalid metadata value, name argument was given multiple times";
      return false;
    }
    named = true;
    *name = parts[i].substr(5);
  }
  if (!named) {
    *error = "ERR Library name was not given";
    return false;
  }
  if (!valid_name(*name)) {
    *error = std::string("ERR ") + kBadName;
    return false;
  }
  const std::string engine = parts.empty() ? std::string() : parts[0].substr(2);
  if (lowercase(engine) != "lua") {
    *error = "ERR Engine '" + std::string(engine) + "' not found";
    return false;
  }
  return true;
}

FunctionEngine::FunctionEngine(LuaHost host) : host_(host) {
  lua_ = new_sandbox_state(&host_);
  lua_State* lua = lua_.get();
  push_redis_api(lua, ScriptApi::kFunction);
  lua_setglobal(lua, "redis");
  install_redis_pcall(lua);
  protect_globals(lua);
  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  lua_getmetatable(lua, -1);
  lua_getfield(lua, -1, "__index");
  runtime_env_ = luaL_ref(lua, LUA_REGISTRYINDEX);
  lua_pop(lua, 2);
  push_load_environment(lua);
  load_env_ = luaL_ref(lua, LUA_REGISTRYINDEX);
}

bool FunctionEngine::load(std::string_view code, bool replace, std::string* library, std::string* error) {
  size_t shebang = 0;
  if (!parse_library_shebang(code, library, &shebang, error)) return false;
  if (!replace && libraries_.count(*library) != 0) {
    *error = "ERR Library '" + *library + "' already exists";
    return false;
  }
  lua_State* lua = lua_.get();
  LuaStackGuard guard(lua);
  const std::string_view body = code.substr(shebang);
  if (luaL_loadbuffer(lua, body.data(), body.size(), "@user_function") != 0) {
    *error = "ERR Error compiling function: " + std::string(lua_view(lua, -1));
    return false;
  }
  LibraryLoad load;
  if (!register_library(&load, error) || !name_taken(load, *library, error)) {
    for (auto& [name, function] : load.functions) luaL_unref(lua, LUA_REGISTRYINDEX, function.callback);
    return false;
  }
  auto old = libraries_.find(*library);
  if (old != libraries_.end()) {
    release(old->second);
    libraries_.erase(old);
  }
  for (const auto& [name, function] : load.functions) function_library_[lowercase(name)] = {*library, name};
  libraries_[*library] = FunctionLibrary{*library, std::string(code), std::move(load.functions)};
  return true;
}

namespace {

constexpr int64_t kLoadTimeoutUs = 500 * 1000;  // Redis's limit on a library's top-level code

void load_timeout_hook(lua_State* lua, lua_Debug*) {
  const LibraryLoad* load = lua_host(lua).loading;
  if (load != nullptr && monotonic_us() > load->deadline_us) luaL_error(lua, "FUNCTION LOAD timeout");
}

}  // namespace

bool FunctionEngine::register_library(LibraryLoad* load, std::string* error) {
  lua_State* lua = lua_.get();
  lua_rawgeti(lua, LUA_REGISTRYINDEX, load_env_);
  set_globals_backing(lua);
  host_.loading = load;
  load->deadline_us = monotonic_us() + kLoadTimeoutUs;
  lua_pushcfunction(lua, script_error_handler);
  lua_insert(lua, -2);
  lua_sethook(lua, load_timeout_hook, LUA_MASKCOUNT, 100000);
  const int status = lua_pcall(lua, 0, 0, -2);
  lua_sethook(lua, nullptr, 0, 0);
  host_.loading = nullptr;
  lua_rawgeti(lua, LUA_REGISTRYINDEX, runtime_env_);
  set_globals_backing(lua);
  if (status != 0) {
    *error = "ERR Error registering functions: " + read_lua_error(lua).message;
    return false;
  }
  if (load->functions.empty()) {
    *error = "ERR No functions registered";
    return false;
  }
  return true;
}

// A function name may belong to one library only (the one being replaced excepted).
bool FunctionEngine::name_taken(const LibraryLoad& load, std::string_view replaced, std::string* error) const {
  for (const auto& [name, function] : load.functions) {
    auto it = function_library_.find(lowercase(name));
    if (it != function_library_.end() && it->second.first != replaced) {
      *error = "ERR Function " + name + " already exists";
      return false;
    }
  }
  return true;
}

void FunctionEngine::release(const FunctionLibrary& library) {
  for (const auto& [name, function] : library.functions) {
    luaL_unref(lua_.get(), LUA_REGISTRYINDEX, function.callback);
    function_library_.erase(lowercase(name));
  }
}

bool FunctionEngine::remove(std::string_view library) {
  auto it = libraries_.find(library);
  if (it == libraries_.end()) return false;
  release(it->second);
  libraries_.erase(it);
  return true;
}

void FunctionEngine::flush() {
  for (const auto& [name, library] : libraries_) release(library);
  libraries_.clear();
  lua_gc(lua_.get(), LUA_GCCOLLECT, 0);
}

const ScriptFunction* FunctionEngine::find_function(std::string_view name) const {
  auto it = function_library_.find(lowercase(name));
  if (it == function_library_.end()) return nullptr;
  const FunctionLibrary& library = libraries_.find(it->second.first)->second;
  return &library.functions.find(it->second.second)->second;
}

size_t FunctionEngine::function_count() const {
  size_t count = 0;
  for (const auto& [name, library] : libraries_) count += library.functions.size();
  return count;
}

void FunctionEngine::run(ScriptRun& run, const ScriptFunction& function, const std::vector<std::string_view>& keys,
                         const std::vector<std::string_view>& args) {
  lua_State* lua = lua_.get();
  LuaStackGuard guard(lua);
  lua_rawgeti(lua, LUA_REGISTRYINDEX, function.callback);
  push_string_array(lua, keys);
  push_string_array(lua, args);
  host_.run = &run;
  run.invoke(lua, 2);
  host_.run = nullptr;
}

size_t FunctionEngine::lua_memory() const { return static_cast<size_t>(lua_gc(lua_.get(), LUA_GCCOUNT, 0)) * 1024; }

}  // namespace rd
