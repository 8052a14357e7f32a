#include "server/scripting/scripting.h"

#include <cctype>

#include "server/client.h"
#include "server/command_context.h"
#include "server/scripting/script_flags.h"
#include "server/scripting/script_run.h"
#include "replication/replication.h"
#include "server/server.h"

namespace rd {
namespace {

constexpr const char* kBusyEval = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
constexpr const char* kBusyFunction =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

LuaHost make_host(Server& server, Rand48& rand) {
  LuaHost host;
  host.server = &server;
  host.rand = &rand;
  return host;
}

}  // namespace

Scripting::Scripting(Server& server)
    : server_(server),
      client_(std::make_unique<Client>(0, UniqueFd(), "lua", "")),
      eval_(make_host(server, rand_)),
      functions_(make_host(server, rand_)) {
  client_->set_flag(kClientScript);
}

Scripting::~Scripting() = default;

uint32_t Scripting::command_flags(const CommandSpec& spec, const std::vector<std::string_view>& argv) const {
  if (argv.size() < 2) return spec.flags;
  uint32_t script_flags = kScriptEvalCompat;
  const std::string_view name = spec.name;
  if (name == "eval" || name == "eval_ro") {
    std::string error;
    if (parse_eval_shebang(argv[1], &script_flags, &error) < 0) return spec.flags;
  } else if (name == "evalsha" || name == "evalsha_ro") {
    if (argv[1].size() != 40) return spec.flags;
    std::string sha(argv[1]);
    for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const EvalEngine::Script* script = eval_.find(sha);
    if (script == nullptr) return spec.flags;
    script_flags = script->flags;
  } else {
    const ScriptFunction* function = functions_.find_function(argv[1]);
    if (function == nullptr) return spec.flags;
    script_flags = function->flags;
  }
  if ((script_flags & kScriptEvalCompat) != 0) return spec.flags;
  uint32_t flags = spec.flags & ~(kCmdStale | kCmdDenyOom | kCmdWrite | kCmdMayReplicate);
  if ((script_flags & (kScriptAllowOom | kScriptNoWrites)) == 0) flags |= kCmdDenyOom;
  if ((script_flags & kScriptNoWrites) == 0) flags |= kCmdWrite;
  if ((script_flags & kScriptAllowStale) != 0) flags |= kCmdStale;
  return flags;
}

bool Scripting::may_run(CommandContext& ctx, uint32_t flags, bool ro_command, ScriptRun* run) {
  // On a stale replica (serve-stale-data no, link down) only scripts flagged allow-stale run:
  // Redis derives EVAL/FCALL's "stale" flag from the script's, so the refusal is the
  // dispatcher's MASTERDOWN.
  if ((flags & kScriptAllowStale) == 0 && server_.is_replica() && !server_.replica_serve_stale_data.load() &&
      !server_.replication->master_link_up()) {
    ctx.reply.error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    return false;
  }
  if ((flags & kScriptEvalCompat) != 0) {
    run->read_only = ro_command;
    return true;
  }
  // A script that may write counts as a write command (Redis derives EVAL/FCALL's flags
  // from the script's): refused on a read-only replica and while writes are denied, with the
  // replies the dispatcher gives write commands.
  if ((flags & kScriptNoWrites) == 0) {
    const bool from_master = ctx.client.has_flag(kClientMaster);
    if (server_.is_replica() && !from_master && server_.config.get_bool("replica-read-only")) {
      ctx.reply.error("READONLY You can't write against a read only replica.");
      return false;
    }
    if (server_.persistence->writes_denied() && !from_master && !server_.is_replica()) {
      ctx.reply.error(kMisconfError);
      return false;
    }
    if (ro_command) {
      ctx.reply.error("ERR Can not execute a script with write flag using *_ro command.");
      return false;
    }
    if (!server_.replication->enough_good_replicas()) {
      ctx.reply.error("NOREPLICAS Not enough good replicas to write.");
      return false;
    }
  }
  run->read_only = ro_command || (flags & kScriptNoWrites) != 0;
  run->allow_oom = (flags & kScriptAllowOom) != 0;
  return true;
}

Scripting::RunScope::RunScope(Scripting& scripting, ScriptRun& run) : scripting_(scripting) {
  scripting.begin_run(run);
}

Scripting::RunScope::~RunScope() { scripting_.end_run(); }

// The script's client starts in the caller's db; a script sent by our master sees keys the
// way the master link does (no expiry of its own).
void Scripting::begin_run(ScriptRun& run) {
  Client& client = *client_;
  client.db.store(run.caller.db_index(), std::memory_order_relaxed);
  if (run.caller.client.has_flag(kClientMaster)) {
    client.set_flag(kClientMaster);
  } else {
    client.clear_flag(kClientMaster);
  }
  const int64_t threshold = server_.config.get_int("busy-reply-threshold");
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = true;
  running_eval_ = run.eval_mode;
  wrote_ = false;
  kill_requested_ = false;
  started_ms_ = unix_time_ms();
  busy_threshold_ms_ = threshold;
  running_name_ = run.name;
  running_command_.assign(run.caller.argv.begin(), run.caller.argv.end());
}

void Scripting::end_run() {
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = false;
  running_command_.clear();
  if (busy_.load(std::memory_order_relaxed)) server_.log('#', "Slow script finished; serving other clients again.");
  busy_.store(false, std::memory_order_release);
}

bool Scripting::mark_write() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (kill_requested_) return false;
  wrote_ = true;
  return true;
}

bool Scripting::interrupted() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!busy_.load(std::memory_order_relaxed) && busy_threshold_ms_ > 0) {
    const int64_t elapsed = unix_time_ms() - started_ms_;
    if (elapsed >= busy_threshold_ms_) {
      server_.log('#', "Slow script detected: still in execution after " + std::to_string(elapsed) +
                           " milliseconds. You can try killing the script using the " +
                           (running_eval_ ? "SCRIPT KILL" : "FUNCTION KILL") + " command.");
      busy_.store(true, std::memory_order_release);
    }
  }
  // SHUTDOWN NOSAVE gets through BUSY; the server can only exit once the script let go.
  return kill_requested_ || server_.shutting_down();
}

std::string Scripting::kill(bool eval) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!running_) return "NOTBUSY No scripts in execution right now.";
  if (wrote_) {
    return "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
           "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
  }
  if (eval && !running_eval_) return kBusyFunction;
  if (!eval && running_eval_) return kBusyEval;
  kill_requested_ = true;
  return "";
}

std::string Scripting::busy_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_eval_ ? kBusyEval : kBusyFunction;
}

RunningScript Scripting::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  RunningScript info;
  info.running = running_;
  if (!running_) return info;
  info.eval = running_eval_;
  info.name = running_name_;
  info.command = running_command_;
  info.duration_ms = unix_time_ms() - started_ms_;
  return info;
}

void Scripting::update_function_counts() {
  library_count_.store(functions_.libraries().size(), std::memory_order_relaxed);
  function_count_.store(functions_.function_count(), std::memory_order_relaxed);
}

}  // namespace rd
