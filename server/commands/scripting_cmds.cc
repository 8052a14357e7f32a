// Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL, FCALL_RO, FUNCTION.
//
// Scripts run under the exclusive keyspace lock (EVAL_RO too: the Lua state is shared), so a
// script is atomic for every other client. The commands a script runs reach replicas and the
// AOF as themselves (Redis 7.0 replicates effects), wrapped in MULTI/EXEC when there are
// several; the script command itself is never propagated.
#include "server/command_context.h"
#include "server/command_meta.h"
#include "server/commands/families.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/script_flags.h"
#include "server/scripting/script_run.h"
#include "server/scripting/scripting.h"
#include "server/server.h"
#include "storage/glob.h"
#include "storage/numbers.h"

namespace rd {
namespace {

constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// EVAL/FCALL's numkeys: false (replied) when invalid.
bool parse_numkeys(CommandContext& ctx, std::string_view not_integer, size_t* numkeys) {
  int64_t value = 0;
  if (!string_to_int64(ctx.arg(2), &value)) {
    ctx.reply.error(not_integer);
    return false;
  }
  if (value > static_cast<int64_t>(ctx.argc()) - 3) {
    ctx.reply.error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (value < 0) {
    ctx.reply.error("ERR Number of keys can't be negative");
    return false;
  }
  *numkeys = static_cast<size_t>(value);
  return true;
}

ScriptRun make_run(CommandContext& ctx, std::string name, bool eval_mode) {
  Scripting& scripting = *ctx.server.scripting;
  return ScriptRun{ctx.server, scripting, ctx, scripting.script_client(), std::move(name), eval_mode};
}

// A script's commands reach replicas as one transaction when there are several (inside EXEC,
// the EXEC's own MULTI/EXEC does that).
void wrap_propagation(CommandContext& ctx) {
  std::vector<Propagation>& propagated = ctx.propagations();
  if (ctx.nested() || propagated.size() < 2) return;
  propagated.insert(propagated.begin(), Propagation{propagated.front().db, {"MULTI"}});
  propagated.push_back(Propagation{propagated.back().db, {"EXEC"}});
}

// ---- EVAL ----

void eval_generic(CommandContext& ctx, bool by_sha, bool ro) {
  Server& server = ctx.server;
  // Fed here (EVAL is skip_monitor) so that the script's commands follow it in MONITOR.
  if (server.monitors.active()) server.monitors.feed(ctx.client, ctx.db_index(), ctx.spec, ctx.argv.data(), ctx.argc());
  if (by_sha && ctx.arg(1).size() != 40) return ctx.reply.error(kNoScript);
  size_t numkeys = 0;
  if (!parse_numkeys(ctx, kNotIntegerError, &numkeys)) return;
  EvalEngine& engine = server.scripting->eval();
  std::string sha;
  if (by_sha) {
    sha = lowercase(ctx.arg(1));
    if (engine.find(sha) == nullptr) return ctx.reply.error(kNoScript);
  } else {
    std::string error;
    if (!engine.load(ctx.arg(1), &sha, &error)) return ctx.reply.error(error);
  }
  ScriptRun run = make_run(ctx, sha, true);
  if (!server.scripting->may_run(ctx, engine.find(sha)->flags, ro, &run)) return;
  std::vector<std::string_view> keys(ctx.argv.begin() + 3, ctx.argv.begin() + 3 + static_cast<std::ptrdiff_t>(numkeys));
  std::vector<std::string_view> args(ctx.argv.begin() + 3 + static_cast<std::ptrdiff_t>(numkeys), ctx.argv.end());
  {
    Scripting::RunScope scope(*server.scripting, run);
    engine.run(run, sha, keys, args);
  }
  wrap_propagation(ctx);
}

void cmd_eval(CommandContext& ctx) { eval_generic(ctx, false, false); }
void cmd_eval_ro(CommandContext& ctx) { eval_generic(ctx, false, true); }
void cmd_evalsha(CommandContext& ctx) { eval_generic(ctx, true, false); }
void cmd_evalsha_ro(CommandContext& ctx) { eval_generic(ctx, true, true); }

// ---- SCRIPT ----

void cmd_script_load(CommandContext& ctx) {
  std::string sha;
  std::string error;
  if (!ctx.server.scripting->eval().load(ctx.arg(2), &sha, &error)) return ctx.reply.error(error);
  ctx.reply.bulk(sha);
}

void cmd_script_exists(CommandContext& ctx) {
  const EvalEngine& engine = ctx.server.scripting->eval();
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) ctx.reply.integer(engine.find(lowercase(ctx.arg(i))) != nullptr ? 1 : 0);
}

// ASYNC|SYNC: both flush at once (there is no lazy-free thread); only the syntax matters.
bool valid_flush_mode(CommandContext& ctx) {
  if (ctx.argc() == 2) return true;
  return ctx.argc() == 3 && (equals_ignore_case(ctx.arg(2), "sync") || equals_ignore_case(ctx.arg(2), "async"));
}

void cmd_script_flush(CommandContext& ctx) {
  if (!valid_flush_mode(ctx)) return ctx.reply.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  ctx.server.scripting->eval().flush();
  ctx.reply.ok();
}

void reply_kill(CommandContext& ctx, bool eval) {
  const std::string error = ctx.server.scripting->kill(eval);
  if (!error.empty()) return ctx.reply.error(error);
  ctx.reply.ok();
}

void cmd_script_kill(CommandContext& ctx) { reply_kill(ctx, true); }

// The Lua debugger (LDB) is not implemented: only turning it off is accepted.
void cmd_script_debug(CommandContext& ctx) {
  if (equals_ignore_case(ctx.arg(2), "no")) return ctx.reply.ok();
  if (equals_ignore_case(ctx.arg(2), "yes") || equals_ignore_case(ctx.arg(2), "sync")) {
    return ctx.reply.error("ERR SCRIPT DEBUG is not supported by this server");
  }
  ctx.reply.error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

void cmd_script_help(CommandContext& ctx) { ctx.reply.raw(help_reply("script")); }

// ---- FCALL ----

void fcall_generic(CommandContext& ctx, bool ro) {
  Server& server = ctx.server;
  // Fed here (FCALL is skip_monitor) so that the function's commands follow it in MONITOR.
  if (server.monitors.active()) server.monitors.feed(ctx.client, ctx.db_index(), ctx.spec, ctx.argv.data(), ctx.argc());
  FunctionEngine& engine = server.scripting->functions();
  const ScriptFunction* function = engine.find_function(ctx.arg(1));
  if (function == nullptr) return ctx.reply.error("ERR Function not found");
  size_t numkeys = 0;
  if (!parse_numkeys(ctx, "ERR Bad number of keys provided", &numkeys)) return;
  ScriptRun run = make_run(ctx, function->name, false);
  if (!server.scripting->may_run(ctx, function->flags, ro, &run)) return;
  std::vector<std::string_view> keys(ctx.argv.begin() + 3, ctx.argv.begin() + 3 + static_cast<std::ptrdiff_t>(numkeys));
  std::vector<std::string_view> args(ctx.argv.begin() + 3 + static_cast<std::ptrdiff_t>(numkeys), ctx.argv.end());
  {
    Scripting::RunScope scope(*server.scripting, run);
    engine.run(run, *function, keys, args);
  }
  wrap_propagation(ctx);
}

void cmd_fcall(CommandContext& ctx) { fcall_generic(ctx, false); }
void cmd_fcall_ro(CommandContext& ctx) { fcall_generic(ctx, true); }

// ---- FUNCTION ----

// FUNCTION LOAD [REPLACE] <code>: replicated as itself (it counts as a change).
void cmd_function_load(CommandContext& ctx) {
  bool replace = false;
  size_t i = 2;
  for (; i + 1 < ctx.argc(); i++) {
    if (!equals_ignore_case(ctx.arg(i), "replace")) {
      return ctx.reply.error("ERR Unknown option given: " + std::string(ctx.arg(i)));
    }
    replace = true;
  }
  std::string library;
  std::string error;
  if (!ctx.server.scripting->functions().load(ctx.arg(i), replace, &library, &error)) return ctx.reply.error(error);
  ctx.server.scripting->update_function_counts();
  ctx.add_dirty(1);
  ctx.reply.bulk(library);
}

void cmd_function_delete(CommandContext& ctx) {
  if (!ctx.server.scripting->functions().remove(ctx.arg(2))) return ctx.reply.error("ERR Library not found");
  ctx.server.scripting->update_function_counts();
  ctx.add_dirty(1);
  ctx.reply.ok();
}

void cmd_function_flush(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    return ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(ctx.arg(1)) +
                           "'. Try FUNCTION HELP.");
  }
  if (!valid_flush_mode(ctx)) return ctx.reply.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  ctx.server.scripting->functions().flush();
  ctx.server.scripting->update_function_counts();
  ctx.add_dirty(1);
  ctx.reply.ok();
}

void reply_function(CommandContext& ctx, const ScriptFunction& function) {
  Reply& reply = ctx.reply;
  reply.map(3);
  reply.bulk("name");
  reply.bulk(function.name);
  reply.bulk("description");
  function.description ? reply.bulk(*function.description) : reply.null();
  reply.bulk("flags");
  size_t count = 0;
  for (const ScriptFlagName& flag : kScriptFlagNames) count += (function.flags & flag.flag) != 0;
  reply.set(count);
  for (const ScriptFlagName& flag : kScriptFlagNames) {
    if ((function.flags & flag.flag) != 0) reply.simple(flag.name);
  }
}

void reply_library(CommandContext& ctx, const FunctionLibrary& library, bool with_code) {
  Reply& reply = ctx.reply;
  reply.map(with_code ? 4 : 3);
  reply.bulk("library_name");
  reply.bulk(library.name);
  reply.bulk("engine");
  reply.bulk("LUA");
  reply.bulk("functions");
  reply.array(library.functions.size());
  for (const auto& [name, function] : library.functions) reply_function(ctx, function);
  if (with_code) {
    reply.bulk("library_code");
    reply.bulk(library.code);
  }
}

// FUNCTION LIST [WITHCODE] [LIBRARYNAME <pattern>]
void cmd_function_list(CommandContext& ctx) {
  bool with_code = false;
  bool has_pattern = false;
  std::string_view pattern;
  for (size_t i = 2; i < ctx.argc(); i++) {
    if (!with_code && equals_ignore_case(ctx.arg(i), "withcode")) {
      with_code = true;
    } else if (!has_pattern && equals_ignore_case(ctx.arg(i), "libraryname")) {
      if (i + 1 >= ctx.argc()) return ctx.reply.error("ERR library name argument was not given");
      has_pattern = true;
      pattern = ctx.arg(++i);
    } else {
      return ctx.reply.error("ERR Unknown argument " + std::string(ctx.arg(i)));
    }
  }
  const size_t position = ctx.reply.begin_deferred();
  size_t count = 0;
  for (const auto& [name, library] : ctx.server.scripting->functions().libraries()) {
    if (has_pattern && !glob_match(pattern, name, true)) continue;
    reply_library(ctx, library, with_code);
    count++;
  }
  ctx.reply.end_deferred_array(position, count);
}

// Answers without the keyspace lock (a busy script holds it): from Scripting's own state.
void cmd_function_stats(CommandContext& ctx) {
  Scripting& scripting = *ctx.server.scripting;
  const RunningScript running = scripting.running();
  if (running.running && running.eval) return ctx.reply.error(scripting.busy_error());
  Reply& reply = ctx.reply;
  reply.map(2);
  reply.bulk("running_script");
  if (!running.running) {
    reply.null();
  } else {
    reply.map(3);
    reply.bulk("name");
    reply.bulk(running.name);
    reply.bulk("command");
    reply.array(running.command.size());
    for (const std::string& arg : running.command) reply.bulk(arg);
    reply.bulk("duration_ms");
    reply.integer(running.duration_ms);
  }
  reply.bulk("engines");
  reply.map(1);
  reply.bulk("LUA");
  reply.map(2);
  reply.bulk("libraries_count");
  reply.integer(static_cast<int64_t>(scripting.library_count()));
  reply.bulk("functions_count");
  reply.integer(static_cast<int64_t>(scripting.function_count()));
}

void cmd_function_dump(CommandContext& ctx) { ctx.reply.bulk(dump_functions(ctx.server.scripting->functions())); }

// FUNCTION RESTORE <payload> [FLUSH|APPEND|REPLACE]: replicated as itself.
void cmd_function_restore(CommandContext& ctx) {
  if (ctx.argc() > 4) {
    return ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(ctx.arg(1)) +
                           "'. Try FUNCTION HELP.");
  }
  RestorePolicy policy = RestorePolicy::kAppend;
  if (ctx.argc() == 4) {
    if (equals_ignore_case(ctx.arg(3), "flush")) {
      policy = RestorePolicy::kFlush;
    } else if (equals_ignore_case(ctx.arg(3), "replace")) {
      policy = RestorePolicy::kReplace;
    } else if (!equals_ignore_case(ctx.arg(3), "append")) {
      return ctx.reply.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    }
  }
  std::string error;
  const bool restored = restore_functions(ctx.server.scripting->functions(), ctx.arg(2), policy, &error);
  ctx.server.scripting->update_function_counts();
  if (!restored) return ctx.reply.error(error);
  ctx.add_dirty(1);
  ctx.reply.ok();
}

