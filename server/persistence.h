// Persistence: RDB snapshots (SAVE, BGSAVE, save points, load at startup, save at shutdown)
// and the append-only file (server/aof.h). Implemented in persistence.cc (state, cron,
// shutdown, INFO), persistence_rdb.cc (snapshots and the background child) and the aof*.cc
// files. docs/persistence.md describes formats and guarantees.
//
// Thread-safety: every method may be called from any thread unless noted. The persistence
// state (child process, statuses, counters) is guarded by the keyspace lock: changed under
// the exclusive lock, read under either; what other paths read without the lock
// (writes_denied, the save time) is atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/persistence_files.h"

namespace rd {

// The reply to writes while stop-writes-on-bgsave-error holds them back.
inline constexpr std::string_view kMisconfError =
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report "
    "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
    "the Redis logs for details about the RDB error.";

class Server;
class Client;
class CommandContext;
class Aof;

class Persistence {
 public:
  explicit Persistence(Server& server);
  ~Persistence();
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // Loads the AOF or RDB at startup (before clients connect). Returns "" or the reason the
  // server must refuse to start.
  std::string load_at_startup();
  // Called every 100 ms by the cron thread: save points, background children, AOF fsync.
  void cron();
  // SHUTDOWN: remembers SAVE/NOSAVE, and saves now when asked to so a failure can be
  // reported (false: abort the shutdown). The final save happens in finish_shutdown.
  bool prepare_shutdown(bool force_save, bool force_nosave);
  // After every client thread has stopped (SHUTDOWN or SIGTERM/SIGINT): kills a child,
  // fsyncs the AOF and saves the RDB if configured and not already saved. False on failure.
  bool finish_shutdown();
  // DEBUG RELOAD. REQUIRES: keyspace lock exclusive. Returns "" or the error reply text.
  std::string debug_reload(CommandContext& ctx);
  // DEBUG LOADAOF: flushes the AOF, empties the keyspace and loads it back from the AOF files.
  // Like Redis, exits the process when they cannot be loaded. REQUIRES: keyspace lock exclusive.
  void debug_loadaof(CommandContext& ctx);
  // After CONFIG SET of `name` (appendonly, save, dir, ...). Returns "" or an error text.
  std::string config_changed(std::string_view name);
  // MISCONF: writes are refused after a failed background save (stop-writes-on-bgsave-error).
  bool writes_denied() const;
  // `appendfsync always`: called before a client's replies are sent, so an acknowledged
  // write is on disk first. Cheap when there is nothing to sync.
  void sync_before_reply(Client& client);
  // INFO persistence. REQUIRES: keyspace lock held (shared is enough).
  void append_info(std::string* out);

  // ---- commands (server/commands/persistence_cmds.cc). REQUIRE: keyspace lock exclusive ----
  // SAVE: "" or the error.
  std::string save();
  // BGSAVE [SCHEDULE]: the reply, "+..." or "-...".
  std::string bgsave(bool schedule);
  // BGREWRITEAOF: the reply, "+..." or "-...".
  std::string bgrewriteaof();
  // FLUSHALL: stops a running BGSAVE and, with save points, saves the empty dataset.
  void after_flushall();
  int64_t last_save_time() const { return last_save_s_.load(std::memory_order_relaxed); }

 private:
  enum class ChildKind { kNone, kRdb, kAof };
  enum class ShutdownSave { kDefault, kSave, kNoSave };

  // persistence_rdb.cc
  RdbSaveOptions save_options(bool aof_base) const;
  std::string save_locked();
  bool start_bgsave();
  bool start_aof_rewrite();
  void child_done(bool ok, const std::string& message);
  void kill_child();
  void check_save_points();
  // auto-aof-rewrite-percentage / -min-size: rewrite when the AOF has grown enough.
  void check_aof_growth();

  void read_save_params();
  // CONFIG SET appendonly, applied. REQUIRES: keyspace lock exclusive.
  std::string apply_appendonly();

  Server& server_;
  std::unique_ptr<Aof> aof_;

  // Guarded by the keyspace lock (exclusive to change).
  ChildProcess child_;
  ChildKind child_kind_ = ChildKind::kNone;
  int64_t child_started_ms_ = 0;
  int64_t dirty_at_fork_ = 0;
  std::string aof_temp_base_;
  bool bgsave_scheduled_ = false;
  bool aof_rewrite_scheduled_ = false;
  int64_t last_bgsave_try_s_ = 0;
  int64_t last_bgsave_duration_s_ = -1;
  int64_t last_aof_rewrite_duration_s_ = -1;
  int64_t rdb_saves_ = 0;
  int64_t aof_rewrites_ = 0;
  int64_t aof_rewrite_failures_ = 0;
  bool last_aof_rewrite_ok_ = true;
  int64_t last_load_keys_loaded_ = 0;
  int64_t last_load_keys_expired_ = 0;
  std::mutex save_params_mutex_;
  std::vector<std::pair<int64_t, int64_t>> save_params_;  // (seconds, changes); Guarded by save_params_mutex_
  bool saved_for_shutdown_ = false;
  int64_t aof_retry_after_ms_ = 0;  // a failed rewrite is retried after a pause

  std::atomic<int64_t> last_save_s_{0};
  std::atomic<bool> last_bgsave_ok_{true};
  std::atomic<bool> save_points_configured_{false};
  std::atomic<bool> appendonly_change_pending_{false};
  std::atomic<bool> stop_writes_on_error_{true};
  std::atomic<ShutdownSave> shutdown_save_{ShutdownSave::kDefault};
};

}  // namespace rd
