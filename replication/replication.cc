// Roles (master, replica of host:port), replication IDs and offsets, the replica side's hooks
// for the master link, the cron, INFO and ROLE. The master side's commands live in
// replication_master.cc.
//
// Replication IDs: replid_ names the history our stream belongs to. A replica adopts its
// master's; a promoted replica (REPLICAOF NO ONE) starts a new one and keeps the old one as
// replid2_, valid up to second_offset_, so replicas that followed the same master can still
// continue with a partial resync from us.
#include "replication/replication.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "protocol/reply.h"
#include "replication/master_link.h"
#include "replication/replica_session.h"
#include "server/command_context.h"
#include "server/info.h"
#include "server/server.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/scripting.h"
#include "storage/numbers.h"

namespace rd {
namespace {

const std::string kNoReplid(40, '0');

std::string client_description(const Client& client) {
  return "id=" + std::to_string(client.id) + " addr=" + client.peer_address + " laddr=" + client.local_address +
         " user=default";
}

}  // namespace

Replication::Replication(Server& server)
    : server_(server), buffer_(server.config.get_int("repl-backlog-size")) {
  replid_ = new_replid();
  replid2_ = kNoReplid;
  no_replicas_since_ms_.store(unix_time_ms());
  last_ping_ms_ = unix_time_ms();
  apply_output_limits();
  // `replicaof` from the command line or config file: a replica from the start (loading at
  // startup already behaves as one); the link starts in start().
  std::istringstream words(server_.config.get("replicaof"));
  std::string host;
  int port = 0;
  if (words >> host >> port) {
    master_host_ = host;
    master_port_ = port;
    replica_.store(true, std::memory_order_release);
  }
}

Replication::~Replication() { shutdown(); }

std::string Replication::new_replid() {
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  while (id.size() < 40) {
    uint64_t bits = server_.random64();
    for (int i = 0; i < 16 && id.size() < 40; i++, bits >>= 4) id.push_back(kHex[bits & 15]);
  }
  return id;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

void Replication::start() {
  std::lock_guard<std::mutex> control(control_mutex_);
  if (!is_replica() || link_ != nullptr) return;
  std::string host;
  int port = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    host = master_host_;
    port = master_port_;
  }
  link_ = std::make_unique<MasterLink>(server_, *this, host, port);
  link_->start();
}

void Replication::shutdown() {
  std::lock_guard<std::mutex> control(control_mutex_);
  stop_link();
}

void Replication::stop_link() {
  if (link_ == nullptr) return;
  link_->stop();
  link_.reset();
}

std::string Replication::config_changed(std::string_view name) {
  if (name == "replicaof") return "can't set immutable config";  // as Redis: REPLICAOF changes it
  if (name == "repl-backlog-size") buffer_.set_backlog_size(server_.config.get_int("repl-backlog-size"));
  if (name == "client-output-buffer-limit") apply_output_limits();
  if (name == "min-replicas-max-lag" || name == "min-replicas-to-write") refresh_good_replicas();
  return "";
}

void Replication::apply_output_limits() {
  std::istringstream in(server_.config.get("client-output-buffer-limit"));
  std::string cls;
  ReplBuffer::Limits limits;
  int64_t hard = 0, soft = 0, seconds = 0;
  while (in >> cls >> hard >> soft >> seconds) {
    if (cls == "slave" || cls == "replica") limits = {hard, soft, seconds};
  }
  buffer_.set_limits(limits);
}

// ---------------------------------------------------------------------------------------
// Roles

void Replication::replicaof(CommandContext& ctx, const std::string& host, int port) {
  if (!ctx.may_block()) {  // inside EXEC: the keyspace lock is ours, the change must wait
    std::lock_guard<std::mutex> lock(state_mutex_);
    deferred_role_ = host + " " + std::to_string(port);
    role_change_pending_.store(true, std::memory_order_release);
    return ctx.reply.ok();
  }
  std::lock_guard<std::mutex> control(control_mutex_);
  if (is_replica()) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (master_host_ == host && master_port_ == port) {
      server_.log('*', "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
      return ctx.reply.simple("OK Already connected to specified master");
    }
  }
  become_replica(host, port);
  server_.log('*', "REPLICAOF " + host + ":" + std::to_string(port) + " enabled (user request from '" +
                       client_description(ctx.client) + "')");
  ctx.reply.ok();
}

void Replication::replicaof_no_one(CommandContext& ctx) {
  if (!ctx.may_block()) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    deferred_role_ = "no one";
    role_change_pending_.store(true, std::memory_order_release);
    return ctx.reply.ok();
  }
  std::lock_guard<std::mutex> control(control_mutex_);
  if (is_replica()) {
    become_master();
    server_.log('*', "MASTER MODE enabled (user request from '" + client_description(ctx.client) + "')");
  }
  ctx.reply.ok();
}

