#include "server/persistence_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rd {

bool FdSink::write(const char* data, size_t length) {
  while (length > 0) {
    ssize_t n = ::write(fd_, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      return false;
    }
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

bool FdSource::read(char* data, size_t length) {
  while (length > 0) {
    if (begin_ == end_) {
      if (length >= kBufferSize) {  // large reads bypass the buffer
        ssize_t n = ::read(fd_, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        length -= static_cast<size_t>(n);
        continue;
      }
      ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t take = std::min(length, end_ - begin_);
    std::memcpy(data, buffer_.data() + begin_, take);
    begin_ += take;
    data += take;
    length -= take;
  }
  return true;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

int64_t file_size(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

bool read_whole_file(const std::string& path, std::string* out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  out->clear();
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

bool fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd.valid() && ::fsync(fd.get()) == 0;
}

namespace {

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Removes the temp file unless released (RAII for the failure paths).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

std::string write_file_atomically(const std::string& temp_path, const std::string& final_path,
                                  const std::function<bool(RdbSink&)>& content) {
  UniqueFd fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return "Failed opening the temp file " + temp_path + " for saving: " + std::strerror(errno);
  }
  TempFileGuard guard(temp_path);
  FdSink sink(fd.get());
  if (!content(sink)) {
    return "Write error saving DB on disk: " + std::string(std::strerror(sink.error() ? sink.error() : EIO));
  }
  if (::fsync(fd.get()) != 0) return "Write error (fsync) saving DB on disk: " + std::string(std::strerror(errno));
  if (::close(fd.release()) != 0) return "Write error (close) saving DB on disk: " + std::string(std::strerror(errno));
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return "Error moving temp DB file " + temp_path + " on the final destination " + final_path + ": " +
           std::strerror(errno);
  }
  guard.release();
  fsync_dir(dir_of(final_path));
  return "";
}

std::string save_rdb_file(const std::string& dir, const std::string& filename, const Keyspace& keyspace,
                          const RdbSaveOptions& options) {
  std::string temp = join_path(dir, "temp-" + std::to_string(getpid()) + ".rdb");
  return write_file_atomically(temp, join_path(dir, filename),
                               [&](RdbSink& sink) { return rdb_save(keyspace, options, sink); });
}

LoadStatus load_rdb_file(const std::string& path, Keyspace& keyspace, const EncodingLimits& limits, int64_t now_ms,
                         bool skip_expired, RdbLoadResult* result, bool allow_duplicates) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return LoadStatus::kMissing;
    result->error = "Fatal error loading the DB (" + path + "): " + std::strerror(errno) + ". Exiting.";
    return LoadStatus::kFailed;
  }
  FdSource source(fd.get());
  *result = rdb_load(source, keyspace, limits, now_ms, skip_expired, allow_duplicates);
  return result->error.empty() ? LoadStatus::kLoaded : LoadStatus::kFailed;
}

bool ChildProcess::start(const std::function<std::string()>& work) {
  kill_and_reap();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    ::dup2(write_end.get(), 3);
    ::syscall(SYS_close_range, 4u, ~0u, 0u);
    ::signal(SIGUSR1, SIG_DFL);
    std::string message = work();
    FdSink(3).write(message.data(), message.size());
    _exit(message.empty() ? 0 : 1);
  }
  pid_ = pid;
  pipe_ = std::move(read_end);
  return true;
}

bool ChildProcess::poll_exit(bool* ok, std::string* message) {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  *ok = r == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  message->clear();
  char buf[1024];
  ssize_t n = 0;
  while ((n = ::read(pipe_.get(), buf, sizeof(buf))) > 0) message->append(buf, static_cast<size_t>(n));
  if (!*ok && message->empty()) {
    *message = WIFSIGNALED(status) ? "terminated by signal " + std::to_string(WTERMSIG(status)) : "child failed";
  }
  pid_ = -1;
  pipe_.reset();
  return true;
}

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGUSR1);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pipe_.reset();
}

}  // namespace rd
