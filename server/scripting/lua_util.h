// Small RAII and stack helpers for the embedded Lua 5.1 interpreter.
//
// We link Debian's C++ build of Lua (liblua5.1-c++): lua_error() throws a C++ exception instead
// of longjmp-ing, so a Lua error raised inside one of our C functions unwinds through C++
// frames and runs their destructors. Never catch (...) inside a lua_CFunction: that would
// swallow Lua's own error.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <lua.hpp>

namespace rd {

struct LuaCloser {
  void operator()(lua_State* lua) const { lua_close(lua); }
};
using LuaStatePtr = std::unique_ptr<lua_State, LuaCloser>;

inline void lua_push_view(lua_State* lua, std::string_view text) { lua_pushlstring(lua, text.data(), text.size()); }

// The string at `index` (numbers are converted in place, as lua_tolstring does); empty view
// when it is neither.
inline std::string_view lua_view(lua_State* lua, int index) {
  size_t length = 0;
  const char* data = lua_tolstring(lua, index, &length);
  return data == nullptr ? std::string_view() : std::string_view(data, length);
}

// Restores the stack height on scope exit (C++ code paths that must not leak stack slots).
class LuaStackGuard {
 public:
  explicit LuaStackGuard(lua_State* lua) : lua_(lua), top_(lua_gettop(lua)) {}
  ~LuaStackGuard() { lua_settop(lua_, top_); }
  LuaStackGuard(const LuaStackGuard&) = delete;
  LuaStackGuard& operator=(const LuaStackGuard&) = delete;

 private:
  lua_State* lua_;
  int top_;
};

}  // namespace rd
