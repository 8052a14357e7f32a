#include "replication/replica_session.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/request_parser.h"
#include "server/command_context.h"
#include "server/client.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

constexpr size_t kStreamChunk = 256 * 1024;
constexpr int64_t kInputCheckIntervalMs = 100;  // while busy sending, look for ACKs this often
constexpr long kLingerNs = 1000 * 1000;          // see stream()

int64_t now_ms() { return monotonic_us() / 1000; }

// "127.0.0.1:5000" -> "127.0.0.1" ("[::1]:5000" style addresses keep their brackets off).
std::string host_of(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

std::string random_hex(Server& server, size_t length) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  while (out.size() < length) {
    uint64_t bits = server.random64();
    for (int i = 0; i < 16 && out.size() < length; i++, bits >>= 4) out.push_back(kHex[bits & 15]);
  }
  return out;
}

// An anonymous file in `dir` for a disk-based transfer: nothing is left behind, whatever happens.
UniqueFd open_temp_file(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) return fd;
  std::string path = dir + "/temp-repl-" + std::to_string(::getpid()) + "-XXXXXX";
  fd.reset(::mkostemp(path.data(), O_CLOEXEC));
  if (fd.valid()) ::unlink(path.c_str());
  return fd;
}

}  // namespace

ReplicaSession::ReplicaSession(Replication& replication, Server& server, std::shared_ptr<Client> client,
                               const ReplicaHandshake& handshake, bool old_sync)
    : replication_(replication),
      server_(server),
      client_(std::move(client)),
      handshake_(handshake),
      old_sync_(old_sync),
      ip_(handshake.announced_ip.empty() ? host_of(client_->peer_address) : handshake.announced_ip),
      ack_time_ms_(now_ms()) {}

ReplicaSession::~ReplicaSession() {
  if (reader_ != nullptr) replication_.buffer_.remove_reader(reader_);
}

const char* ReplicaSession::state_name() const {
  switch (state()) {
    case State::kWaitBgsave: return "wait_bgsave";
    case State::kSendBulk: return "send_bulk";
    case State::kOnline: return "online";
  }
  return "online";
}

std::string ReplicaSession::name() const { return ip_ + ":" + std::to_string(port()); }

bool ReplicaSession::start_full_sync(const RdbSaveOptions& options, bool diskless, int64_t offset) {
  diskless_ = diskless;
  UniqueFd child_end;
  if (diskless) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    rdb_fd_.reset(fds[0]);
    child_end.reset(fds[1]);
    ::fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);  // fewer context switches; best effort
  } else {
    rdb_fd_ = open_temp_file(server_.config.get("dir"));
    if (!rdb_fd_.valid()) return false;
  }
  if (!child_.start(server_.keyspace, options, diskless ? child_end.get() : rdb_fd_.get())) return false;
  state_.store(State::kWaitBgsave, std::memory_order_release);
  reader_ = replication_.buffer_.add_reader(offset, client_->wake_fd(), cut_callback());
  return true;  // child_end closes here: the child holds the pipe's only writer
}

bool ReplicaSession::start_partial_sync(int64_t offset) {
  reader_ = replication_.buffer_.add_reader_if_resumable(offset, client_->wake_fd(), cut_callback());
  return reader_ != nullptr;
}

std::function<void()> ReplicaSession::cut_callback() {
  Client* client = client_.get();
  // Called under the buffer lock: only a syscall, no lock. The thread wakes from any send.
  return [client] { ::shutdown(client->fd(), SHUT_RDWR); };
}

bool ReplicaSession::alive() const { return !client_->killed() && !server_.shutting_down(); }

bool ReplicaSession::send(std::string_view bytes) {
  if (!write_all(client_->fd(), bytes.data(), bytes.size())) return false;
  server_.stats.net_output_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
  return true;
}

