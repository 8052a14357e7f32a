#include "replication/link_reader.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace rd {
namespace {

constexpr size_t kInitialCapacity = 64 * 1024;
constexpr size_t kMinRead = 16 * 1024;

}  // namespace

LinkReader::LinkReader(int fd) : fd_(fd), data_(new char[kInitialCapacity]), capacity_(kInitialCapacity) {}

// Keeps at least kMinRead bytes free at the end: moves pending bytes to the front, and
// doubles the buffer when a single command or line is larger than it.
void LinkReader::make_room() {
  if (begin_ == end_) begin_ = end_ = 0;
  if (capacity_ - end_ >= kMinRead) return;
  const size_t used = end_ - begin_;
  if (begin_ > 0 && capacity_ - used >= kMinRead && used < capacity_ / 2) {
    std::memmove(data_.get(), data_.get() + begin_, used);
  } else {
    const size_t grown = capacity_ - used >= kMinRead ? capacity_ : capacity_ * 2;
    std::unique_ptr<char[]> bigger(new char[grown]);
    std::memcpy(bigger.get(), data_.get() + begin_, used);
    data_ = std::move(bigger);
    capacity_ = grown;
  }
  begin_ = 0;
  end_ = used;
}

LinkReader::Fill LinkReader::fill(int timeout_ms) {
  make_room();
  pollfd fd = {fd_, POLLIN, 0};
  while (true) {
    int ready = ::poll(&fd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Fill::kClosed;
    if (ready == 0) return Fill::kTimeout;
    break;
  }
  while (true) {
    ssize_t n = ::recv(fd_, data_.get() + end_, capacity_ - end_, MSG_DONTWAIT);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      total_ += static_cast<uint64_t>(n);
      return Fill::kData;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Fill::kTimeout;
    return Fill::kClosed;
  }
}

bool LinkReader::read_line(std::string* line, int timeout_ms) {
  size_t scanned = 0;
  while (true) {
    std::string_view data = pending();
    size_t newline = data.find('\n', scanned);
    if (newline != std::string_view::npos) {
      size_t length = newline;
      if (length > 0 && data[length - 1] == '\r') length--;
      line->assign(data.data(), length);
      consume(newline + 1);
      return true;
    }
    scanned = data.size();
    if (fill(timeout_ms) != Fill::kData) return false;
  }
}

bool LinkReader::read_exact(char* out, size_t length, int timeout_ms) {
  while (length > 0) {
    std::string_view data = pending();
    if (data.empty()) {
      if (fill(timeout_ms) != Fill::kData) return false;
      continue;
    }
    const size_t take = std::min(length, data.size());
    std::memcpy(out, data.data(), take);
    consume(take);
    out += take;
    length -= take;
  }
  return true;
}

}  // namespace rd
