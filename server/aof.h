// The append-only file, in Redis 7's multi-part layout: inside `appenddirname`, a manifest
// (`<appendfilename>.manifest`) names one base file (an RDB image, `.base.rdb`, or commands,
// `.base.aof`) and the incremental files (`.incr.aof`) replayed after it, in order.
//
// Writing: Aof is a WriteConsumer. Every propagated write reaches on_command() under the
// exclusive keyspace lock, in execution order, and is appended (RESP, with SELECT when the db
// changes) to an in-memory buffer. The buffer goes to the current incr file:
//   always:   before a connection thread sends replies (sync_before_reply), write + fdatasync.
//             Threads queue on io_mutex_; the first does the I/O for everybody (group commit).
//   everysec: same write before replies, fdatasync once a second from cron.
//   no:       same write before replies, the kernel decides when to flush.
// Rewrite (BGREWRITEAOF): under the keyspace lock the current incr is flushed and a new incr
// file is opened (and listed in the manifest); a forked child writes the new base; when it
// succeeds the manifest swaps to (new base, new incr) and the old files are deleted.
//
// Lock order: keyspace -> io_mutex_ -> buffer_mutex_. on_command only takes buffer_mutex_.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "replication/write_stream.h"
#include "server/fd.h"

#include <sys/types.h>

namespace rd {

class Server;
class Client;
class CommandContext;

enum class FsyncPolicy { kAlways, kEverySec, kNo };

struct AofFileInfo {
  std::string name;
  int64_t seq = 0;
  char type = 'i';  // 'b' base, 'i' incr, 'h' history
};

// The manifest (server/aof_manifest.cc).
struct AofManifest {
  std::optional<AofFileInfo> base;
  std::vector<AofFileInfo> incrs;
  std::vector<AofFileInfo> history;
  int64_t base_seq = 0;  // highest sequence numbers in use
  int64_t incr_seq = 0;

  std::string format() const;
  // Parses manifest text; returns "" or the reason it is invalid.
  static std::string parse(std::string_view text, AofManifest* out);
};

// File names: "<base>.<seq>.base.rdb", "<base>.<seq>.incr.aof", "<base>.manifest".
std::string aof_base_name(const std::string& filename, int64_t seq);
std::string aof_incr_name(const std::string& filename, int64_t seq);
std::string aof_manifest_name(const std::string& filename);

class Aof : public WriteConsumer {
 public:
  explicit Aof(Server& server);
  ~Aof() override;

  // ---- startup (server/aof_load.cc) ----
  // Replays the files the manifest names into the keyspace. Returns "" or why the server
  // must not start. REQUIRES: no keyspace lock held (commands run through the dispatcher).
  std::string load();
  // DEBUG LOADAOF: writes and fsyncs what is buffered, then replays the files the manifest on
  // disk names into the keyspace (which the caller emptied), running each command nested
  // under the lock the caller holds; nothing is propagated. Returns "" or why it failed.
  // REQUIRES: keyspace lock exclusive.
  std::string debug_load(CommandContext& ctx);

  // ---- lifecycle ----
  // After loading at startup: creates the directory, a base and an incr file if there are
  // none, opens the last incr for appending and starts consuming the write stream.
  // REQUIRES: keyspace lock exclusive. Returns "" or an error.
  std::string start_at_startup();
  // CONFIG SET appendonly yes: starts consuming into a temp incr file; the caller then forks
  // the rewrite that produces the base. REQUIRES: keyspace lock exclusive.
  std::string start_waiting_for_rewrite();
  // CONFIG SET appendonly no / shutdown: writes and fsyncs what is buffered, stops consuming.
  // REQUIRES: keyspace lock exclusive.
  void stop();
  bool enabled() const { return state_.load(std::memory_order_acquire) != State::kOff; }
  bool waiting_for_rewrite() const { return state_.load(std::memory_order_acquire) == State::kWaitRewrite; }

