// Persistence: startup loading, configuration, cron, shutdown, DEBUG RELOAD and INFO. The
// snapshot and child-process work is in persistence_rdb.cc; the AOF in aof*.cc.
#include "server/persistence.h"

#include <cinttypes>
#include <cstdlib>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "server/aof.h"
#include "server/command_context.h"
#include "server/info.h"
#include "server/server.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/scripting.h"

namespace rd {

Persistence::Persistence(Server& server) : server_(server), aof_(std::make_unique<Aof>(server)) {
  last_save_s_ = unix_time_ms() / 1000;
  read_save_params();
  stop_writes_on_error_ = server_.config.get_bool("stop-writes-on-bgsave-error");
}

Persistence::~Persistence() = default;

void Persistence::read_save_params() {
  std::istringstream in(server_.config.get("save"));
  std::vector<std::pair<int64_t, int64_t>> params;
  int64_t seconds = 0, changes = 0;
  while (in >> seconds >> changes) params.emplace_back(seconds, changes);
  {
    std::lock_guard<std::mutex> lock(save_params_mutex_);
    save_params_ = params;
  }
  save_points_configured_ = !params.empty();
}

// ---- startup ----

std::string Persistence::load_at_startup() {
  if (server_.config.get_bool("appendonly")) {
    if (std::string error = aof_->load(); !error.empty()) return error;
    std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
    return aof_->start_at_startup();
  }
  const std::string path = join_path(server_.config.get("dir"), server_.config.get("dbfilename"));
  const int64_t started = unix_time_ms();
  RdbLoadResult result;
  std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
  LoadStatus status = load_rdb_file(path, server_.keyspace, server_.encoding_limits(), started,
                                    !server_.is_replica(), &result);
  if (status == LoadStatus::kMissing) return "";
  if (status == LoadStatus::kFailed) {
    return "Fatal error loading the DB " + path + ": " + result.error + ". Exiting.";
  }
  std::string function_error;
  if (!load_rdb_functions(server_.scripting->functions(), result.function_libraries, true, false, &function_error)) {
    return "Fatal error loading the DB " + path + ": " + function_error + ". Exiting.";
  }
  last_load_keys_loaded_ = result.keys_loaded;
  last_load_keys_expired_ = result.keys_expired;
  server_.replication->restore_from_rdb(result.replication);
  char text[128];
  std::snprintf(text, sizeof(text), "DB loaded from disk: %.3f seconds", static_cast<double>(unix_time_ms() - started) / 1000);
  server_.log('*', text);
  server_.log('*', "Done loading RDB, keys loaded: " + std::to_string(result.keys_loaded) +
                       ", keys expired: " + std::to_string(result.keys_expired) + ".");
  return "";
}

// ---- cron ----

void Persistence::cron() {
  aof_->cron();
  std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
  if (appendonly_change_pending_) {
    if (std::string error = apply_appendonly(); !error.empty()) server_.log('#', error);
  }
  bool ok = false;
  std::string message;
  if (child_.running() && child_.poll_exit(&ok, &message)) child_done(ok, message);
  if (child_.running()) return;
  const int64_t now_ms = unix_time_ms();
  if (aof_rewrite_scheduled_ && now_ms >= aof_retry_after_ms_) {
    aof_rewrite_scheduled_ = false;
    start_aof_rewrite();
  } else if (bgsave_scheduled_) {
    bgsave_scheduled_ = false;
    start_bgsave();
  } else {
    check_save_points();
    if (!child_.running()) check_aof_growth();
  }
}

void Persistence::check_aof_growth() {
  if (!aof_->enabled() || aof_->waiting_for_rewrite() || unix_time_ms() < aof_retry_after_ms_) return;
  const int64_t percentage = server_.config.get_int("auto-aof-rewrite-percentage");
  if (percentage <= 0) return;
  const int64_t current = aof_->current_size();
  if (current < server_.config.get_int("auto-aof-rewrite-min-size")) return;
  const int64_t base = std::max<int64_t>(1, aof_->base_size());
  const int64_t growth = (current - base) * 100 / base;
  if (growth < percentage) return;
  server_.log('*', "Starting automatic rewriting of AOF on " + std::to_string(growth) + "% growth");
  if (!start_aof_rewrite()) aof_retry_after_ms_ = unix_time_ms() + 5000;
}

void Persistence::check_save_points() {
  if (!save_points_configured_) return;
  const int64_t now_s = unix_time_ms() / 1000;
  const int64_t dirty = server_.keyspace.dirty;
  std::vector<std::pair<int64_t, int64_t>> params;
  {
    std::lock_guard<std::mutex> lock(save_params_mutex_);
    params = save_params_;
  }
  for (const auto& [seconds, changes] : params) {
    // After a failed save, retry only every 5 seconds (as Redis's CONFIG_BGSAVE_RETRY_DELAY).
    if (dirty >= changes && now_s - last_save_s_ > seconds && (last_bgsave_ok_ || now_s - last_bgsave_try_s_ > 5)) {
      server_.log('*', std::to_string(changes) + " changes in " + std::to_string(seconds) + " seconds. Saving...");
      start_bgsave();
      return;
    }
  }
}

// ---- shutdown ----

bool Persistence::prepare_shutdown(bool force_save, bool force_nosave) {
  shutdown_save_ = force_nosave ? ShutdownSave::kNoSave : force_save ? ShutdownSave::kSave : ShutdownSave::kDefault;
  if (force_nosave || (!force_save && !save_points_configured_)) return true;
  std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
  kill_child();
  server_.log('*', "Saving the final RDB snapshot before exiting.");
  if (!save_locked().empty()) {
    server_.log('#', "Error trying to save the DB, can't exit.");
    shutdown_save_ = ShutdownSave::kDefault;
    return false;
  }
  saved_for_shutdown_ = true;
  return true;
}

bool Persistence::finish_shutdown() {
  std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex());
  kill_child();
  if (aof_->enabled()) {
    server_.log('*', "Calling fsync() on the AOF file.");
    aof_->stop();
  }
  const ShutdownSave mode = shutdown_save_.load();
  const bool wanted = mode == ShutdownSave::kSave || (mode == ShutdownSave::kDefault && save_points_configured_);
  // Writes that slipped in after SHUTDOWN's own save (other clients) need one more save.
  if (!wanted || (saved_for_shutdown_ && server_.keyspace.dirty == 0)) return true;
  server_.log('*', "Saving the final RDB snapshot before exiting.");
  if (!save_locked().empty()) {
    server_.log('#', "Error trying to save the DB, can't exit.");
    return false;
  }
  return true;
}