// REQUIRES: control_mutex_.
void Replication::become_replica(const std::string& host, int port) {
  const bool was_master = !is_replica();
  stop_link();
  {
    std::unique_lock<std::shared_mutex> keyspace_lock(server_.keyspace.mutex());
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (was_master) {
      // Our own history is what we have: the new master may well continue it (PSYNC2).
      cached_ = CachedMaster{true, replid_, buffer_.end_offset(), std::max(0, encoder_.selected_db())};
    }
    master_host_ = host;
    master_port_ = port;
    replica_.store(true, std::memory_order_release);
  }
  server_.config.set("replicaof", host + " " + std::to_string(port));
  link_ = std::make_unique<MasterLink>(server_, *this, host, port);
  link_->start();
}

// REQUIRES: control_mutex_.
void Replication::become_master() {
  stop_link();
  {
    std::unique_lock<std::shared_mutex> keyspace_lock(server_.keyspace.mutex());
    std::lock_guard<std::mutex> lock(state_mutex_);
    // Our data so far is our master's history up to our offset: replicas of that history
    // may continue from us. What we write from now on is a new history.
    replid2_ = replid_;
    second_offset_ = buffer_.end_offset() + 1;
    replid_ = new_replid();
    master_host_.clear();
    master_port_ = 0;
    cached_ = CachedMaster{};
    master_client_.reset();
    encoder_.force_select();
    link_status_.state.store(LinkStatus::kNone);
    link_status_.down_since_ms.store(0);  // a future link starts with "never connected"
    replica_.store(false, std::memory_order_release);
  }
  server_.config.set("replicaof", "no one");
  // Tell our replicas about the new ID: they reconnect and continue with a partial resync.
  disconnect_replicas();
}

void Replication::apply_deferred_role() {
  std::string role;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    role.swap(deferred_role_);
    role_change_pending_.store(false, std::memory_order_release);
  }
  if (role.empty()) return;
  std::lock_guard<std::mutex> control(control_mutex_);
  if (role == "no one") {
    if (is_replica()) become_master();
    server_.log('*', "MASTER MODE enabled (REPLICAOF inside a transaction)");
    return;
  }
  std::istringstream words(role);
  std::string host;
  int port = 0;
  words >> host >> port;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (is_replica() && master_host_ == host && master_port_ == port) return;
  }
  become_replica(host, port);
  server_.log('*', "REPLICAOF " + host + ":" + std::to_string(port) + " enabled (inside a transaction)");
}

// ---------------------------------------------------------------------------------------
// The replica side's hooks (called by MasterLink on its thread)

Replication::CachedMaster Replication::cached_master() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return cached_;
}

bool Replication::install_full_sync(Keyspace& fresh, const std::vector<std::string>& function_libraries,
                                    const std::string& replid, int64_t offset) {
  {
    std::unique_lock<std::shared_mutex> keyspace_lock(server_.keyspace.mutex());
    std::string function_error;
    if (!load_rdb_functions(server_.scripting->functions(), function_libraries, true, false, &function_error)) {
      server_.log('#', "Failed trying to load the MASTER synchronization DB from socket: " + function_error);
      return false;
    }
    Keyspace& keyspace = server_.keyspace;
    server_.watches.touch_existing_in_db(keyspace, -1);  // keys that disappear
    server_.all_keys_changed();
    for (int i = 0; i < keyspace.db_count(); i++) keyspace.db(i).swap(fresh.db(i));
    server_.watches.touch_existing_in_db(keyspace, -1);  // keys that appear or change
    keyspace.dirty++;
    ensure_backlog_locked();
    std::lock_guard<std::mutex> lock(state_mutex_);
    replid_ = replid;
    replid2_ = kNoReplid;
    second_offset_ = -1;
    buffer_.reset(offset);  // our own replicas' positions are meaningless now
    cached_ = CachedMaster{};
  }
  disconnect_replicas();
  return true;
}

void Replication::adopt_master_replid(const std::string& replid) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    replid2_ = replid_;
    second_offset_ = buffer_.end_offset() + 1;
    replid_ = replid;
  }
  disconnect_replicas();  // they must learn the new ID (and can continue with it)
}

void Replication::link_up(const std::shared_ptr<Client>& master) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  master_client_ = master;
  cached_ = CachedMaster{};
}

void Replication::link_down(int db) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  cached_ = CachedMaster{true, replid_, buffer_.end_offset(), db};
  master_client_.reset();
  link_status_.down_since_ms.store(unix_time_ms());
}

// ---------------------------------------------------------------------------------------
// RDB files

