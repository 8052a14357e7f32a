// What our Lua C functions reach from inside a scripting state: the server, the shared
// random generator, and the script (or library load) in progress. One LuaHost per state,
// owned by its engine; the state's registry holds a pointer to it.
#pragma once

#include <lua.hpp>

namespace rd {

class Server;
class Rand48;
struct ScriptRun;
struct LibraryLoad;

struct LuaHost {
  Server* server = nullptr;
  Rand48* rand = nullptr;
  ScriptRun* run = nullptr;       // set while a script or function runs
  LibraryLoad* loading = nullptr;  // set while FUNCTION LOAD runs a library's code
};

// Stores `host` in the registry of `lua`.
void set_lua_host(lua_State* lua, LuaHost* host);
LuaHost& lua_host(lua_State* lua);

}  // namespace rd