void cmd_function_kill(CommandContext& ctx) { reply_kill(ctx, false); }
void cmd_function_help(CommandContext& ctx) { ctx.reply.raw(help_reply("function")); }

}  // namespace

void register_scripting_commands(CommandTable& table) {
  // The Lua state is shared: even read-only scripts and SCRIPT LOAD take the lock exclusively.
  table.add("eval", cmd_eval, LockMode::kExclusive);
  table.add("eval_ro", cmd_eval_ro, LockMode::kExclusive);
  table.add("evalsha", cmd_evalsha, LockMode::kExclusive);
  table.add("evalsha_ro", cmd_evalsha_ro, LockMode::kExclusive);
  table.add("fcall", cmd_fcall, LockMode::kExclusive);
  table.add("fcall_ro", cmd_fcall_ro, LockMode::kExclusive);
  table.add("script|load", cmd_script_load, LockMode::kExclusive);
  table.add("script|exists", cmd_script_exists, LockMode::kExclusive);
  table.add("script|flush", cmd_script_flush, LockMode::kExclusive);
  table.add("script|debug", cmd_script_debug);
  table.add("script|help", cmd_script_help);
  // KILL and STATS must answer while a long script holds the lock.
  table.add("script|kill", cmd_script_kill, LockMode::kNone);
  table.add("function|kill", cmd_function_kill, LockMode::kNone);
  table.add("function|stats", cmd_function_stats, LockMode::kNone);
  table.add("function|load", cmd_function_load, LockMode::kExclusive);
  table.add("function|delete", cmd_function_delete, LockMode::kExclusive);
  table.add("function|flush", cmd_function_flush, LockMode::kExclusive);
  table.add("function|list", cmd_function_list, LockMode::kExclusive);
  table.add("function|dump", cmd_function_dump, LockMode::kExclusive);
  table.add("function|restore", cmd_function_restore, LockMode::kExclusive);
  table.add("function|help", cmd_function_help);
}

}  // namespace rd
