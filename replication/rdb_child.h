// The forked child of a full resynchronization: it writes the keyspace, as it was at the
// fork, as an RDB image to one descriptor (the pipe of a diskless transfer, or an unlinked
// temp file) and reports success through a status pipe.
//
// Why fork: the snapshot must be exactly the keyspace at the replication offset announced in
// +FULLRESYNC. The parent forks while it holds the keyspace lock exclusively, so no write can
// slip in between, and releases the lock at once; copy-on-write keeps the child's view fixed
// while clients go on writing.
//
// Only the forking thread exists in the child: it touches no lock another thread may hold (no
// logging, no config), closes every descriptor but its two, and leaves with _exit.
#pragma once

#include <sys/types.h>

#include "server/fd.h"
#include "storage/rdb.h"

namespace rd {

class RdbChild {
 public:
  enum class Status { kRunning, kOk, kFailed };

  RdbChild() = default;
  ~RdbChild() { kill(); }
  RdbChild(const RdbChild&) = delete;
  RdbChild& operator=(const RdbChild&) = delete;

  // Forks a child that saves `keyspace` with `options` to `out_fd`. REQUIRES: the keyspace
  // lock held exclusively by the caller. False when the status pipe or the fork failed.
  bool start(const Keyspace& keyspace, const RdbSaveOptions& options, int out_fd);
  // Waits up to `timeout_ms` (-1: forever) for the child's verdict; reaps it once known.
  Status wait(int timeout_ms);
  // Kills (SIGKILL) and reaps a child still running.
  void kill();
  pid_t pid() const { return pid_; }

 private:
  void reap();

  pid_t pid_ = -1;
  UniqueFd status_;  // read end of the status pipe
};

}  // namespace rd