void ReplicaSession::run(std::string_view leftover) {
  input_.assign(leftover);
  const int64_t timeout_s = server_.config.get_int("repl-timeout");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s > 0 ? timeout_s : 0);
  ::setsockopt(client_->fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  timeval no_timeout{};
  ::setsockopt(client_->fd(), SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof(no_timeout));
  int nodelay = server_.config.get_bool("repl-disable-tcp-nodelay") ? 0 : 1;
  ::setsockopt(client_->fd(), IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));

  if (state() != State::kOnline) {
    if (!transfer_snapshot()) {
      server_.log('#', "Connection with replica " + name() + " lost during the transfer.");
      return;
    }
    if (handshake_.rdb_only) {
      server_.log('*', "Snapshot sent to " + name() + " (rdb-only): closing the connection.");
      return;
    }
    state_.store(State::kOnline, std::memory_order_release);
    ack_time_ms_.store(now_ms(), std::memory_order_relaxed);
    waiting_first_ack_ = diskless_;
    server_.log('*', "Synchronization with replica " + name() + " succeeded");
  }
  stream();
  if (replication_.buffer_.cut_off(reader_)) {
    server_.log('#', "Client id=" + std::to_string(client_->id) + " addr=" + client_->peer_address +
                         " (replica) closed for overcoming of output buffer limits.");
  } else if (!server_.shutting_down()) {
    server_.log('#', "Connection with replica " + name() + " lost.");
  }
}

// ---------------------------------------------------------------------------------------
// The snapshot

bool ReplicaSession::transfer_snapshot() {
  if (diskless_) return relay_pipe();
  return send_temp_file();
}

bool ReplicaSession::relay_pipe() {
  const std::string mark = random_hex(server_, 40);
  if (!send("$EOF:" + mark + "\r\n")) return false;
  // splice moves the child's bytes from the pipe to the socket without copying them here.
  size_t sent = 0;
  bool use_splice = true;
  std::string buffer;
  while (alive()) {
    ssize_t n = 0;
    if (use_splice) {
      n = ::splice(rdb_fd_.get(), nullptr, client_->fd(), nullptr, 1 << 20, SPLICE_F_MOVE | SPLICE_F_MORE);
      if (n < 0 && errno == EINVAL) {
        use_splice = false;
        continue;
      }
    } else {
      buffer.resize(1 << 16);
      n = ::read(rdb_fd_.get(), buffer.data(), buffer.size());
      if (n > 0 && !write_all(client_->fd(), buffer.data(), static_cast<size_t>(n))) return false;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;  // the child closed the pipe: the image is complete (or it died)
    sent += static_cast<size_t>(n);
  }
  server_.stats.net_output_bytes.fetch_add(sent, std::memory_order_relaxed);
  if (!wait_for_child()) return false;
  server_.log('*', "Streamed RDB transfer with replica " + name() +
                       " succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming");
  return send(mark);
}

bool ReplicaSession::send_temp_file() {
  if (!wait_for_child()) return false;
  struct stat info {};
  if (::fstat(rdb_fd_.get(), &info) != 0) return false;
  state_.store(State::kSendBulk, std::memory_order_release);
  if (!send("$" + std::to_string(info.st_size) + "\r\n")) return false;
  off_t position = 0;
  while (position < info.st_size && alive()) {
    ssize_t n = ::sendfile(client_->fd(), rdb_fd_.get(), &position, static_cast<size_t>(info.st_size - position));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
  }
  server_.stats.net_output_bytes.fetch_add(static_cast<uint64_t>(info.st_size), std::memory_order_relaxed);
  return position == info.st_size;
}

// Waits for the child's verdict. While it writes a file, the replica gets a newline every
// second (it skips them) so that its read timeout does not fire during a long save.
bool ReplicaSession::wait_for_child() {
  while (true) {
    RdbChild::Status status = child_.wait(1000);
    if (status == RdbChild::Status::kOk) return true;
    if (status == RdbChild::Status::kFailed) {
      server_.log('#', "Background RDB transfer for replica " + name() + " failed");
      return false;
    }
    if (!alive()) return false;  // the destructor kills the child
    if (!diskless_ && !send("\n")) return false;
  }
}

// ---------------------------------------------------------------------------------------
// The stream

void ReplicaSession::stream() {
  ReplBuffer& buffer = replication_.buffer_;
  const int wake = client_->wake_fd();
  std::string chunk;
  bool linger = false;
  while (alive()) {
    if (waiting_first_ack_) {
      // After a "$EOF:" transfer the replica finds the end mark in the last bytes it read:
      // nothing may follow the mark until it says (REPLCONF ACK) it has loaded the image.
      pollfd fd = {client_->fd(), POLLIN, 0};
      if (::poll(&fd, 1, 1000) > 0 && !read_input(true)) return;
      continue;
    }
    if (buffer.read(reader_, &chunk, kStreamChunk) > 0) {
      if (!send(chunk)) return;
      const int64_t now = now_ms();
      if (now - last_input_check_ms_ >= kInputCheckIntervalMs) {
        last_input_check_ms_ = now;
        if (!read_input(false)) return;
      }
      linger = true;
      continue;
    }
    if (buffer.cut_off(reader_)) return;
    if (linger) {
      // Writes are flowing: let more of them accumulate for one short moment instead of
      // being woken for each (a wake-up costs writers a syscall inside their critical
      // section). Under load this sends one batch per linger; when idle, wake-ups are instant.
      linger = false;
      pollfd fd = {client_->fd(), POLLIN, 0};
      timespec pause = {0, kLingerNs};
      if (::ppoll(&fd, 1, &pause, nullptr) > 0 && !read_input(true)) return;
      continue;
    }
    if (!buffer.arm_wakeup(reader_)) continue;  // bytes arrived meanwhile
    pollfd fds[2] = {{client_->fd(), POLLIN, 0}, {wake, POLLIN, 0}};
    int ready = ::poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) client_->drain_wake();
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      last_input_check_ms_ = now_ms();
      if (!read_input(true)) return;
    }
  }
}

