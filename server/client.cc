#include "server/client.h"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <thread>

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

bool Client::push(std::string_view bytes, size_t hard_limit, std::atomic<uint64_t>* written) {
  bool overflow = false;
  {
    std::lock_guard<std::mutex> lock(async_mutex_);
    pushes_.append(bytes);
    pushes_pending_.store(true, std::memory_order_seq_cst);
    overflow = hard_limit > 0 && pushes_.size() + push_lead_.size() > hard_limit;
    if (!overflow && wake_fd_.valid()) {  // a thread waiting in poll() (blocked, subscribed)
      uint64_t one = 1;
      ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof(one));
      (void)ignored;
    }
  }
  if (overflow) {
    kill();
    return false;
  }
  write_pushes_if_idle(written);
  return true;
}

void Client::write_pushes_if_idle(std::atomic<uint64_t>* written) {
  while (true) {
    uint32_t expected = kIoIdle;
    if (!io_state_.compare_exchange_strong(expected, kIoIdle | kIoPusher, std::memory_order_seq_cst)) return;
    std::string bytes;
    {
      std::lock_guard<std::mutex> lock(async_mutex_);
      bytes.swap(push_lead_);
      bytes.append(pushes_);
      pushes_.clear();
      pushes_pending_.store(false, std::memory_order_seq_cst);
    }
    size_t sent = 0;
    bool stalled = false;  // the socket is full: the rest waits for the client to read
    while (!killed() && sent < bytes.size()) {
      ssize_t n = ::send(socket_.get(), bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        stalled = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        break;  // other errors: the connection is going away, its thread will see it
      }
    }
    if (written != nullptr) written->fetch_add(sent, std::memory_order_relaxed);
    if (stalled) {
      std::lock_guard<std::mutex> lock(async_mutex_);
      push_lead_.assign(bytes, sent);
      pushes_pending_.store(true, std::memory_order_seq_cst);
    }
    io_state_.store(kIoIdle, std::memory_order_seq_cst);
    // A push queued while we wrote found kIoPusher set and left its bytes to us.
    if (stalled || !pushes_pending_.load(std::memory_order_seq_cst)) return;
  }
}

void Client::take_push_lead(std::string* out) {
  std::lock_guard<std::mutex> lock(async_mutex_);
  out->append(push_lead_);
  push_lead_.clear();
  pushes_pending_.store(!pushes_.empty(), std::memory_order_seq_cst);
}

void Client::take_pushes(std::string* out) {
  std::lock_guard<std::mutex> lock(async_mutex_);
  out->append(push_lead_);
  out->append(pushes_);
  push_lead_.clear();
  pushes_.clear();
  pushes_pending_.store(false, std::memory_order_seq_cst);
}

bool Client::enter_idle() {
  io_state_.store(kIoIdle, std::memory_order_seq_cst);
  if (!pushes_pending_.load(std::memory_order_seq_cst)) return true;
  // Pushes queued before kIoIdle was visible: take them back, unless a pusher already
  // writes them.
  uint32_t expected = kIoIdle;
  return !io_state_.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
}

void Client::leave_idle() {
  while (true) {
    uint32_t expected = kIoIdle;
    if (io_state_.compare_exchange_weak(expected, 0, std::memory_order_seq_cst) || expected == 0) return;
    std::this_thread::yield();  // a pusher is writing (non-blocking send: short)
  }
}

}  // namespace rd
