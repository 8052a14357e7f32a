// The slow log: the last slowlog-max-len commands that took at least slowlog-log-slower-than
// microseconds (negative: disabled), newest first, for SLOWLOG GET/LEN/RESET.
//
// The dispatcher calls maybe_record() after every command; the threshold check is one relaxed
// atomic load, and only a command that qualifies takes the log's mutex (a leaf lock: nothing
// else is locked while holding it).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_table.h"

namespace rd {

// What the slow log and MONITOR show instead of a secret argument.
inline constexpr std::string_view kRedactedArgument = "(redacted)";
// Which arguments of a command Redis redacts (AUTH, HELLO AUTH, MIGRATE AUTH/AUTH2, CONFIG SET
// of secrets, ACL SETUSER): each command redacts while parsing, so only what its parser
// reached is hidden.
std::vector<bool> redacted_positions(const CommandSpec& spec, const std::string_view* argv, size_t argc);

class Client;

class SlowLog {
 public:
  struct Entry {
    int64_t id = 0;
    int64_t unix_time = 0;  // seconds
    int64_t duration_us = 0;
    std::vector<std::string> args;  // trimmed like Redis: at most 32, each at most 128 bytes
    std::string client_address;
    std::string client_name;
  };

  // After a command ran for `duration_us`.
  void maybe_record(const Client& client, const CommandSpec& spec, const std::string_view* argv, size_t argc,
                    int64_t duration_us) {
    const int64_t threshold = threshold_us_.load(std::memory_order_relaxed);
    if (threshold < 0 || duration_us < threshold || spec.has(kCmdSkipSlowlog)) return;
    record(client, spec, argv, argc, duration_us);
  }

  // A blocked command served by another client's write: Redis logs it after that write, so
  // the entry waits (per thread) until the writer's own maybe_record() call has run.
  void maybe_record_after_writer(const Client& client, const CommandSpec& spec, const std::string_view* argv,
                                 size_t argc, int64_t duration_us);
  // Appends the waiting entries of this thread; cheap when there are none.
  void flush_after_writer() {
    if (has_waiting_entries()) flush_waiting_entries();
  }

  // The newest `count` entries (all when count is negative), newest first.
  std::vector<Entry> newest(int64_t count) const;
  size_t size() const;
  void reset();

  // From the config (slowlog-log-slower-than, slowlog-max-len).
  void set_threshold_us(int64_t us) { threshold_us_.store(us, std::memory_order_relaxed); }
  void set_max_len(int64_t length) { max_len_.store(length, std::memory_order_relaxed); }

  // The arguments as the log shows them: secrets "(redacted)" (AUTH, HELLO AUTH, CONFIG SET of
  // passwords, MIGRATE AUTH/AUTH2), then Redis's trimming of long and numerous arguments.
  static std::vector<std::string> logged_args(const CommandSpec& spec, const std::string_view* argv, size_t argc);

 private:
  Entry make_entry(const Client& client, const CommandSpec& spec, const std::string_view* argv, size_t argc,
                   int64_t duration_us) const;
  void record(const Client& client, const CommandSpec& spec, const std::string_view* argv, size_t argc,
              int64_t duration_us);
  void append(Entry entry);
  static bool has_waiting_entries();
  void flush_waiting_entries();

  std::atomic<int64_t> threshold_us_{10000};
  std::atomic<int64_t> max_len_{128};
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;  // newest first. Protected by mutex_
  int64_t next_id_ = 0;        // not reset by RESET, like Redis. Protected by mutex_
};

}  // namespace rd
