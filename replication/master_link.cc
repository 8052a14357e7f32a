#include "replication/master_link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "protocol/reply.h"
#include "protocol/request_parser.h"
#include "replication/link_reader.h"
#include "replication/replication.h"
#include "server/server.h"
#include "storage/numbers.h"
#include "storage/rdb.h"

namespace rd {
namespace {

constexpr size_t kEofMarkLength = 40;

std::string command(std::initializer_list<std::string_view> args) {
  std::string out;
  append_multibulk(&out, args.begin(), args.size());
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The RDB image as rdb_load reads it: straight from the link, never past its announced length,
// reporting progress for INFO (master_sync_read_bytes).
class LinkRdbSource : public RdbSource {
 public:
  LinkRdbSource(LinkReader& in, int64_t limit, int timeout_ms, LinkStatus& status)
      : in_(in), limit_(limit), timeout_ms_(timeout_ms), status_(status) {}

  bool read(char* data, size_t length) override {
    if (limit_ >= 0 && consumed_ + static_cast<int64_t>(length) > limit_) return false;
    if (!in_.read_exact(data, length, timeout_ms_)) return false;
    consumed_ += static_cast<int64_t>(length);
    if (consumed_ - reported_ >= 64 * 1024) {
      reported_ = consumed_;
      status_.transfer_read.store(consumed_, std::memory_order_relaxed);
      status_.last_io_ms.store(unix_time_ms(), std::memory_order_relaxed);
    }
    return true;
  }
  int64_t consumed() const { return consumed_; }

 private:
  LinkReader& in_;
  const int64_t limit_;
  const int timeout_ms_;
  LinkStatus& status_;
  int64_t consumed_ = 0;
  int64_t reported_ = 0;
};

std::string local_address(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return "?:0";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

MasterLink::MasterLink(Server& server, Replication& replication, std::string host, int port)
    : server_(server), replication_(replication), host_(std::move(host)), port_(port) {}

MasterLink::~MasterLink() { stop(); }

void MasterLink::start() {
  replication_.link_status_.state.store(LinkStatus::kConnect);
  thread_ = std::thread([this] { run(); });
}

void MasterLink::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true, std::memory_order_release);
    if (live_fd_ >= 0) ::shutdown(live_fd_, SHUT_RDWR);
  }
  wake_up_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MasterLink::set_live_fd(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  live_fd_ = fd;
  if (fd >= 0 && stopping()) ::shutdown(fd, SHUT_RDWR);  // stop() came first: fail at once
}

void MasterLink::sleep_for_ms(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_up_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping(); });
}

void MasterLink::run() {
  replication_.link_thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  int64_t delay_ms = 0;
  while (!stopping() && !server_.shutting_down()) {
    if (delay_ms > 0) sleep_for_ms(delay_ms);
    if (stopping() || server_.shutting_down()) break;
    const int64_t started_ms = monotonic_us() / 1000;
    const bool established = session();
    const bool lasted = monotonic_us() / 1000 - started_ms >= 1000;
    replication_.link_status_.state.store(LinkStatus::kConnect);
    // After a link that worked for a while, retry at once (the backlog may still cover us);
    // otherwise back off: 100 ms, doubling up to 1 s.
    delay_ms = established && lasted ? 0 : std::min<int64_t>(std::max<int64_t>(delay_ms * 2, 100), 1000);
  }
  replication_.link_thread_id_.store(std::thread::id(), std::memory_order_release);
}

bool MasterLink::session() {
  LinkStatus& status = replication_.link_status_;
  timeout_ms_ = std::max<int64_t>(1, server_.config.get_int("repl-timeout")) * 1000;
  status.state.store(LinkStatus::kConnecting);
  server_.log('*', "Connecting to MASTER " + host_ + ":" + std::to_string(port_));
  UniqueFd socket = connect_to_master();
  if (!socket.valid()) return false;
  server_.log('*', "MASTER <-> REPLICA sync started");
  set_live_fd(socket.get());
  struct LiveFdReset {
    MasterLink* link;
    ~LiveFdReset() { link->set_live_fd(-1); }
  } reset_live_fd{this};  // before `socket` closes

  LinkReader in(socket.get());
  status.state.store(LinkStatus::kHandshake);
  if (!handshake(socket.get(), in)) return false;
  std::string replid;
  int64_t offset = 0;
  const Psync result = psync(socket.get(), in, &replid, &offset);
  if (result == Psync::kRetry) return false;
  int db = replication_.cached_master().db;
  if (result == Psync::kFull) {
    status.state.store(LinkStatus::kTransfer);
    if (!receive_snapshot(in, replid, offset, &db)) return false;
  }
  apply_stream(std::move(socket), in, db);
  return true;
}

