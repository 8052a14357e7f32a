#include "replication/repl_buffer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace rd {
namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void signal_eventfd(int fd) {
  uint64_t one = 1;
  ssize_t ignored = ::write(fd, &one, sizeof(one));
  (void)ignored;
}

}  // namespace

ReplBuffer::ReplBuffer(int64_t backlog_size) : backlog_size_(std::max<int64_t>(backlog_size, 1)) {}

ReplBuffer::~ReplBuffer() = default;

void ReplBuffer::append(std::string_view bytes) {
  if (bytes.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t end = end_.load(std::memory_order_relaxed);
  while (!bytes.empty()) {
    if (blocks_.empty() || blocks_.back().data.size() == kBlockSize) {
      blocks_.push_back(Block{end, {}});
      blocks_.back().data.reserve(kBlockSize);
    }
    std::string& data = blocks_.back().data;
    size_t take = std::min(bytes.size(), kBlockSize - data.size());
    data.append(bytes.data(), take);
    bytes.remove_prefix(take);
    end += static_cast<int64_t>(take);
  }
  end_.store(end, std::memory_order_release);
  const bool limited = limits_.hard > 0 || limits_.soft > 0;
  const int64_t now = limited ? now_ms() : 0;
  for (Reader& reader : readers_) {
    if (reader.cut) continue;
    if (limited) enforce_limits_locked(reader, now);
    if (reader.waiting && !reader.cut) {
      reader.waiting = false;
      signal_eventfd(reader.wake_fd);
    }
  }
  trim_locked();
}

void ReplBuffer::enforce_limits_locked(Reader& reader, int64_t now) {
  const int64_t lag = end_.load(std::memory_order_relaxed) - reader.position;
  if (limits_.hard > 0 && lag > limits_.hard) return cut_locked(reader);
  if (limits_.soft > 0 && lag > limits_.soft) {
    if (reader.soft_since_ms == 0) {
      reader.soft_since_ms = now;
    } else if (now - reader.soft_since_ms > limits_.soft_seconds * 1000) {
      cut_locked(reader);
    }
    return;
  }
  reader.soft_since_ms = 0;
}

void ReplBuffer::cut_locked(Reader& reader) {
  reader.cut = true;
  reader.waiting = false;
  if (reader.on_cut) reader.on_cut();
  signal_eventfd(reader.wake_fd);
}

void ReplBuffer::reset(int64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  blocks_.clear();
  start_ = offset;
  end_.store(offset, std::memory_order_release);
  for (Reader& reader : readers_) {
    if (!reader.cut) cut_locked(reader);
    reader.position = offset;
  }
}

void ReplBuffer::set_backlog_size(int64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  backlog_size_ = std::max<int64_t>(size, 1);
  trim_locked();
}

void ReplBuffer::set_limits(const Limits& limits) {
  std::lock_guard<std::mutex> lock(mutex_);
  limits_ = limits;
}

int64_t ReplBuffer::logical_start_locked() const {
  return std::max(start_, end_.load(std::memory_order_relaxed) - backlog_size_);
}

int64_t ReplBuffer::first_offset() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return logical_start_locked() + 1;
}

int64_t ReplBuffer::history_length() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return end_.load(std::memory_order_relaxed) - logical_start_locked();
}

int64_t ReplBuffer::backlog_size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return backlog_size_;
}

int64_t ReplBuffer::memory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return end_.load(std::memory_order_relaxed) - start_;
}

bool ReplBuffer::can_resume_from(int64_t next) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next > logical_start_locked() && next <= end_.load(std::memory_order_relaxed) + 1;
}

ReplBuffer::Reader* ReplBuffer::add_reader(int64_t offset, int wake_fd, std::function<void()> on_cut) {
  std::lock_guard<std::mutex> lock(mutex_);
  readers_.emplace_back(offset, wake_fd, std::move(on_cut));
  Reader* reader = &readers_.back();
  // A position older than what is held cannot be served (the caller checked can_resume_from).
  if (offset < start_ || offset > end_.load(std::memory_order_relaxed)) reader->cut = true;
  return reader;
}

ReplBuffer::Reader* ReplBuffer::add_reader_if_resumable(int64_t offset, int wake_fd, std::function<void()> on_cut) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (offset < logical_start_locked() || offset > end_.load(std::memory_order_relaxed)) return nullptr;
  readers_.emplace_back(offset, wake_fd, std::move(on_cut));
  return &readers_.back();
}

void ReplBuffer::remove_reader(Reader* reader) {
  std::lock_guard<std::mutex> lock(mutex_);
  readers_.remove_if([reader](const Reader& r) { return &r == reader; });
  trim_locked();
}

size_t ReplBuffer::read(Reader* reader, std::string* out, size_t max) {
  out->clear();
  std::lock_guard<std::mutex> lock(mutex_);
  if (reader->cut) return 0;
  const int64_t end = end_.load(std::memory_order_relaxed);
  // The block holding byte position+1: the last one that starts at or before `position`.
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), reader->position,
                             [](int64_t position, const Block& block) { return position < block.start; });
  if (it != blocks_.begin()) --it;
  while (it != blocks_.end() && reader->position < end && out->size() < max) {
    const size_t skip = static_cast<size_t>(reader->position - it->start);
    if (skip < it->data.size()) {
      const size_t take = std::min(it->data.size() - skip, max - out->size());
      out->append(it->data, skip, take);
      reader->position += static_cast<int64_t>(take);
    }
    ++it;
  }
  if (!out->empty()) trim_locked();
  return out->size();
}

bool ReplBuffer::arm_wakeup(Reader* reader) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reader->cut || reader->position < end_.load(std::memory_order_relaxed)) return false;
  reader->waiting = true;
  return true;
}

bool ReplBuffer::cut_off(const Reader* reader) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reader->cut;
}

int64_t ReplBuffer::lag(const Reader* reader) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reader->cut ? 0 : end_.load(std::memory_order_relaxed) - reader->position;
}

void ReplBuffer::trim_locked() {
  int64_t keep_from = logical_start_locked();
  for (const Reader& reader : readers_) {
    if (!reader.cut) keep_from = std::min(keep_from, reader.position);
  }
  while (!blocks_.empty()) {
    const Block& first = blocks_.front();
    const int64_t block_end = first.start + static_cast<int64_t>(first.data.size());
    // Never drop the block being filled: appends continue in it.
    if (block_end > keep_from || blocks_.size() == 1) break;
    start_ = block_end;
    blocks_.pop_front();
  }
  if (blocks_.size() == 1 && blocks_.front().start + static_cast<int64_t>(blocks_.front().data.size()) <= keep_from &&
      blocks_.front().data.size() == kBlockSize) {
    start_ = blocks_.front().start + static_cast<int64_t>(kBlockSize);
    blocks_.clear();
  }
}

}  // namespace rd
