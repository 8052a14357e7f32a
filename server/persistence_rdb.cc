// Snapshots: SAVE, BGSAVE, the AOF rewrite child, FLUSHALL's save, and what happens when a
// child finishes. Every function here runs under the exclusive keyspace lock, so a fork sees
// a consistent dataset and the child state has a single writer.
#include <unistd.h>

#include <cstdio>

#include "server/aof.h"
#include "server/persistence.h"
#include "server/server.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/scripting.h"

namespace rd {

RdbSaveOptions Persistence::save_options(bool aof_base) const {
  RdbSaveOptions options;
  options.now_ms = unix_time_ms();
  options.compress = server_.config.get_bool("rdbcompression");
  options.checksum = server_.config.get_bool("rdbchecksum");
  options.used_memory = server_.used_memory();
  options.aof_base = aof_base;
  // Replication ID and offset: a restarted replica continues with a partial resync.
  if (!aof_base) options.replication = server_.replication->rdb_info();
  // An AOF base must keep keys that a replica or a later load decides about, like Redis's.
  options.skip_expired = !aof_base;
  options.key_save_delay = server_.config.get_int("rdb-key-save-delay");
  options.function_libraries = function_library_codes(server_.scripting->functions());
  return options;
}

std::string Persistence::save_locked() {
  const std::string dir = server_.config.get("dir");
  std::string error = save_rdb_file(dir, server_.config.get("dbfilename"), server_.keyspace, save_options(false));
  rdb_saves_++;
  if (!error.empty()) {
    server_.log('#', error);
    return error;
  }
  server_.log('*', "DB saved on disk");
  server_.keyspace.dirty = 0;
  last_save_s_ = unix_time_ms() / 1000;
  last_bgsave_ok_ = true;
  return "";
}

std::string Persistence::save() {
  if (child_kind_ == ChildKind::kRdb) return "ERR Background save already in progress";
  return save_locked().empty() ? "" : "ERR";
}

bool Persistence::start_bgsave() {
  const std::string dir = server_.config.get("dir");
  const std::string filename = server_.config.get("dbfilename");
  const RdbSaveOptions options = save_options(false);
  const Keyspace& keyspace = server_.keyspace;
  dirty_at_fork_ = server_.keyspace.dirty;
  last_bgsave_try_s_ = unix_time_ms() / 1000;
  rdb_saves_++;
  if (!child_.start([&] { return save_rdb_file(dir, filename, keyspace, options); })) {
    last_bgsave_ok_ = false;
    server_.log('#', "Can't save in background: fork failed");
    return false;
  }
  child_kind_ = ChildKind::kRdb;
  child_started_ms_ = unix_time_ms();
  server_.log('*', "Background saving started by pid " + std::to_string(child_.pid()));
  return true;
}

std::string Persistence::bgsave(bool schedule) {
  if (child_kind_ == ChildKind::kRdb) return "-ERR Background save already in progress";
  if (child_.running()) {
    if (!schedule) {
      return "-ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to "
             "schedule a BGSAVE whenever possible.";
    }
    bgsave_scheduled_ = true;
    return "+Background saving scheduled";
  }
  return start_bgsave() ? "+Background saving started" : "-ERR";
}

bool Persistence::start_aof_rewrite() {
  std::string temp_base;
  if (std::string error = aof_->prepare_rewrite(&temp_base); !error.empty()) {
    server_.log('#', "Can't rewrite the append only file: " + error);
    return false;
  }
  const RdbSaveOptions options = save_options(true);
  const Keyspace& keyspace = server_.keyspace;
  auto work = [&] {
    return write_file_atomically(temp_base + ".part", temp_base,
                                 [&](RdbSink& sink) { return rdb_save(keyspace, options, sink); });
  };
  if (!child_.start(work)) {
    server_.log('#', "Can't rewrite append only file in background: fork failed");
    return false;
  }
  aof_temp_base_ = temp_base;
  child_kind_ = ChildKind::kAof;
  child_started_ms_ = unix_time_ms();
  server_.log('*', "Background append only file rewriting started by pid " + std::to_string(child_.pid()));
  return true;
}

std::string Persistence::bgrewriteaof() {
  if (child_kind_ == ChildKind::kAof) return "-ERR Background append only file rewriting already in progress";
  if (child_.running()) {
    aof_rewrite_scheduled_ = true;
    return "+Background append only file rewriting scheduled";
  }
  if (!start_aof_rewrite()) {
    return "-ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";
  }
  return "+Background append only file rewriting started";
}

void Persistence::child_done(bool ok, const std::string& message) {
  const int64_t now_ms = unix_time_ms();
  const int64_t seconds = (now_ms - child_started_ms_) / 1000;
  const ChildKind kind = child_kind_;
  child_kind_ = ChildKind::kNone;
  if (kind == ChildKind::kRdb) {
    last_bgsave_duration_s_ = seconds;
    last_bgsave_ok_ = ok;
    if (!ok) {
      server_.log('#', "Background saving error: " + message);
      return;
    }
    server_.log('*', "Background saving terminated with success");
    server_.keyspace.dirty = std::max<int64_t>(0, server_.keyspace.dirty - dirty_at_fork_);
    last_save_s_ = now_ms / 1000;
    return;
  }
  last_aof_rewrite_duration_s_ = seconds;
  std::string error = aof_->finish_rewrite(ok, aof_temp_base_);
  if (ok && error.empty()) {
    server_.log('*', "Background AOF rewrite finished successfully");
    last_aof_rewrite_ok_ = true;
    aof_rewrite_failures_ = 0;
    aof_rewrites_++;
    return;
  }
  server_.log('#', "Background AOF rewrite failed: " + (message.empty() ? error : message));
  last_aof_rewrite_ok_ = false;
  aof_rewrite_failures_++;
  aof_retry_after_ms_ = now_ms + 5000;  // no fork storm when the disk is full
  if (aof_->waiting_for_rewrite()) {  // appendonly was just turned on: keep trying
    aof_rewrite_scheduled_ = true;
  }
}

void Persistence::kill_child() {
  if (!child_.running()) return;
  const pid_t pid = child_.pid();
  server_.log('#', child_kind_ == ChildKind::kRdb ? "There is a child saving an .rdb. Killing it!"
                                                  : "There is a child rewriting the AOF. Killing it!");
  child_.kill_and_reap();
  if (child_kind_ == ChildKind::kRdb) {
    ::unlink(join_path(server_.config.get("dir"), "temp-" + std::to_string(pid) + ".rdb").c_str());
  } else {
    ::unlink(aof_temp_base_.c_str());
    ::unlink((aof_temp_base_ + ".part").c_str());
    aof_->finish_rewrite(false, aof_temp_base_);
  }
  child_kind_ = ChildKind::kNone;
}

void Persistence::after_flushall() {
  if (child_kind_ == ChildKind::kRdb) kill_child();
  if (!save_points_configured_) return;
  // Saved, but FLUSHALL itself still counts as a change (it must reach the AOF and replicas).
  const int64_t dirty = server_.keyspace.dirty;
  save_locked();
  server_.keyspace.dirty = dirty;
}

}  // namespace rd