UniqueFd MasterLink::connect_to_master() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  if (int error = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &found); error != 0) {
    server_.log('#', "Unable to connect to MASTER: " + std::string(gai_strerror(error)));
    return UniqueFd();
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* a = found; a != nullptr && !stopping(); a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    int result = ::connect(fd.get(), a->ai_addr, a->ai_addrlen);
    if (result != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    // Wait for the connection in short slices so stop() is honoured promptly.
    int error = result == 0 ? 0 : ETIMEDOUT;
    for (int64_t waited = 0; result != 0 && waited < timeout_ms_ && !stopping(); waited += 100) {
      pollfd p = {fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      socklen_t length = sizeof(error);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
      break;
    }
    if (error != 0) {
      last_error = std::strerror(error);
      continue;
    }
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    timeval send_timeout{};
    send_timeout.tv_sec = static_cast<time_t>(timeout_ms_ / 1000);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
    return fd;
  }
  server_.log('#', "Error condition on socket for SYNC: " + last_error);
  return UniqueFd();
}

bool MasterLink::handshake(int fd, LinkReader& in) {
  std::string reply;
  if (!write_all(fd, "*1\r\n$4\r\nPING\r\n", 14) || !in.read_line(&reply, static_cast<int>(timeout_ms_))) {
    server_.log('#', "Master did not reply to PING: the link is down");
    return false;
  }
  // An error that only says "authenticate first" is fine: AUTH follows.
  if (starts_with(reply, "-") && !starts_with(reply, "-NOAUTH") && !starts_with(reply, "-NOPERM") &&
      !starts_with(reply, "-ERR operation not permitted")) {
    server_.log('#', "Error reply to PING from master: '" + reply + "'");
    return false;
  }
  server_.log('*', "Master replied to PING, replication can continue...");

  // The rest is sent in one go, then each reply is read in order (as Redis 7.0 does).
  const std::string password = server_.config.get("masterauth");
  const std::string user = server_.config.get("masteruser");
  const std::string announce_ip = server_.config.get("replica-announce-ip");
  int64_t port = server_.config.get_int("replica-announce-port");
  if (port == 0) port = server_.config.get_int("port");
  std::string batch;
  if (!password.empty()) batch += user.empty() ? command({"AUTH", password}) : command({"AUTH", user, password});
  batch += command({"REPLCONF", "listening-port", std::to_string(port)});
  if (!announce_ip.empty()) batch += command({"REPLCONF", "ip-address", announce_ip});
  batch += command({"REPLCONF", "capa", "eof", "capa", "psync2"});
  if (!write_all(fd, batch.data(), batch.size())) return false;

  auto read_reply = [&](std::string* out) { return in.read_line(out, static_cast<int>(timeout_ms_)); };
  if (!password.empty()) {
    if (!read_reply(&reply)) return false;
    if (starts_with(reply, "-")) {
      server_.log('#', "Unable to AUTH to MASTER: " + reply);
      return false;
    }
  }
  if (!read_reply(&reply)) return false;
  if (starts_with(reply, "-")) server_.log('*', "(Non critical) Master does not understand REPLCONF listening-port: " + reply);
  if (!announce_ip.empty()) {
    if (!read_reply(&reply)) return false;
    if (starts_with(reply, "-")) server_.log('*', "(Non critical) Master does not understand REPLCONF ip-address: " + reply);
  }
  if (!read_reply(&reply)) return false;
  if (starts_with(reply, "-")) server_.log('*', "(Non critical) Master does not understand REPLCONF capa: " + reply);
  return true;
}

MasterLink::Psync MasterLink::psync(int fd, LinkReader& in, std::string* replid, int64_t* offset) {
  const Replication::CachedMaster cached = replication_.cached_master();
  std::string request;
  if (cached.valid) {
    request = command({"PSYNC", cached.replid, std::to_string(cached.offset + 1)});
    server_.log('*', "Trying a partial resynchronization (request " + cached.replid + ":" +
                         std::to_string(cached.offset + 1) + ").");
  } else {
    request = command({"PSYNC", "?", "-1"});
    server_.log('*', "Partial resynchronization not possible (no cached master)");
  }
  if (!write_all(fd, request.data(), request.size())) return Psync::kRetry;
  std::string reply;
  do {  // a master may send newlines to keep the link alive before it answers
    if (!in.read_line(&reply, static_cast<int>(timeout_ms_))) {
      server_.log('#', "Master did not answer PSYNC: the link is down");
      return Psync::kRetry;
    }
  } while (reply.empty());

  if (starts_with(reply, "+FULLRESYNC")) {
    std::vector<std::string> words;
    RequestParser::split_args(reply, &words);
    if (words.size() != 3 || words[1].size() != 40 || !string_to_int64(words[2], offset)) {
      server_.log('#', "Master replied with wrong +FULLRESYNC syntax.");
      return Psync::kRetry;
    }
    *replid = words[1];
    server_.log('*', "Full resync from master: " + *replid + ":" + words[2]);
    return Psync::kFull;
  }
  if (starts_with(reply, "+CONTINUE")) {
    std::string new_replid = reply.size() > 10 ? reply.substr(10) : "";
    while (!new_replid.empty() && new_replid.back() == ' ') new_replid.pop_back();
    *offset = cached.offset;
    if (new_replid.size() == 40 && new_replid != cached.replid) {
      replication_.adopt_master_replid(new_replid);
      server_.log('*', "Master replication ID changed to " + new_replid);
    }
    server_.log('*', "Successful partial resynchronization with master.");
    server_.log('*', "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    return Psync::kContinue;
  }
  if (starts_with(reply, "-NOMASTERLINK") || starts_with(reply, "-LOADING")) {
    server_.log('*', "Master is currently unable to PSYNC but should be in the future: " + reply);
  } else {
    server_.log('#', "Unexpected reply to PSYNC from master: " + reply);
  }
  return Psync::kRetry;
}

bool MasterLink::receive_snapshot(LinkReader& in, const std::string& replid, int64_t offset, int* stream_db) {
  LinkStatus& status = replication_.link_status_;
  std::string header;
  do {  // newlines before the payload keep the link alive while the master prepares it
    if (!in.read_line(&header, static_cast<int>(timeout_ms_))) {
      server_.log('#', "I/O error reading bulk count from MASTER");
      return false;
    }
  } while (header.empty());
  if (header[0] == '-') {
    server_.log('#', "MASTER aborted replication with an error: " + header.substr(1));
    return false;
  }
  if (header[0] != '$') {
    server_.log('#', "Bad protocol from MASTER, the first byte is not '$' (we received '" + header + "')");
    return false;
  }
  std::string mark;
  int64_t size = -1;
  if (starts_with(header, "$EOF:") && header.size() == 5 + kEofMarkLength) {
    mark = header.substr(5);
    server_.log('*', "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF");
  } else if (string_to_int64(std::string_view(header).substr(1), &size) && size >= 0) {
    server_.log('*', "MASTER <-> REPLICA sync: receiving " + std::to_string(size) + " bytes from master");
  } else {
    server_.log('#', "Bad bulk length from MASTER: " + header);
    return false;
  }
  status.transfer_size.store(size);
  status.transfer_read.store(0);

  // Load into a fresh image: clients keep reading the old data until this one is complete.
  Keyspace fresh(server_.keyspace.db_count());
  LinkRdbSource source(in, size, static_cast<int>(timeout_ms_), status);
  server_.log('*', "MASTER <-> REPLICA sync: Loading DB in memory");
  RdbLoadResult result = rdb_load(source, fresh, server_.encoding_limits(), unix_time_ms(), false);
  if (!result.error.empty()) {
    server_.log('#', "Failed trying to load the MASTER synchronization DB from socket: " + result.error);
    return false;
  }
  if (!mark.empty()) {
    char trailer[kEofMarkLength];
    if (!in.read_exact(trailer, kEofMarkLength, static_cast<int>(timeout_ms_)) ||
        std::string_view(trailer, kEofMarkLength) != mark) {
      server_.log('#', "Failed trying to load the MASTER synchronization DB from socket: EOF mark mismatch");
      return false;
    }
  } else {
    // An image shorter than announced: skip what follows it up to the announced length.
    std::string rest(static_cast<size_t>(size - source.consumed()), '\0');
    if (!in.read_exact(rest.data(), rest.size(), static_cast<int>(timeout_ms_))) return false;
  }
  const int db = result.replication.repl_stream_db;
  *stream_db = db >= 0 && db < server_.keyspace.db_count() ? db : 0;
  server_.log('*', "Done loading RDB, keys loaded: " + std::to_string(result.keys_loaded) +
                       ", keys expired: " + std::to_string(result.keys_expired) + ".");
  if (!replication_.install_full_sync(fresh, result.function_libraries, replid, offset)) return false;
  server_.log('*', "MASTER <-> REPLICA sync: Finished with success");
  return true;  // `fresh` now holds the old data: freed here, outside any lock
}

// ---------------------------------------------------------------------------------------
// The stream

void MasterLink::apply_stream(UniqueFd socket, LinkReader& in, int db) {
  LinkStatus& status = replication_.link_status_;
  const int fd = socket.get();
  const std::string local = local_address(fd);
  std::shared_ptr<Client> master = server_.add_client(std::move(socket), host_ + ":" + std::to_string(port_), local);
  master->set_flag(kClientMaster);
  master->authenticated = true;
  master->db.store(db);
  replication_.link_up(master);
  unforwarded_.clear();
  ack_requested_ = false;
  const int64_t base = replication_.offset();
  const uint64_t stream_start = in.total_read() - in.pending().size();
  status.read_offset.store(base + static_cast<int64_t>(in.pending().size()));
  status.last_io_ms.store(unix_time_ms());
  replication_.applying_link_.store(this, std::memory_order_release);
  status.state.store(LinkStatus::kConnected);
  send_ack(fd);  // a master streaming a diskless sync waits for this first ACK

  RequestParser parser;
  parser.set_max_bulk_len(INT64_MAX);
  while (!stopping() && !master->killed() && !server_.shutting_down()) {
    if (!apply_pending(*master, in, parser)) {
      server_.log('#', "Protocol error from MASTER (" + parser.error() + "): closing the link");
      break;
    }
    const int64_t now = monotonic_us() / 1000;
    if (now - last_ack_ms_ >= 1000) send_ack(fd);
    const int wait_ms = static_cast<int>(std::clamp<int64_t>(1000 - (now - last_ack_ms_), 1, 1000));
    LinkReader::Fill result = in.fill(wait_ms);
    if (result == LinkReader::Fill::kData) {
      status.last_io_ms.store(unix_time_ms(), std::memory_order_relaxed);
      status.read_offset.store(base + static_cast<int64_t>(in.total_read() - stream_start), std::memory_order_relaxed);
      master->last_interaction_ms.store(unix_time_ms(), std::memory_order_relaxed);
    } else if (result == LinkReader::Fill::kClosed) {
      server_.log('#', "Connection with master lost.");
      break;
    } else if (unix_time_ms() - status.last_io_ms.load() > timeout_ms_) {
      server_.log('#', "MASTER timeout: no data nor PING received...");
      break;
    }
  }
  replication_.applying_link_.store(nullptr, std::memory_order_release);
  unforwarded_.clear();  // a transaction cut short: the next PSYNC resumes before its MULTI
  server_.log('*', "Caching the disconnected master state.");
  replication_.link_down(master->db.load());
  set_live_fd(-1);
  server_.release_client_state(*master);
  server_.remove_client(*master);
}

bool MasterLink::apply_pending(Client& master, LinkReader& in, RequestParser& parser) {
  while (!in.pending().empty()) {
    std::string_view data = in.pending();
    RequestParser::Status status = parser.parse(data);
    const size_t used = parser.consumed();
    if (status == RequestParser::Status::kError) return false;
    unforwarded_.append(data.data(), used);  // newlines skipped by the parser count as well
    if (status == RequestParser::Status::kNeedMore) {
      in.consume(used);
      if (!master.has_flag(kClientMulti)) feed_pending();
      return true;
    }
    if (server_.execute(master, parser.args()) == ExecStatus::kBlocked) {
      server_.finish_blocked(master, true);  // never park the link: answer as a timeout
    }
    master.output.clear();  // a master gets no replies
    in.consume(used);
    if (ack_requested_) {
      ack_requested_ = false;
      send_ack(master.fd());  // the offset before the GETACK's own bytes
    }
    if (!master.has_flag(kClientMulti)) feed_pending();
  }
  return true;
}

void MasterLink::feed_pending() {
  if (unforwarded_.empty()) return;
  replication_.proxy(unforwarded_);
  unforwarded_.clear();
}

bool MasterLink::send_ack(int fd) {
  last_ack_ms_ = monotonic_us() / 1000;
  const std::string ack = command({"REPLCONF", "ACK", std::to_string(replication_.offset())});
  return write_all(fd, ack.data(), ack.size());
}

}  // namespace rd
