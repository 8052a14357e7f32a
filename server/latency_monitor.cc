#include "server/latency_monitor.h"

#include <ctime>

namespace rd {

std::vector<LatencyMonitor::Sample> LatencyMonitor::Series::history() const {
  std::vector<Sample> out;
  for (size_t i = 0; i < kSamples; i++) {
    const Sample& sample = samples[(next + i) % kSamples];
    if (sample.unix_time != 0) out.push_back(sample);
  }
  return out;
}

void LatencyMonitor::add(std::string_view event, int64_t latency_ms) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Series{}).first;
  Series& series = it->second;
  if (latency_ms > series.max_ms) series.max_ms = latency_ms;
  // One sample per second: a second spike in the same second only raises that sample.
  Sample& previous = series.samples[(series.next + kSamples - 1) % kSamples];
  if (previous.unix_time == now) {
    if (latency_ms > previous.latency_ms) previous.latency_ms = latency_ms;
    return;
  }
  series.samples[series.next] = {now, latency_ms};
  series.next = (series.next + 1) % kSamples;
}

std::map<std::string, LatencyMonitor::Series, std::less<>> LatencyMonitor::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

bool LatencyMonitor::find(std::string_view event, Series* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = events_.find(event);
  if (it == events_.end()) return false;
  *out = it->second;
  return true;
}

size_t LatencyMonitor::reset(const std::vector<std::string_view>& events) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (events.empty()) {
    size_t count = events_.size();
    events_.clear();
    return count;
  }
  size_t count = 0;
  for (std::string_view event : events) {
    auto it = events_.find(event);
    if (it == events_.end()) continue;
    events_.erase(it);
    count++;
  }
  return count;
}

}  // namespace rd
