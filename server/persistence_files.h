// File plumbing shared by RDB snapshots and the AOF: buffered RDB sinks/sources over file
// descriptors, crash-safe replacement of a file (temp file, fsync, rename, fsync of the
// directory), and a forked child process owned RAII-style.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "server/fd.h"
#include "storage/rdb.h"

namespace rd {

// Writes to a file descriptor; remembers errno of the first failure.
class FdSink : public RdbSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  bool write(const char* data, size_t length) override;
  int error() const { return error_; }

 private:
  int fd_;
  int error_ = 0;
};

// Reads a file through a 256 KB buffer (rdb_load asks for a few bytes at a time).
class FdSource : public RdbSource {
 public:
  explicit FdSource(int fd) : fd_(fd), buffer_(kBufferSize, '\0') {}
  bool read(char* data, size_t length) override;

 private:
  static constexpr size_t kBufferSize = 256 * 1024;
  int fd_;
  std::string buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// "dir/name" (name as is when absolute).
std::string join_path(const std::string& dir, const std::string& name);
bool file_exists(const std::string& path);
int64_t file_size(const std::string& path);  // -1 when missing
// Reads a whole file; false when it cannot be opened or read.
bool read_whole_file(const std::string& path, std::string* out);
// fsync of a directory, so a rename inside it survives a crash.
bool fsync_dir(const std::string& dir);

// Writes `content(sink)` to `temp_path`, fsyncs it and renames it over `final_path`, then
// fsyncs the directory. On any failure the temp file is removed and `final_path` is left
// untouched. Returns "" or the reason ("Write error ...: No space left on device").
std::string write_file_atomically(const std::string& temp_path, const std::string& final_path,
                                  const std::function<bool(RdbSink&)>& content);

// Saves the keyspace as an RDB file at `path` (via temp-<pid>.rdb in the same directory).
std::string save_rdb_file(const std::string& dir, const std::string& filename, const Keyspace& keyspace,
                          const RdbSaveOptions& options);

enum class LoadStatus { kLoaded, kMissing, kFailed };
// Loads the RDB file at `path` into `keyspace` (`allow_duplicates`: see rdb_load).
LoadStatus load_rdb_file(const std::string& path, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms,
                         bool skip_expired, RdbLoadResult* result, bool allow_duplicates = false);

// A forked child that reports one message (its error, "" for success) back through a pipe.
// The destructor kills (SIGUSR1) and reaps a child that is still running.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { kill_and_reap(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Forks; the child closes every inherited descriptor above stderr but its pipe (client and
  // listening sockets must not outlive the parent's use of them), runs `work` and exits.
  // `work` must not take any lock another thread may hold (no logging, no config access):
  // only the forking thread exists in the child. False when fork failed.
  bool start(const std::function<std::string()>& work);
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Non-blocking: true once the child exited; *ok tells whether it succeeded and *message
  // holds what it reported.
  bool poll_exit(bool* ok, std::string* message);
  void kill_and_reap();

 private:
  pid_t pid_ = -1;
  UniqueFd pipe_;  // read end
};

}  // namespace rd