RdbReplicationInfo Replication::rdb_info() {
  std::lock_guard<std::mutex> lock(state_mutex_);
  RdbReplicationInfo info;
  if (!backlog_active_ && !is_replica()) return info;
  info.repl_id = replid_;
  info.repl_offset = buffer_.end_offset();
  if (master_client_ != nullptr) {
    info.repl_stream_db = master_client_->db.load();
  } else if (cached_.valid) {
    info.repl_stream_db = cached_.db;
  } else {
    info.repl_stream_db = std::max(0, encoder_.selected_db());
  }
  return info;
}

void Replication::restore_from_rdb(const RdbReplicationInfo& info) {
  // As Redis: only a replica uses it (a restarted master starts a new history).
  if (!is_replica() || info.repl_id.size() != 40 || info.repl_offset < 0) return;
  buffer_.reset(info.repl_offset);
  ensure_backlog_locked();
  std::lock_guard<std::mutex> lock(state_mutex_);
  // Ask the master to continue where the file left off.
  replid_ = info.repl_id;
  cached_ = CachedMaster{true, info.repl_id, info.repl_offset, std::max(0, info.repl_stream_db)};
}

// ---------------------------------------------------------------------------------------
// Cron

bool Replication::enough_good_replicas() const {
  const int64_t needed = server_.min_replicas_to_write.load(std::memory_order_relaxed);
  if (needed <= 0 || server_.min_replicas_max_lag.load(std::memory_order_relaxed) <= 0 || is_replica()) return true;
  return good_replicas_.load(std::memory_order_relaxed) >= needed;
}

void Replication::refresh_good_replicas() {
  const int64_t max_lag_ms = server_.min_replicas_max_lag.load(std::memory_order_relaxed) * 1000;
  const int64_t now = monotonic_us() / 1000;
  int good = 0;
  for (const auto& session : sessions()) {
    if (session->state() == ReplicaSession::State::kOnline && now - session->ack_time_ms() <= max_lag_ms) good++;
  }
  good_replicas_.store(good, std::memory_order_relaxed);
}

void Replication::cron() {
  if (role_change_pending()) apply_deferred_role();
  refresh_good_replicas();
  const int64_t now = unix_time_ms();
  if (now - last_second_ms_ < 1000) return;
  last_second_ms_ = now;
  const std::vector<std::shared_ptr<ReplicaSession>> replicas = sessions();
  for (const auto& session : replicas) session->publish_lag();
  if (replicas.empty()) last_ping_ms_ = now;  // the first ping comes one period after a replica
  if (!is_replica()) {
    const int64_t period_ms = server_.config.get_int("repl-ping-replica-period") * 1000;
    if (!replicas.empty() && period_ms > 0 && now - last_ping_ms_ >= period_ms) {
      last_ping_ms_ = now;
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (backlog_active_) buffer_.append(kPingCommand);
    }
  }
  // Replicas that stopped acknowledging (those speaking PSYNC ACK every second).
  const int64_t timeout_ms = server_.config.get_int("repl-timeout") * 1000;
  const int64_t mono_now = monotonic_us() / 1000;
  for (const auto& session : replicas) {
    if (session->state() == ReplicaSession::State::kOnline && session->sends_acks() && timeout_ms > 0 &&
        mono_now - session->ack_time_ms() > timeout_ms) {
      server_.log('#', "Disconnecting timedout replica (streaming sync): " + session->name());
      session->client()->kill();
    }
  }
  const int64_t ttl_ms = server_.config.get_int("repl-backlog-ttl") * 1000;
  if (!is_replica() && replicas.empty() && ttl_ms > 0 && now - no_replicas_since_ms_.load() > ttl_ms) {
    bool active = false;
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      active = backlog_active_;
    }
    if (active) {
      free_backlog();
      server_.log('*', "Replication backlog freed after " + std::to_string(ttl_ms / 1000) +
                           " seconds without connected replicas.");
    }
  }
  // REPLCONF state of connections that went away without PSYNC.
  std::lock_guard<std::mutex> lock(handshakes_mutex_);
  for (auto it = handshakes_.begin(); it != handshakes_.end();) {
    it = server_.find_client(it->first) == nullptr ? handshakes_.erase(it) : std::next(it);
  }
}

// ---------------------------------------------------------------------------------------
// INFO and ROLE

