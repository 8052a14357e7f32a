#include "replication/rdb_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace rd {
namespace {

// rdb_save writes many small pieces: batch them into large writes.
class BufferedFdSink : public RdbSink {
 public:
  explicit BufferedFdSink(int fd) : fd_(fd), buffer_(new char[kSize]) {}
  bool write(const char* data, size_t length) override {
    if (used_ + length > kSize && !flush()) return false;
    if (length >= kSize) return write_fully(data, length);
    std::memcpy(buffer_.get() + used_, data, length);
    used_ += length;
    return true;
  }
  bool flush() {
    bool ok = write_fully(buffer_.get(), used_);
    used_ = 0;
    return ok;
  }

 private:
  static constexpr size_t kSize = 256 * 1024;
  bool write_fully(const char* data, size_t length) {
    while (length > 0) {
      ssize_t n = ::write(fd_, data, length);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      length -= static_cast<size_t>(n);
    }
    return true;
  }
  int fd_;
  std::unique_ptr<char[]> buffer_;
  size_t used_ = 0;
};

// Closes every descriptor above stderr except `a` and `b`.
void close_all_but(int a, int b) {
  const int low = std::min(a, b);
  const int high = std::max(a, b);
  if (low > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(low - 1), 0u);
  if (high > low + 1) ::syscall(SYS_close_range, static_cast<unsigned>(low + 1), static_cast<unsigned>(high - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(high + 1), ~0u, 0u);
}

[[noreturn]] void run_child(const Keyspace& keyspace, const RdbSaveOptions& options, int out_fd, int status_fd) {
  close_all_but(out_fd, status_fd);
  ::signal(SIGPIPE, SIG_DFL);  // the parent dropped the transfer: just die
  BufferedFdSink sink(out_fd);
  bool ok = rdb_save(keyspace, options, sink) && sink.flush();
  if (ok) {
    const char done = '1';
    ok = ::write(status_fd, &done, 1) == 1;
  }
  _exit(ok ? 0 : 1);
}

}  // namespace

bool RdbChild::start(const Keyspace& keyspace, const RdbSaveOptions& options, int out_fd) {
  kill();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) run_child(keyspace, options, out_fd, write_end.get());
  pid_ = pid;
  status_ = std::move(read_end);
  return true;  // write_end closes here: the child holds the only writer
}

RdbChild::Status RdbChild::wait(int timeout_ms) {
  if (pid_ <= 0) return Status::kFailed;
  pollfd fd = {status_.get(), POLLIN, 0};
  int ready = ::poll(&fd, 1, timeout_ms);
  if (ready < 0 && errno == EINTR) return Status::kRunning;
  if (ready == 0) return Status::kRunning;
  char done = 0;
  ssize_t n = ::read(status_.get(), &done, 1);
  reap();
  return n == 1 && done == '1' ? Status::kOk : Status::kFailed;
}

void RdbChild::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap();
}

void RdbChild::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  status_.reset();
}

}  // namespace rd