// ---- DEBUG RELOAD ----

std::string Persistence::debug_reload(CommandContext& ctx) {
  bool save = true;
  bool flush = true;
  bool merge = false;  // keys already present are replaced by the file's (with NOFLUSH)
  for (size_t i = 2; i < ctx.argc(); i++) {
    if (equals_ignore_case(ctx.arg(i), "nosave")) save = false;
    else if (equals_ignore_case(ctx.arg(i), "noflush")) flush = false;
    else if (equals_ignore_case(ctx.arg(i), "merge")) merge = true;
    else return "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";
  }
  if (save && !save_locked().empty()) return "ERR";  // Redis replies a bare "-ERR" here
  if (flush) {
    server_.all_keys_changed();  // Redis empties the dataset as FLUSHALL does
    for (int i = 0; i < server_.keyspace.db_count(); i++) server_.keyspace.db(i).clear();
  }
  RdbLoadResult result;
  const std::string path = join_path(server_.config.get("dir"), server_.config.get("dbfilename"));
  if (load_rdb_file(path, server_.keyspace, server_.encoding_limits(), ctx.now_ms, !server_.is_replica(), &result,
                    merge) != LoadStatus::kLoaded) {
    server_.log('#', "Error loading the RDB in DEBUG RELOAD: " + result.error);
    return "ERR Error trying to load the RDB dump";
  }
  std::string function_error;
  if (!load_rdb_functions(server_.scripting->functions(), result.function_libraries, flush, merge, &function_error)) {
    server_.log('#', "Error loading the RDB in DEBUG RELOAD: " + function_error);
    return "ERR Error trying to load the RDB dump";
  }
  server_.log('*', "DB reloaded by DEBUG RELOAD");
  return "";
}

void Persistence::debug_loadaof(CommandContext& ctx) {
  server_.watches.touch_existing_in_db(server_.keyspace, -1);
  server_.all_keys_changed();
  for (int i = 0; i < server_.keyspace.db_count(); i++) server_.keyspace.db(i).clear();
  server_.scripting->functions().flush();  // the AOF loads them again, as Redis's emptyData
  std::string error = aof_->debug_load(ctx);
  if (!error.empty()) {
    server_.log('#', error);
    std::_Exit(1);  // as Redis: the dataset is gone and the AOF cannot restore it
  }
  server_.keyspace.dirty = 0;
  server_.log('#', "Append Only File loaded by DEBUG LOADAOF");
}

// ---- configuration ----

