// The latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR): per event name ("command",
// "fast-command", or any subsystem's event), a ring of the last 160 one-per-second samples of
// latencies at or above latency-monitor-threshold milliseconds (0: disabled), and the
// all-time maximum.
//
// maybe_add() is cheap when nothing qualifies (one relaxed atomic load); recording takes the
// monitor's mutex, a leaf lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

class LatencyMonitor {
 public:
  static constexpr size_t kSamples = 160;

  struct Sample {
    int64_t unix_time = 0;  // seconds; 0 = unused slot
    int64_t latency_ms = 0;
  };
  struct Series {
    std::array<Sample, kSamples> samples{};
    size_t next = 0;  // the slot the next sample goes to
    int64_t max_ms = 0;
    // The samples oldest first, unused slots skipped.
    std::vector<Sample> history() const;
    const Sample& latest() const { return samples[(next + kSamples - 1) % kSamples]; }
  };

  // Records `latency_ms` for `event` when monitoring is on and it reaches the threshold.
  void maybe_add(std::string_view event, int64_t latency_ms) {
    const int64_t threshold = threshold_ms_.load(std::memory_order_relaxed);
    if (threshold > 0 && latency_ms >= threshold) add(event, latency_ms);
  }
  // A command's duration: the "fast-command" event for commands flagged fast, else "command".
  void maybe_add_command(bool fast, int64_t duration_us) {
    maybe_add(fast ? "fast-command" : "command", duration_us / 1000);
  }

  void add(std::string_view event, int64_t latency_ms);
  // Every event with its series, by name.
  std::map<std::string, Series, std::less<>> snapshot() const;
  bool find(std::string_view event, Series* out) const;
  // Forgets `events` (all when empty); returns how many existed.
  size_t reset(const std::vector<std::string_view>& events);

  bool enabled() const { return threshold_ms_.load(std::memory_order_relaxed) > 0; }
  void set_threshold_ms(int64_t ms) { threshold_ms_.store(ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> threshold_ms_{0};
  mutable std::mutex mutex_;
  std::map<std::string, Series, std::less<>> events_;  // Protected by mutex_
};

}  // namespace rd
