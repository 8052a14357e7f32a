// Conversions between command replies and Lua values, as Redis documents them for scripts.
//
// Reply -> Lua (redis.call's result), by the RESP the script asked for (redis.setresp):
//   integer -> number, bulk -> string, status -> {ok=...}, error -> {err=...},
//   RESP2 null bulk / null array -> false, array -> table;
//   RESP3: null -> nil, boolean -> boolean, double -> {double=n}, map -> {map={k=v}},
//   set -> {set={member=true}}, big number -> {big_number=s},
//   verbatim -> {verbatim_string={format=f, string=s}}.
// Lua -> reply (the script's return value):
//   number -> integer (truncated), string -> bulk, true -> 1 (RESP3 scripts: boolean),
//   false / nil -> null (RESP3 scripts: false -> boolean), {err=} -> error, {ok=} -> status,
//   {double=}, {map=}, {set=}, {big_number=}, {verbatim_string=}, any other table -> array of
//   its elements 1..n up to the first nil.
#pragma once

#include <string>
#include <string_view>

#include <lua.hpp>

namespace rd {

class Reply;

// Pushes the Lua value of one complete reply encoded in `bytes`. A command's error reply
// becomes {err=..., ignore_error_stats_update=true} (the command already counted it).
void push_reply_value(lua_State* lua, std::string_view bytes);

// Pushes {err="<CODE> <message>"} the way Redis builds script errors: "-CODE message" keeps its
// code, a text without the leading '-' gets "ERR".
void push_error_table(lua_State* lua, std::string_view error);

// Writes the value on top of the stack as a reply and pops it. `script_resp` is the RESP
// version the script selected (it decides how booleans are sent).
void write_lua_value(lua_State* lua, Reply& reply, int script_resp);

// The fields of an error table (or error string) at the top of the stack.
struct LuaError {
  std::string message;  // "ERR ..." / "WRONGTYPE ..."; empty when the table has no err
  std::string source;   // "@user_script", when the error handler recorded where
  std::string line;
  bool ignore_stats = false;  // the error was a command's own reply: already counted
};
LuaError read_lua_error(lua_State* lua);

}  // namespace rd