void Replication::append_info(std::string* out) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  const int64_t now = unix_time_ms();
  const int64_t offset = buffer_.end_offset();
  if (is_replica()) {
    const int state = link_status_.state.load();
    const bool up = state == LinkStatus::kConnected;
    info_field(out, "role", "slave");
    info_field(out, "master_host", master_host_);
    info_field(out, "master_port", master_port_);
    info_field(out, "master_link_status", up ? "up" : "down");
    info_field(out, "master_last_io_seconds_ago", up ? (now - link_status_.last_io_ms.load()) / 1000 : -1);
    info_field(out, "master_sync_in_progress", state == LinkStatus::kTransfer ? 1 : 0);
    const bool known = up || cached_.valid;
    info_field(out, "slave_read_repl_offset", up ? link_status_.read_offset.load() : known ? offset : 1);
    info_field(out, "slave_repl_offset", known ? offset : 1);
    if (state == LinkStatus::kTransfer) {
      const int64_t total = link_status_.transfer_size.load();
      const int64_t read = link_status_.transfer_read.load();
      char percent[32];
      std::snprintf(percent, sizeof(percent), "%.2f", total > 0 ? 100.0 * static_cast<double>(read) / static_cast<double>(total) : 0.0);
      info_field(out, "master_sync_total_bytes", total);
      info_field(out, "master_sync_read_bytes", read);
      info_field(out, "master_sync_left_bytes", total - read);
      info_field(out, "master_sync_perc", percent);
      info_field(out, "master_sync_last_io_seconds_ago", (now - link_status_.last_io_ms.load()) / 1000);
    }
    if (!up) {
      const int64_t down = link_status_.down_since_ms.load();
      info_field(out, "master_link_down_since_seconds", down > 0 ? (now - down) / 1000 : -1);
    }
    info_field(out, "slave_priority", server_.config.get_int("replica-priority"));
    info_field(out, "slave_read_only", server_.config.get_bool("replica-read-only") ? 1 : 0);
    info_field(out, "replica_announced", server_.config.get_bool("replica-announced") ? 1 : 0);
  } else {
    info_field(out, "role", "master");
  }
  const std::vector<std::shared_ptr<ReplicaSession>> replicas = sessions();
  if (server_.min_replicas_to_write.load() > 0 && server_.min_replicas_max_lag.load() > 0) {
    info_field(out, "min_slaves_good_slaves", static_cast<int64_t>(good_replicas_.load()));
  }
  info_field(out, "connected_slaves", static_cast<int64_t>(replicas.size()));
  const int64_t mono_now = monotonic_us() / 1000;
  for (size_t i = 0; i < replicas.size(); i++) {
    const ReplicaSession& s = *replicas[i];
    info_field(out, "slave" + std::to_string(i),
               "ip=" + s.ip() + ",port=" + std::to_string(s.port()) + ",state=" + s.state_name() +
                   ",offset=" + std::to_string(s.ack_offset()) + ",lag=" + std::to_string((mono_now - s.ack_time_ms()) / 1000));
  }
  info_field(out, "master_failover_state", "no-failover");
  info_field(out, "master_replid", replid_);
  info_field(out, "master_replid2", replid2_);
  info_field(out, "master_repl_offset", offset);
  info_field(out, "second_repl_offset", second_offset_);
  info_field(out, "repl_backlog_active", backlog_active_ ? 1 : 0);
  info_field(out, "repl_backlog_size", buffer_.backlog_size());
  info_field(out, "repl_backlog_first_byte_offset", backlog_active_ ? buffer_.first_offset() : 0);
  info_field(out, "repl_backlog_histlen", backlog_active_ ? buffer_.history_length() : 0);
}

void Replication::append_stats(std::string* out) {
  info_field(out, "sync_full", static_cast<int64_t>(sync_full_.load()));
  info_field(out, "sync_partial_ok", static_cast<int64_t>(sync_partial_ok_.load()));
  info_field(out, "sync_partial_err", static_cast<int64_t>(sync_partial_err_.load()));
}

void Replication::role(Reply& reply) {
  if (!is_replica()) {
    std::vector<std::shared_ptr<ReplicaSession>> online;
    for (const auto& session : sessions()) {
      if (session->state() == ReplicaSession::State::kOnline) online.push_back(session);
    }
    reply.array(3);
    reply.bulk("master");
    reply.integer(buffer_.end_offset());
    reply.array(online.size());
    for (const auto& session : online) {
      reply.array(3);
      reply.bulk(session->ip());
      reply.bulk(std::to_string(session->port()));
      reply.bulk(std::to_string(session->ack_offset()));
    }
    return;
  }
  std::string host;
  int port = 0;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    host = master_host_;
    port = master_port_;
  }
  static const char* const kStates[] = {"none", "connect", "connecting", "handshake", "sync", "connected"};
  const int state = link_status_.state.load();
  reply.array(5);
  reply.bulk("slave");
  reply.bulk(host);
  reply.integer(port);
  reply.bulk(kStates[state]);
  reply.integer(state == LinkStatus::kConnected ? buffer_.end_offset() : -1);
}

}  // namespace rd