bool ReplicaSession::read_input(bool readable) {
  char chunk[16 * 1024];
  while (true) {
    ssize_t n = ::recv(client_->fd(), chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      input_.append(chunk, static_cast<size_t>(n));
      server_.stats.net_input_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      client_->last_interaction_ms.store(unix_time_ms(), std::memory_order_relaxed);
      readable = false;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return false;
  }
  (void)readable;
  RequestParser parser;
  size_t used = 0;
  while (used < input_.size()) {
    RequestParser::Status status = parser.parse(std::string_view(input_).substr(used));
    used += parser.consumed();
    if (status == RequestParser::Status::kNeedMore) break;
    if (status == RequestParser::Status::kError) {
      server_.log('#', "Protocol error (" + parser.error() + ") from replica " + name() + ": closing the link");
      return false;
    }
    if (!handle_command(parser.args())) return false;
  }
  input_.erase(0, used);
  if (input_.size() > 1024 * 1024) return false;  // a replica sends tiny commands
  return true;
}

bool ReplicaSession::handle_command(const std::vector<std::string_view>& args) {
  // A replica only ever sends REPLCONF ACK <offset> [FACK <offset>]; anything else is ignored,
  // as a reply would corrupt the stream it reads.
  if (args.size() >= 3 && equals_ignore_case(args[0], "replconf") && equals_ignore_case(args[1], "ack")) {
    int64_t offset = 0;
    if (!string_to_int64(args[2], &offset)) return true;
    if (offset > ack_offset_.load(std::memory_order_relaxed)) ack_offset_.store(offset, std::memory_order_relaxed);
    ack_time_ms_.store(now_ms(), std::memory_order_relaxed);
    waiting_first_ack_ = false;
    replication_.on_replica_ack();
  }
  return true;
}

void ReplicaSession::publish_lag() {
  if (reader_ == nullptr) return;
  client_->output_buffer_size.store(static_cast<size_t>(replication_.buffer_.lag(reader_)), std::memory_order_relaxed);
}

}  // namespace rd
