// The master side: PSYNC/SYNC (partial and full resynchronization), REPLCONF, WAIT, and the
// write-stream consumer that turns propagated commands into the replication stream.
#include <poll.h>

#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "replication/master_link.h"
#include "replication/replica_session.h"
#include "protocol/request_parser.h"
#include "replication/replication.h"
#include "server/command_context.h"
#include "server/server.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/scripting.h"
#include "storage/numbers.h"

namespace rd {
namespace {

std::string replica_name(const Client& client, const ReplicaHandshake& handshake) {
  std::string host = handshake.announced_ip;
  if (host.empty()) host = client.peer_address.substr(0, client.peer_address.rfind(':'));
  return host + ":" + std::to_string(handshake.listening_port);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The stream

void Replication::on_command(int db, const std::string_view* args, size_t count) {
  if (is_replica()) {
    // A replica forwards its master's exact bytes instead (MasterLink), so that offsets agree
    // along a chain. A command applied from the master arrives here while its effects are
    // being made, under the exclusive lock: forwarding its bytes now keeps a snapshot taken
    // for one of our own replicas consistent with our offset.
    if (std::this_thread::get_id() == link_thread_id_.load(std::memory_order_acquire)) {
      if (MasterLink* link = applying_link_.load(std::memory_order_acquire)) link->feed_pending();
    }
    return;
  }
  encoded_.clear();
  encoder_.encode(db, args, count, &encoded_);
  buffer_.append(encoded_);
}

void Replication::ensure_backlog_locked() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (backlog_active_) return;
  buffer_.reset(buffer_.end_offset());  // the first byte of history is the next one
  backlog_active_ = true;
  last_getack_end_ = -1;
  server_.write_stream.add_consumer(this);
}

bool Replication::backlog_active() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return backlog_active_;
}

void Replication::free_backlog() {
  std::unique_lock<std::shared_mutex> keyspace_lock(server_.keyspace.mutex());
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (!backlog_active_ || is_replica()) return;
  {
    std::shared_lock<std::shared_mutex> replicas_lock(replicas_mutex_);
    if (!replicas_.empty()) return;
  }
  server_.write_stream.remove_consumer(this);
  backlog_active_ = false;
  buffer_.reset(buffer_.end_offset());
  // Nobody can continue this history any more: start a new one.
  replid_ = new_replid();
  replid2_ = std::string(40, '0');
  second_offset_ = -1;
}

// ---------------------------------------------------------------------------------------
// REPLCONF

void Replication::replconf(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) return ctx.reply.error(kSyntaxError);
  ReplicaHandshake handshake;
  {
    std::lock_guard<std::mutex> lock(handshakes_mutex_);
    auto it = handshakes_.find(ctx.client.id);
    if (it != handshakes_.end()) handshake = it->second;
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    std::string_view option = ctx.arg(i);
    std::string_view value = ctx.arg(i + 1);
    if (equals_ignore_case(option, "listening-port")) {
      int64_t port = 0;
      if (!parse_int_arg(ctx, value, &port)) return;
      handshake.listening_port = static_cast<int>(port);
    } else if (equals_ignore_case(option, "ip-address")) {
      if (value.size() >= 46) {
        return ctx.reply.error("ERR REPLCONF ip-address provided by replica instance is too long: " +
                               std::to_string(value.size()) + " bytes");
      }
      handshake.announced_ip = std::string(value);
    } else if (equals_ignore_case(option, "capa")) {
      if (equals_ignore_case(value, "eof")) handshake.capa_eof = true;
      if (equals_ignore_case(value, "psync2")) handshake.capa_psync2 = true;
    } else if (equals_ignore_case(option, "ack")) {
      return;  // only attached replicas ACK (their session reads it); never a reply
    } else if (equals_ignore_case(option, "getack")) {
      // From our master: answer with our offset on the link. Never a reply.
      if (ctx.client.has_flag(kClientMaster) &&
          std::this_thread::get_id() == link_thread_id_.load(std::memory_order_acquire)) {
        if (MasterLink* link = applying_link_.load(std::memory_order_acquire)) link->request_ack();
      }
      return;
    } else if (equals_ignore_case(option, "rdb-only")) {
      int64_t flag = 0;
      if (!parse_int_arg(ctx, value, &flag)) return;
      if (flag < 0 || flag > 1) return ctx.reply.error("ERR value is out of range, value must between 0 and 1");
      handshake.rdb_only = flag == 1;
    } else if (equals_ignore_case(option, "rdb-filter-only")) {
      // Include filters, as Redis: none at all excludes everything; "functions" keeps those.
      std::vector<std::string> filters;
      if (!RequestParser::split_args(value, &filters)) return ctx.reply.error("ERR Missing rdb-filter-only values");
      handshake.exclude_data = true;
      handshake.exclude_functions = true;
      for (const std::string& filter : filters) {
        if (!equals_ignore_case(filter, "functions")) {
          return ctx.reply.error("ERR Unsupported rdb-filter-only option: " + filter);
        }
        handshake.exclude_functions = false;
      }
    } else {
      return ctx.reply.error("ERR Unrecognized REPLCONF option: " + std::string(option));
    }
  }
  {
    std::lock_guard<std::mutex> lock(handshakes_mutex_);
    handshakes_[ctx.client.id] = handshake;
  }
  ctx.reply.ok();
}

