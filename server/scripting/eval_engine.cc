#include "server/scripting/eval_engine.h"

#include <cctype>

#include "server/scripting/redis_api.h"
#include "server/scripting/sandbox.h"
#include "server/scripting/script_flags.h"
#include "server/scripting/script_run.h"
#include "storage/digest.h"

namespace rd {
namespace {

// Lua's incremental GC is stepped every this many scripts (a full cycle at once would add
// latency to one unlucky script).
constexpr int kGcPeriod = 50;

bool parse_flag_list(std::string_view list, uint32_t* flags, std::string* error) {
  if (list.empty()) return true;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string_view name = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const uint32_t flag = script_flag_by_name(name);
    if (flag == 0) {
      *error = "ERR Unexpected flag in script shebang: " + std::string(name);
      return false;
    }
    *flags |= flag;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

std::string registry_name(std::string_view sha) { return "f_" + std::string(sha); }

}  // namespace

int64_t parse_eval_shebang(std::string_view body, uint32_t* flags, std::string* error) {
  *flags = 0;
  if (body.substr(0, 2) != "#!") {
    *flags = kScriptEvalCompat;
    return 0;
  }
  const size_t newline = body.find('\n');
  if (newline == std::string_view::npos) {
    *error = "ERR Invalid script shebang";
    return -1;
  }
  std::vector<std::string> parts;
  if (!split_shebang(body.substr(0, newline), &parts)) {
    *error = "ERR Invalid engine in script shebang";
    return -1;
  }
  if (parts.empty() || parts[0] != "#!lua") {
    *error = "ERR Unexpected engine in script shebang: " + std::string(parts.empty() ? "" : parts[0]);
    return -1;
  }
  for (size_t i = 1; i < parts.size(); i++) {
    if (parts[i].substr(0, 6) != "flags=") {
      *error = "ERR Unknown lua shebang option: " + std::string(parts[i]);
      return -1;
    }
    if (!parse_flag_list(parts[i].substr(6), flags, error)) return -1;
  }
  return static_cast<int64_t>(newline);
}

void push_string_array(lua_State* lua, const std::vector<std::string_view>& values) {
  lua_createtable(lua, static_cast<int>(values.size()), 0);
  for (size_t i = 0; i < values.size(); i++) {
    lua_push_view(lua, values[i]);
    lua_rawseti(lua, -2, static_cast<int>(i + 1));
  }
}

EvalEngine::EvalEngine(LuaHost host) : host_(host) { create_state(); }

void EvalEngine::create_state() {
  lua_ = new_sandbox_state(&host_);
  lua_State* lua = lua_.get();
  push_redis_api(lua, ScriptApi::kEval);
  lua_setglobal(lua, "redis");
  install_redis_pcall(lua);
  lua_pushcfunction(lua, script_error_handler);
  lua_setglobal(lua, "__redis__err__handler");
  protect_globals(lua);
}

bool EvalEngine::load(std::string_view body, std::string* sha, std::string* error) {
  *sha = sha1_hex(body);
  if (scripts_.count(*sha) != 0) return true;
  uint32_t flags = 0;
  const int64_t shebang = parse_eval_shebang(body, &flags, error);
  if (shebang < 0) return false;
  // The body is the chunk (after the shebang line, keeping line numbers): the compiled
  // function is kept in the registry under f_<sha>.
  const std::string_view code = body.substr(static_cast<size_t>(shebang));
  lua_State* lua = lua_.get();
  LuaStackGuard guard(lua);
  if (luaL_loadbuffer(lua, code.data(), code.size(), "@user_script") != 0) {
    *error = "ERR Error compiling script (new function): " + std::string(lua_view(lua, -1));
    return false;
  }
  lua_setfield(lua, LUA_REGISTRYINDEX, registry_name(*sha).c_str());
  scripts_memory_ += sha->size() + body.size();
  scripts_.emplace(*sha, Script{std::string(body), flags});
  return true;
}

const EvalEngine::Script* EvalEngine::find(std::string_view sha) const {
  auto it = scripts_.find(std::string(sha));
  return it == scripts_.end() ? nullptr : &it->second;
}

void EvalEngine::flush() {
  scripts_.clear();
  scripts_memory_ = 0;
  runs_since_gc_ = 0;
  create_state();
}

void EvalEngine::run(ScriptRun& run, std::string_view sha, const std::vector<std::string_view>& keys,
                     const std::vector<std::string_view>& args) {
  lua_State* lua = lua_.get();
  LuaStackGuard guard(lua);
  push_string_array(lua, keys);
  set_backing_global(lua, "KEYS");
  push_string_array(lua, args);
  set_backing_global(lua, "ARGV");
  lua_getfield(lua, LUA_REGISTRYINDEX, registry_name(sha).c_str());
  host_.run = &run;
  run.invoke(lua, 0);
  host_.run = nullptr;
  if (++runs_since_gc_ == kGcPeriod) {
    lua_gc(lua, LUA_GCSTEP, kGcPeriod);
    runs_since_gc_ = 0;
  }
}

size_t EvalEngine::lua_memory() const { return static_cast<size_t>(lua_gc(lua_.get(), LUA_GCCOUNT, 0)) * 1024; }

}  // namespace rd
