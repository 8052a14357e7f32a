// Libraries Redis bundles with its Lua that Debian does not package for embedding, written
// here from their documentation: struct (Roberto Ierusalimschy's binary packing library) and
// cmsgpack (MessagePack). Both are opened like luaopen_* functions: they return the library
// table (and register it as a global).
#pragma once

#include <lua.hpp>

namespace rd {

int open_struct_library(lua_State* lua);
int open_cmsgpack_library(lua_State* lua);

}  // namespace rd