  // ---- rewrite ----
  // Before forking the rewrite child: flushes, and (when on) opens the next incr file.
  // Sets *temp_base, the path the child writes the new base to. Returns "" or an error.
  // REQUIRES: keyspace lock exclusive.
  std::string prepare_rewrite(std::string* temp_base);
  // After the child exited. REQUIRES: keyspace lock exclusive. Returns "" or an error.
  std::string finish_rewrite(bool child_ok, const std::string& temp_base);

  // ---- writing ----
  void on_command(int db, const std::string_view* args, size_t count) override;
  bool wants_replication_only() const override { return false; }  // PUBLISH is not logged
  void sync_before_reply(Client& client);
  // Cron: writes the buffer, fsyncs once a second under everysec.
  void cron();
  // Everything buffered written and fsynced (shutdown, stop).
  void flush_and_sync();
  void set_policy(FsyncPolicy policy) { policy_.store(policy, std::memory_order_relaxed); }

  // ---- INFO ----
  bool last_write_ok() const { return last_write_ok_.load(std::memory_order_relaxed); }
  int64_t current_size() const { return base_size_.load() + static_cast<int64_t>(written_.load()) - incr_start_.load(); }
  int64_t base_size() const { return base_size_.load(); }
  size_t buffer_length();

  std::string dir_path() const;
  const std::string& filename() const { return filename_; }

 private:
  enum class State { kOff, kOn, kWaitRewrite };

  // Shared so cron can fsync it without holding io_mutex_ while a rewrite swaps files.
  struct File {
    UniqueFd fd;
    int64_t size = 0;  // bytes in the file (to undo a short write)
  };

  // REQUIRES: io_mutex_. Writes the buffer to the current file.
  bool write_buffer_locked();
  void sync_to(uint64_t target, bool fsync);
  // Opens `path` as the file commands go to (under io_mutex_).
  std::string open_incr(const std::string& path, bool truncate);
  void read_config();
  void read_manifest_from_disk();
  std::string make_dir();
  // Writes the current dataset as base number `seq` (synchronously) and lists it.
  std::string write_base(int64_t seq);
  void start_consuming(State state);
  // Replays one file of commands (aof_load.cc); `nested`: run them under the lock already
  // held (DEBUG LOADAOF) instead of through the dispatcher.
  std::string replay(const std::string& path, bool is_last, CommandContext* nested);
  // Loads the manifest's files (aof_load.cc).
  std::string load_files(CommandContext* nested);
  // Writes the manifest through a temp file. REQUIRES: keyspace lock exclusive.
  std::string persist_manifest();
  void delete_history();

  Server& server_;
  std::atomic<State> state_{State::kOff};
  std::atomic<FsyncPolicy> policy_{FsyncPolicy::kEverySec};
  std::string filename_;  // appendfilename, fixed while enabled
  std::string dirname_;   // appenddirname
  std::string dir_;       // absolute path of the AOF directory
  AofManifest manifest_;  // Guarded by the keyspace lock (exclusive to change)
  std::string temp_incr_;  // the temp incr file while waiting for the first rewrite
  int selected_db_ = -1;  // Guarded by the keyspace lock

  std::mutex buffer_mutex_;
  std::string buffer_;       // Guarded by buffer_mutex_
  uint64_t appended_ = 0;    // Guarded by buffer_mutex_: bytes ever appended
  std::atomic<uint64_t> appended_atomic_{0};  // its lock-free copy

  std::mutex io_mutex_;
  std::shared_ptr<File> file_;           // Guarded by io_mutex_
  std::atomic<uint64_t> written_{0};     // offset written to the file (set under io_mutex_)
  std::atomic<uint64_t> synced_{0};      // offset fsynced
  std::atomic<int64_t> incr_start_{0};   // written_ when the incr files after the base began
  int64_t pending_incr_start_ = 0;       // the same for the rewrite in progress
  std::atomic<int64_t> base_size_{0};
  std::atomic<bool> last_write_ok_{true};
  int64_t last_fsync_ms_ = 0;  // cron thread only
};

}  // namespace rd
