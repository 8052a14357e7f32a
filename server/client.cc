#include "server/client.h"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

namespace rd {

int64_t unix_time_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t unix_time_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t monotonic_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

bool write_all(int fd, const char* data, size_t length) {
  while (length > 0) {
    ssize_t n = ::send(fd, data, length, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

Client::Client(uint64_t client_id, UniqueFd socket, std::string peer, std::string local)
    : id(client_id),
      peer_address(std::move(peer)),
      local_address(std::move(local)),
      created_ms(unix_time_ms()),
      socket_(std::move(socket)) {
  last_interaction_ms.store(created_ms, std::memory_order_relaxed);
}

Client::~Client() = default;

std::string Client::name() const {
  std::lock_guard<std::mutex> lock(info_mutex_);
  return name_;
}

void Client::set_name(std::string name) {
  std::lock_guard<std::mutex> lock(info_mutex_);
  name_ = std::move(name);
}

std::string Client::lib_name() const {
  std::lock_guard<std::mutex> lock(info_mutex_);
  return lib_name_;
}

std::string Client::lib_version() const {
  std::lock_guard<std::mutex> lock(info_mutex_);
  return lib_version_;
}

void Client::set_lib(std::string name, std::string version) {
  std::lock_guard<std::mutex> lock(info_mutex_);
  if (!name.empty()) lib_name_ = std::move(name);
  if (!version.empty()) lib_version_ = std::move(version);
}

void Client::kill() {
  if (killed_.exchange(true, std::memory_order_acq_rel)) return;
  // shutdown() (not close) makes the owner's blocking recv/send/poll return at once while the
  // descriptor stays valid until the owner closes it, so it can never be reused under us.
  ::shutdown(socket_.get(), SHUT_RDWR);
  wake();
}

bool Client::deliver(std::string_view bytes, size_t hard_limit) {
  bool overflow = false;
  {
    std::lock_guard<std::mutex> lock(async_mutex_);
    outbox_.append(bytes);
    outbox_nonempty_.store(!outbox_.empty(), std::memory_order_release);
    overflow = hard_limit > 0 && outbox_.size() > hard_limit;
    if (!overflow && wake_fd_.valid()) {
      uint64_t one = 1;
      ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
      (void)ignored;
    }
  }
  if (overflow) kill();
  return !overflow;
}

void Client::take_outbox(std::string* out) {
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (out->empty()) {
    out->swap(outbox_);
  } else {
    out->append(outbox_);
  }
  outbox_.clear();
  outbox_nonempty_.store(false, std::memory_order_release);
}

size_t Client::outbox_size() const {
  std::lock_guard<std::mutex> lock(async_mutex_);
  return outbox_.size();
}

void Client::wake() {
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (!wake_fd_.valid()) return;
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
  (void)ignored;
}

int Client::wake_fd() {
  std::lock_guard<std::mutex> lock(async_mutex_);
  if (!wake_fd_.valid()) wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  return wake_fd_.get();
}

void Client::drain_wake() {
  int fd = wake_fd();
  uint64_t value = 0;
  while (::read(fd, &value, sizeof(value)) > 0) {
  }
}

}  // namespace rd
