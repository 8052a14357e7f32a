// The connection thread: read a large chunk, run every complete command in it, write all the
// replies with one send. Blocking sockets throughout; poll() is used only while a command is
// blocked (BLPOP, WAIT) or while the client receives asynchronous data (pub/sub, MONITOR),
// since then two sources (the socket and the client's eventfd) can wake it.
#include "server/connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <shared_mutex>

#include "server/server.h"

namespace rd {
namespace {

constexpr size_t kInitialReadBuffer = 16 * 1024;
constexpr size_t kFlushThreshold = 64 * 1024;   // flush mid-batch beyond this much output
constexpr size_t kShrinkThreshold = 1024 * 1024;  // give back buffers larger than this when idle

// The bytes read from the socket and not yet consumed. Unlike std::string it never
// zero-fills the space it reads into.
class InputBuffer {
 public:
  InputBuffer() : data_(std::make_unique<char[]>(kInitialReadBuffer)), capacity_(kInitialReadBuffer) {}

  std::string_view pending() const { return {data_.get() + begin_, end_ - begin_}; }
  void consume(size_t n) { begin_ += n; }
  size_t size() const { return end_ - begin_; }
  size_t capacity() const { return capacity_; }

  // Makes room for at least one more read; false when `limit` would be exceeded.
  bool prepare(size_t limit) {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      if (capacity_ > kShrinkThreshold) reallocate(kInitialReadBuffer);
    }
    if (end_ < capacity_) return true;
    if (begin_ > 0) {  // compact: the partial command moves to the front
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (end_ < capacity_) return true;
    }
    if (capacity_ >= limit) return false;
    reallocate(std::min(capacity_ * 2, std::max(limit, kInitialReadBuffer)));
    return true;
  }
  char* write_position() { return data_.get() + end_; }
  size_t writable() const { return capacity_ - end_; }
  void commit(size_t n) { end_ += n; }

