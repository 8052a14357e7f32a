// Holds the keyspace lock across consecutive commands of one batch of pipelined requests.
//
// Without it every command takes and releases the lock; with 50 pipelining clients on two
// cores that made the lock word the hottest cache line of the server. A connection keeps one
// KeyspaceLock for the commands it parsed from one read: consecutive commands wanting the same
// mode reuse the hold. It is released before anything that may block or do I/O (flushing
// replies, waiting for a blocked command, commands that take no keyspace lock), after a few
// dozen commands so others get their turn, and when the batch ends.
//
// Not thread-safe: owned by one connection thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "server/command_table.h"

namespace rd {

class KeyspaceLock {
 public:
  static constexpr int kMaxCommandsPerHold = 32;

  explicit KeyspaceLock(std::shared_mutex& mutex) : mutex_(mutex) {}
  ~KeyspaceLock() { release(); }
  KeyspaceLock(const KeyspaceLock&) = delete;
  KeyspaceLock& operator=(const KeyspaceLock&) = delete;

  // Makes sure `mode` is held (an exclusive hold also serves shared requests), releasing a
  // weaker or long-held one first. kNone releases.
  void hold(LockMode mode) {
    if (mode == LockMode::kNone) return release();
    if (held_ == LockMode::kExclusive || (held_ == mode && uses_ < kMaxCommandsPerHold)) {
      uses_++;
      return;
    }
    release();
    if (mode == LockMode::kExclusive) {
      mutex_.lock();
    } else {
      mutex_.lock_shared();
    }
    held_ = mode;
    uses_ = 1;
  }

  // Drops an exclusive hold that has served its share of commands (keeps fairness).
  void maybe_yield() {
    if (uses_ >= kMaxCommandsPerHold) release();
  }

  void release() {
    if (held_ == LockMode::kExclusive) {
      mutex_.unlock();
    } else if (held_ == LockMode::kShared) {
      mutex_.unlock_shared();
    }
    held_ = LockMode::kNone;
    uses_ = 0;
    clock_us_ = 0;
  }

  LockMode held() const { return held_; }

  // The wall-clock time (µs) at which the previous command of this batch ended, or 0: the
  // next command starts at that instant (only parsing lies between), saving a clock read.
  int64_t clock_us() const { return clock_us_; }
  void set_clock_us(int64_t now_us) { clock_us_ = now_us; }

 private:
  std::shared_mutex& mutex_;
  LockMode held_ = LockMode::kNone;
  int uses_ = 0;
  int64_t clock_us_ = 0;
};

}  // namespace rd