ReplicaHandshake Replication::take_handshake(uint64_t client_id) {
  std::lock_guard<std::mutex> lock(handshakes_mutex_);
  auto it = handshakes_.find(client_id);
  if (it == handshakes_.end()) return {};
  ReplicaHandshake handshake = it->second;
  handshakes_.erase(it);
  return handshake;
}

// ---------------------------------------------------------------------------------------
// PSYNC / SYNC

void Replication::psync(CommandContext& ctx, bool old_sync) {
  Client& client = ctx.client;
  if (client.has_flag(kClientReplica) || client.has_flag(kClientMaster)) return;
  if (is_replica() && link_status_.state.load() != LinkStatus::kConnected) {
    return ctx.reply.error("NOMASTERLINK Can't SYNC while not connected with my master");
  }
  std::shared_ptr<Client> owner = server_.find_client(client.id);
  if (owner == nullptr) return;
  const ReplicaHandshake handshake = take_handshake(client.id);
  const std::string name = replica_name(client, handshake);
  server_.log('*', "Replica " + name + " asks for synchronization");
  if (!old_sync) {
    int64_t offset = 0;
    if (!string_to_int64(ctx.arg(2), &offset)) {
      server_.log('#', "Replica " + name + " asks for synchronization but with a wrong offset");
      return ctx.reply.error(kNotIntegerError);
    }
    // An rdb-only client (redis-cli --rdb) always wants a snapshot.
    if (!handshake.rdb_only && try_partial_resync(ctx, owner, handshake, ctx.arg(1), offset)) {
      sync_partial_ok_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (ctx.arg(1) != "?") sync_partial_err_.fetch_add(1, std::memory_order_relaxed);
  }
  start_full_resync(ctx, owner, handshake, old_sync);
}

bool Replication::try_partial_resync(CommandContext& ctx, const std::shared_ptr<Client>& client,
                                     const ReplicaHandshake& handshake, std::string_view replid, int64_t next) {
  const std::string name = replica_name(*client, handshake);
  std::string my_replid;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    my_replid = replid_;
    const bool same_history = replid == replid_ || (replid == replid2_ && next <= second_offset_);
    if (!same_history) {
      if (replid == "?") {
        server_.log('*', "Full resync requested by replica " + name);
      } else {
        server_.log('*', "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '" +
                             std::string(replid) + "', my replication IDs are '" + replid_ + "' and '" + replid2_ + "')");
      }
      return false;
    }
  }
  auto session = std::make_shared<ReplicaSession>(*this, server_, client, handshake, false);
  if (!backlog_active() || !session->start_partial_sync(next - 1)) {
    server_.log('*', "Unable to partial resync with replica " + name + " for lack of backlog (Replica request was: " +
                         std::to_string(next) + ").");
    return false;
  }
  ctx.reply.simple(handshake.capa_psync2 ? "CONTINUE " + my_replid : std::string("CONTINUE"));
  {
    std::unique_lock<std::shared_mutex> lock(replicas_mutex_);
    replicas_.push_back(session);
  }
  client->set_flag(kClientReplica);
  server_.log('*', "Partial resynchronization request from " + name + " accepted. Sending " +
                       std::to_string(buffer_.end_offset() - next + 1) + " bytes of backlog starting from offset " +
                       std::to_string(next) + ".");
  return true;
}