 private:
  void reallocate(size_t new_capacity) {
    auto fresh = std::make_unique<char[]>(new_capacity);
    std::memcpy(fresh.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    data_ = std::move(fresh);
    capacity_ = new_capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

class Connection {
 public:
  Connection(Server& server, Client& client) : server_(server), client_(client) {}

  void run() {
    while (!client_.killed() && !server_.shutting_down()) {
      if (!fill_input()) break;
      if (!process_input()) break;
      if (!flush()) break;
    }
    flush();
  }

 private:
  bool async_mode() const {
    return client_.has_flag(kClientPubSub) || client_.has_flag(kClientMonitor);
  }

  // Reads at least one chunk. False when the connection must close.
  bool fill_input() {
    size_t limit = static_cast<size_t>(server_.query_buffer_limit.load(std::memory_order_relaxed));
    if (!input_.prepare(limit)) {
      server_.log('#', "Closing client that reached max query buffer length: " + client_.peer_address);
      return false;
    }
    while (true) {
      const bool async = async_mode();
      if (async && !wait_async()) return false;
      // Idle in recv(): another thread may write pushes to the socket meanwhile (Client::push).
      while (!async && !client_.enter_idle()) {
        if (!flush()) return false;
      }
      ssize_t n = receive();
      if (!async) client_.leave_idle();
      if (n > 0) {
        input_.commit(static_cast<size_t>(n));
        server_.stats.net_input_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        client_.last_interaction_ms.store(unix_time_ms(), std::memory_order_relaxed);
        client_.query_buffer_size.store(input_.size(), std::memory_order_relaxed);
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return false;
    }
  }

  // recv(), also collecting the kernel's receive timestamp (Client::input_arrival_ns).
  ssize_t receive() {
    iovec data{input_.write_position(), input_.writable()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(client_.fd(), &message, 0);
    if (n <= 0) return n;
    client_.input_arrival_ns = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
        timespec stamp;
        std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
        client_.input_arrival_ns = static_cast<int64_t>(stamp.tv_sec) * 1000000000 + stamp.tv_nsec;
      }
    }
    return n;
  }

  // Subscribed / MONITOR clients: deliver queued messages until the socket has input.
  bool wait_async() {
    int wake = client_.wake_fd();
    while (true) {
      if (!flush()) return false;
      pollfd fds[2] = {{client_.fd(), POLLIN, 0}, {wake, POLLIN, 0}};
      int ready = ::poll(fds, 2, 1000);
      if (client_.killed() || server_.shutting_down()) return false;
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) continue;
      if (fds[1].revents & POLLIN) client_.drain_wake();
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) return true;
    }
  }

  // Runs every complete command in the buffer. False when the connection must close.
  bool process_input() {
    RequestParser& parser = client_.parser;
    parser.set_auth_required(server_.auth_required.load(std::memory_order_relaxed) && !client_.authenticated);
    parser.set_max_bulk_len(client_.has_flag(kClientMaster) ? INT64_MAX
                                                            : server_.proto_max_bulk_len.load(std::memory_order_relaxed));
    // One keyspace lock hold serves consecutive commands of this batch (server/keyspace_lock.h);
    // it is dropped before anything that writes to the socket or waits.
    KeyspaceLock batch(server_.keyspace.mutex());
    while (true) {
      RequestParser::Status status = parser.parse(input_.pending());
      input_.consume(parser.consumed());
      if (status == RequestParser::Status::kNeedMore) break;
      if (status == RequestParser::Status::kError) {
        batch.release();
        Reply(&client_.output).error(parser.error());
        server_.log('-', "Protocol error (" + parser.error() + ") from client: " + client_.peer_address);
        flush();
        return false;
      }
      ExecStatus result = server_.execute(client_, parser.args(), batch);
      if (result != ExecStatus::kDone || client_.has_flag(kClientReplica) || async_mode() ||
          client_.output.size() >= kFlushThreshold || client_.killed()) {
        batch.release();
      }
      if (client_.has_flag(kClientReplica)) {
        // PSYNC/SYNC made this connection a replica: after its +FULLRESYNC/+CONTINUE, the
        // replication code owns the socket until the replica goes away.
        flush();
        server_.replication->serve_replica(client_, input_.pending());
        return false;
      }
      if (result == ExecStatus::kBlocked && !wait_blocked()) return false;
      if (result == ExecStatus::kClose) return false;
      if (async_mode()) {
        client_.deliver(client_.output, 0);
        client_.output.clear();
      }
      if (client_.output.size() >= kFlushThreshold && !flush()) return false;
      if (client_.killed()) return false;
      parser.set_auth_required(server_.auth_required.load(std::memory_order_relaxed) && !client_.authenticated);
    }
    client_.query_buffer_size.store(input_.size(), std::memory_order_relaxed);
    return true;
  }

  // Waits until the blocked command is served, times out, or the client goes away.
  bool wait_blocked() {
    if (!flush()) return false;
    int wake = client_.wake_fd();  // exists before we look at the state: no lost wake-up
    while (true) {
      int64_t deadline = 0;
      {
        std::shared_lock<std::shared_mutex> lock(server_.keyspace.mutex());
        BlockedState* state = client_.blocked_state.get();
        if (state == nullptr) return true;
        if (state->done) break;
        deadline = state->deadline_ms;
      }
      // Invalidations reach a blocked client as they come (its output was flushed above).
      if (client_.has_pushes() && !flush()) {
        server_.finish_blocked(client_, true);
        return false;
      }
      int timeout_ms = 1000;
      if (deadline > 0) {
        int64_t left = deadline - unix_time_ms();
        if (left <= 0) {
          server_.finish_blocked(client_, true);
          return true;
        }
        timeout_ms = static_cast<int>(std::min<int64_t>(left, 1000));
      }
      pollfd fds[2] = {{wake, POLLIN, 0}, {client_.fd(), POLLRDHUP, 0}};
      int ready = ::poll(fds, 2, timeout_ms);
      if (ready < 0 && errno != EINTR) break;
      if (fds[0].revents & POLLIN) client_.drain_wake();
      if (client_.killed() || server_.shutting_down() || (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        server_.finish_blocked(client_, true);  // unregisters; the reply is never sent
        return false;
      }
    }
    server_.finish_blocked(client_, false);
    return true;
  }

  // Sends the outbox (pub/sub messages, and replies routed through it while subscribed), then
  // this batch's replies, then the pushes (invalidations). Everything in the outbox precedes
  // `output`: a client entering the subscribed state moves its pending output into the outbox
  // first. Pushes come last: every reply produced before an invalidation was queued is in
  // `output` (or was sent), so the client never caches a value after its invalidation. The
  // rest of a push another thread could not finish writing goes first of all.
  bool flush() {
    bool ok = !client_.killed();
    if (ok && (client_.has_outbox() || !client_.output.empty())) server_.persistence->sync_before_reply(client_);
    if (ok && client_.has_pushes()) {
      std::string lead;
      client_.take_push_lead(&lead);
      ok = write_all(client_.fd(), lead.data(), lead.size());
      server_.stats.net_output_bytes.fetch_add(lead.size(), std::memory_order_relaxed);
    }
    if (ok && client_.has_outbox()) {
      std::string queued;
      client_.take_outbox(&queued);
      ok = write_all(client_.fd(), queued.data(), queued.size());
      server_.stats.net_output_bytes.fetch_add(queued.size(), std::memory_order_relaxed);
    }
    if (ok && !client_.output.empty()) {
      ok = write_all(client_.fd(), client_.output.data(), client_.output.size());
      server_.stats.net_output_bytes.fetch_add(client_.output.size(), std::memory_order_relaxed);
    }
    if (ok && client_.has_pushes()) {
      std::string pushes;
      client_.take_pushes(&pushes);
      ok = write_all(client_.fd(), pushes.data(), pushes.size());
      server_.stats.net_output_bytes.fetch_add(pushes.size(), std::memory_order_relaxed);
    }
    if (client_.output.capacity() > kShrinkThreshold) {
      std::string().swap(client_.output);
    } else {
      client_.output.clear();
    }
    return ok;
  }

  Server& server_;
  Client& client_;
  InputBuffer input_;
};

}  // namespace

void serve_connection(Server& server, const std::shared_ptr<Client>& client) {
  Connection(server, *client).run();
  server.release_client_state(*client);
  server.remove_client(*client);
}

}  // namespace rd