std::string Persistence::config_changed(std::string_view name) {
  if (name == "save") read_save_params();
  if (name == "stop-writes-on-bgsave-error") stop_writes_on_error_ = server_.config.get_bool(name);
  if (name == "dbfilename" && server_.config.get("dbfilename").find('/') != std::string::npos) {
    return "dbfilename can't be a path, just a filename";
  }
  if (name == "appendfsync") {
    std::string policy = server_.config.get("appendfsync");
    aof_->set_policy(policy == "always" ? FsyncPolicy::kAlways : policy == "no" ? FsyncPolicy::kNo : FsyncPolicy::kEverySec);
  }
  if (name == "appendonly") {
    // CONFIG SET may run inside EXEC, which already holds the keyspace lock (not recursive):
    // when the lock cannot be had right away, cron applies the change within 100 ms. Either
    // way the rewrite's snapshot is taken later, so no acknowledged write is left out.
    std::unique_lock<std::shared_mutex> lock(server_.keyspace.mutex(), std::defer_lock);
    for (int attempt = 0; attempt < 20 && !lock.try_lock(); attempt++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!lock.owns_lock()) {
      appendonly_change_pending_ = true;
      return "";
    }
    return apply_appendonly();
  }
  return "";
}

std::string Persistence::apply_appendonly() {
  appendonly_change_pending_ = false;
  const bool wanted = server_.config.get_bool("appendonly");
  if (wanted && !aof_->enabled()) {
    if (std::string error = aof_->start_waiting_for_rewrite(); !error.empty()) return error;
    if (child_.running()) {
      if (child_kind_ == ChildKind::kAof) kill_child();
      else aof_rewrite_scheduled_ = true;
    }
    if (!child_.running() && !start_aof_rewrite()) aof_rewrite_scheduled_ = true;
  } else if (!wanted && aof_->enabled()) {
    if (child_kind_ == ChildKind::kAof) kill_child();
    aof_->stop();
  }
  return "";
}

bool Persistence::writes_denied() const {
  return stop_writes_on_error_.load(std::memory_order_relaxed) &&
         save_points_configured_.load(std::memory_order_relaxed) && !last_bgsave_ok_.load(std::memory_order_relaxed);
}

void Persistence::sync_before_reply(Client& client) { aof_->sync_before_reply(client); }

// ---- INFO ----

void Persistence::append_info(std::string* out) {
  const int64_t now_ms = unix_time_ms();
  const bool rdb_child = child_kind_ == ChildKind::kRdb;
  const bool aof_child = child_kind_ == ChildKind::kAof;
  info_field(out, "loading", 0);
  info_field(out, "async_loading", 0);
  info_field(out, "current_cow_peak", 0);
  info_field(out, "current_cow_size", 0);
  info_field(out, "current_cow_size_age", 0);
  info_field(out, "current_fork_perc", "0.00");
  info_field(out, "current_save_keys_processed", 0);
  info_field(out, "current_save_keys_total", 0);
  info_field(out, "rdb_changes_since_last_save", server_.keyspace.dirty);
  info_field(out, "rdb_bgsave_in_progress", rdb_child ? 1 : 0);
  info_field(out, "rdb_last_save_time", last_save_s_.load());
  info_field(out, "rdb_last_bgsave_status", last_bgsave_ok_ ? "ok" : "err");
  info_field(out, "rdb_last_bgsave_time_sec", last_bgsave_duration_s_);
  info_field(out, "rdb_current_bgsave_time_sec", rdb_child ? (now_ms - child_started_ms_) / 1000 : -1);
  info_field(out, "rdb_saves", rdb_saves_);
  info_field(out, "rdb_last_cow_size", 0);
  info_field(out, "rdb_last_load_keys_expired", last_load_keys_expired_);
  info_field(out, "rdb_last_load_keys_loaded", last_load_keys_loaded_);
  info_field(out, "aof_enabled", aof_->enabled() ? 1 : 0);
  info_field(out, "aof_rewrite_in_progress", aof_child ? 1 : 0);
  info_field(out, "aof_rewrite_scheduled", aof_rewrite_scheduled_ ? 1 : 0);
  info_field(out, "aof_last_rewrite_time_sec", last_aof_rewrite_duration_s_);
  info_field(out, "aof_current_rewrite_time_sec", aof_child ? (now_ms - child_started_ms_) / 1000 : -1);
  info_field(out, "aof_last_bgrewrite_status", last_aof_rewrite_ok_ ? "ok" : "err");
  info_field(out, "aof_rewrites", aof_rewrites_);
  info_field(out, "aof_rewrites_consecutive_failures", aof_rewrite_failures_);
  info_field(out, "aof_last_write_status", aof_->last_write_ok() ? "ok" : "err");
  info_field(out, "aof_last_cow_size", 0);
  info_field(out, "module_fork_in_progress", 0);
  info_field(out, "module_fork_last_cow_size", 0);
  if (aof_->enabled()) {
    info_field(out, "aof_current_size", aof_->current_size());
    info_field(out, "aof_base_size", aof_->base_size());
    info_field(out, "aof_pending_rewrite", 0);
    info_field(out, "aof_buffer_length", static_cast<int64_t>(aof_->buffer_length()));
    info_field(out, "aof_pending_bio_fsync", 0);
    info_field(out, "aof_delayed_fsync", 0);
  }
}

}  // namespace rd