void Replication::start_full_resync(CommandContext& ctx, const std::shared_ptr<Client>& client,
                                    const ReplicaHandshake& handshake, bool old_sync) {
  ensure_backlog_locked();
  const int64_t offset = buffer_.end_offset();
  std::string replid;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    replid = replid_;
  }
  RdbSaveOptions options;
  options.replication.repl_id = replid;
  options.replication.repl_offset = offset;
  options.replication.repl_stream_db = 0;
  options.now_ms = unix_time_ms();
  options.compress = server_.config.get_bool("rdbcompression");
  options.checksum = server_.config.get_bool("rdbchecksum");
  options.used_memory = server_.used_memory();
  // Keys already expired are sent too (as Redis does): the replica drops them when our DEL
  // arrives, so its dataset matches ours at every offset.
  options.skip_expired = false;
  options.key_save_delay = server_.config.get_int("rdb-key-save-delay");
  if (!handshake.exclude_functions) options.function_libraries = function_library_codes(server_.scripting->functions());
  options.exclude_data = handshake.exclude_data;
  const bool diskless = handshake.capa_eof && server_.config.get_bool("repl-diskless-sync");
  auto session = std::make_shared<ReplicaSession>(*this, server_, client, handshake, old_sync);
  if (!session->start_full_sync(options, diskless, offset)) {
    server_.log('#', "Can't BGSAVE for replication: fork failed");
    return ctx.reply.error("ERR Unable to perform background save for the replica");
  }
  // The replica starts from a snapshot: the first command it gets must say which db it is for.
  encoder_.force_select();
  if (!old_sync) ctx.reply.simple("FULLRESYNC " + replid + " " + std::to_string(offset));
  {
    std::unique_lock<std::shared_mutex> lock(replicas_mutex_);
    replicas_.push_back(session);
  }
  client->set_flag(kClientReplica);
  sync_full_.fetch_add(1, std::memory_order_relaxed);
  server_.log('*', std::string("Starting BGSAVE for SYNC with target: ") + (diskless ? "replicas sockets" : "disk"));
  server_.log('*', "Background RDB transfer started by pid " + std::to_string(session->child_pid()));
}

void Replication::serve_replica(Client& client, std::string_view leftover) {
  std::shared_ptr<ReplicaSession> session;
  {
    std::shared_lock<std::shared_mutex> lock(replicas_mutex_);
    for (const auto& s : replicas_) {
      if (s->client().get() == &client) session = s;
    }
  }
  if (session == nullptr) return;
  session->run(leftover);
  remove_session(session.get());
}

void Replication::remove_session(ReplicaSession* session) {
  std::unique_lock<std::shared_mutex> lock(replicas_mutex_);
  replicas_.erase(std::remove_if(replicas_.begin(), replicas_.end(),
                                 [session](const std::shared_ptr<ReplicaSession>& s) { return s.get() == session; }),
                  replicas_.end());
  if (replicas_.empty()) no_replicas_since_ms_.store(unix_time_ms(), std::memory_order_relaxed);
}

std::vector<std::shared_ptr<ReplicaSession>> Replication::sessions() const {
  std::shared_lock<std::shared_mutex> lock(replicas_mutex_);
  return replicas_;
}

void Replication::disconnect_replicas() {
  for (const std::shared_ptr<ReplicaSession>& session : sessions()) session->client()->kill();
}

// ---------------------------------------------------------------------------------------
// WAIT

int64_t Replication::count_acked(int64_t offset) const {
  std::shared_lock<std::shared_mutex> lock(replicas_mutex_);
  int64_t count = 0;
  for (const auto& session : replicas_) {
    if (session->state() == ReplicaSession::State::kOnline && !session->rdb_only() &&
        session->ack_offset() >= offset) {
      count++;
    }
  }
  return count;
}

void Replication::request_acks() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  if (!backlog_active_ || is_replica()) return;
  if (last_getack_end_ == buffer_.end_offset()) return;  // the stream already ends with one
  buffer_.append(kGetAckCommand);
  last_getack_end_ = buffer_.end_offset();
}

void Replication::on_replica_ack() {
  std::lock_guard<std::mutex> lock(waiters_mutex_);
  for (Client* client : waiters_) client->wake();
}

void Replication::wait(CommandContext& ctx, int64_t needed, int64_t timeout_ms) {
  Client& client = ctx.client;
  const int64_t target = client.wait_target_offset;
  int64_t acked = count_acked(target);
  if (acked >= needed || !ctx.may_block()) return ctx.reply.integer(acked);
  const int wake = client.wake_fd();  // exists before we register: no lost wake-up
  {
    std::lock_guard<std::mutex> lock(waiters_mutex_);
    waiters_.push_back(&client);
  }
  request_acks();
  const int64_t deadline = timeout_ms > 0 ? unix_time_ms() + timeout_ms : 0;
  while (true) {
    acked = count_acked(target);
    if (acked >= needed) break;
    int wait_ms = 1000;
    if (deadline > 0) {
      const int64_t left = deadline - unix_time_ms();
      if (left <= 0) break;
      wait_ms = static_cast<int>(std::min<int64_t>(left, 1000));
    }
    pollfd fds[2] = {{wake, POLLIN, 0}, {client.fd(), POLLRDHUP, 0}};
    int ready = ::poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) client.drain_wake();
    if (client.killed() || server_.shutting_down() || (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) break;
  }
  {
    std::lock_guard<std::mutex> lock(waiters_mutex_);
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), &client), waiters_.end());
  }
  ctx.reply.integer(acked);
}

}  // namespace rd
