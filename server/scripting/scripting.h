// Scripting: what the server keeps for EVAL and FUNCTION. Owned by the Server (no global
// state): the EVAL engine and its script cache, the function libraries, the client scripts
// run their commands as, the math.random sequence they share, and the script in progress.
//
// Threads: engines, the script client and the random sequence are used under the keyspace
// lock held exclusively (a script is atomic). The "script in progress" fields are also read
// without it, by SCRIPT KILL / FUNCTION KILL / FUNCTION STATS and by the dispatcher's BUSY
// check while a long script holds the lock: they are guarded by mutex_ (busy_ is atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/scripting/eval_engine.h"
#include "server/scripting/function_engine.h"
#include "server/command_table.h"
#include "server/scripting/rand48.h"

namespace rd {

class Client;
class CommandContext;
class Server;
struct ScriptRun;

// FUNCTION STATS' running_script.
struct RunningScript {
  bool running = false;
  bool eval = false;  // an EVAL script (as opposed to a function)
  std::string name;
  std::vector<std::string> command;
  int64_t duration_ms = 0;
};

class Scripting {
 public:
  explicit Scripting(Server& server);
  ~Scripting();
  Scripting(const Scripting&) = delete;
  Scripting& operator=(const Scripting&) = delete;

  EvalEngine& eval() { return eval_; }
  // The flags EVAL/EVALSHA/FCALL (and _RO) run with: the command's own for a script without a
  // "#!lua" line or one not found, else derived from the script's declared flags (write unless
  // no-writes, denyoom unless allow-oom or no-writes, stale with allow-stale, never
  // may-replicate). REQUIRES: keyspace lock exclusive.
  uint32_t command_flags(const CommandSpec& spec, const std::vector<std::string_view>& argv) const;
  FunctionEngine& functions() { return functions_; }
  // The client scripts run their commands as ("lua" in MONITOR); its db is the script's.
  Client& script_client() { return *client_; }

  // Checks a script's declared flags before it runs (Redis's scriptPrepareForRun): replies the
  // error and returns false when it may not run. Sets run.read_only.
  bool may_run(CommandContext& ctx, uint32_t flags, bool ro_command, ScriptRun* run);

  // Marks the start and end of a run (a RAII scope around the engine's call).
  class RunScope {
   public:
    RunScope(Scripting& scripting, ScriptRun& run);
    ~RunScope();
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    Scripting& scripting_;
  };

  // ---- the script in progress ----
  // A write command is about to run: false when the script was killed meanwhile (after its
  // first write a script can no longer be killed).
  bool mark_write();
  // From the Lua count hook: true when SCRIPT/FUNCTION KILL (or a shutdown) stops the script. Marks
  // the script busy once it ran longer than busy-reply-threshold.
  bool interrupted();
  // SCRIPT KILL (eval = true) / FUNCTION KILL: "" when the script will stop, else the error.
  std::string kill(bool eval);
  // A script ran past busy-reply-threshold: other clients get BUSY.
  bool busy() const { return busy_.load(std::memory_order_acquire); }
  std::string busy_error() const;
  RunningScript running() const;

  // ---- function library counts, readable without the keyspace lock (FUNCTION STATS) ----
  // Call after every change of the libraries. REQUIRES: keyspace lock exclusive.
  void update_function_counts();
  size_t library_count() const { return library_count_.load(std::memory_order_relaxed); }
  size_t function_count() const { return function_count_.load(std::memory_order_relaxed); }

 private:
  void begin_run(ScriptRun& run);
  void end_run();

  Server& server_;
  Rand48 rand_;
  std::unique_ptr<Client> client_;
  EvalEngine eval_;
  FunctionEngine functions_;

  mutable std::mutex mutex_;
  bool running_ = false;         // Guarded by mutex_
  bool running_eval_ = true;     // Guarded by mutex_
  bool wrote_ = false;           // Guarded by mutex_
  bool kill_requested_ = false;  // Guarded by mutex_
  int64_t started_ms_ = 0;       // Guarded by mutex_
  int64_t busy_threshold_ms_ = 0;  // Guarded by mutex_
  std::string running_name_;     // Guarded by mutex_
  std::vector<std::string> running_command_;  // Guarded by mutex_
  std::atomic<bool> busy_{false};
  std::atomic<size_t> library_count_{0};
  std::atomic<size_t> function_count_{0};
};

}  // namespace rd
