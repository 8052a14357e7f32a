// The dispatcher: from a parsed command to its reply. Generic work lives here, once:
// lookup, arity, authentication, the subscribed-context rule, read-only replicas, MULTI
// queueing, locking, statistics, propagation and serving blocked clients.
#include <algorithm>
#include <chrono>
#include <thread>
#include <cctype>
#include <mutex>
#include <shared_mutex>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/eviction.h"
#include "server/scripting/scripting.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

// Like printf's "%.*s": at most `limit` bytes, and a NUL byte ends the text.
std::string truncated(std::string_view text, size_t limit) {
  text = text.substr(0, std::min(text.size(), limit));
  return std::string(text.substr(0, text.find('\0')));
}

std::string uppercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool allowed_in_subscribed_context(const CommandSpec& spec) {
  const std::string& n = spec.name;
  return n == "ping" || n == "subscribe" || n == "ssubscribe" || n == "unsubscribe" ||
         n == "sunsubscribe" || n == "psubscribe" || n == "punsubscribe" || n == "quit" ||
         n == "reset";
}

bool runs_immediately_in_multi(const CommandSpec& spec) {
  const std::string& n = spec.name;
  return n == "exec" || n == "discard" || n == "multi" || n == "watch" || n == "quit" ||
         n == "reset";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// CommandContext

CommandContext::CommandContext(Server& srv, Client& c, const CommandSpec& command,
                               const std::vector<std::string_view>& args, Reply& out, int db_index)
    : server(srv), client(c), spec(command), argv(args), reply(out), now_ms(0),
      db_index_(db_index), notify_flags_(&srv.notify_keyspace_events), caller_(&c) {}

Db& CommandContext::db() { return server.keyspace.db(db_index_); }
Db& CommandContext::db(int index) { return server.keyspace.db(index); }

bool CommandContext::select_db(int index) {
  if (index < 0 || index >= server.keyspace.db_count()) return false;
  db_index_ = index;
  return true;
}

KeyEntry* CommandContext::peek(std::string_view key) {
  KeyEntry* entry = db().find(key);
  if (entry == nullptr) return nullptr;
  // The master link's commands see keys the master still considers alive.
  if (entry->expired_at(now_ms) && !client.has_flag(kClientMaster)) return nullptr;
  return entry;
}

KeyEntry* CommandContext::lookup_read(std::string_view key, bool touch) {
  KeyEntry* entry = db().find(key);
  // The master link's commands see keys the master still considers alive.
  if (entry != nullptr && entry->expired_at(now_ms) && !client.has_flag(kClientMaster)) {
    expire_lazily(key);
    entry = nullptr;
  }
  if (entry == nullptr) {
    server.stats.keyspace_misses.fetch_add(1, std::memory_order_relaxed);
    if (deferred_.empty()) {
      notify(NotifyClass::kKeyMiss, "keymiss", key);
    } else if (notify_flags_->load(std::memory_order_relaxed) & notify_bit(NotifyClass::kKeyMiss)) {
      deferred_.push_back({std::string(key), true});
    }
    return nullptr;
  }
  server.stats.keyspace_hits.fetch_add(1, std::memory_order_relaxed);
  if (touch) server.eviction->touch(entry);  // access clock, LFU counter
  return entry;
}

void CommandContext::expire_lazily(std::string_view key) {
  if (server.is_replica()) return;  // replicas wait for the master's DEL
  if (server.clients_paused()) return;  // a paused dataset stays still: expired, not deleted
  if (exclusive_) {
    server.expire_key(this, db_index_, key);
  } else {
    deferred_.push_back({std::string(key), false});
  }
}

KeyEntry* CommandContext::lookup_write(std::string_view key) { return lookup_write(db_index_, key); }

KeyEntry* CommandContext::lookup_write(int db_index, std::string_view key) {
  KeyEntry* entry = server.keyspace.db(db_index).find(key);
  if (entry == nullptr) return nullptr;
  if (!entry->expired_at(now_ms)) {
    server.eviction->touch(entry);  // writes count as accesses too (LRU/LFU), as in Redis
    return entry;
  }
  if (client.has_flag(kClientMaster)) return entry;  // the master decides when keys expire
  if (server.is_replica()) return nullptr;           // hidden, but deleted only by the master
  server.expire_key(this, db_index, key);
  return nullptr;
}

bool CommandContext::check_type(const KeyEntry* entry, ValueType type) {
  if (entry->value.type() == type) return true;
  reply.error(kWrongTypeError);
  return false;
}

void CommandContext::key_modified(int db, std::string_view key) {
  dirty_++;
  key_signalled(db, key);
}

void CommandContext::key_signalled(int db, std::string_view key) {
  server.watches.touch(db, key, server.keyspace);
  if (server.tracking.armed()) [[unlikely]] server.tracking.invalidate(key, client.id, caller_);
}

void CommandContext::signal_ready(int db, std::string_view key) { server.blocking.signal_ready(db, key); }

void CommandContext::propagate_as(std::vector<std::string> args) {
  has_rewrite_ = true;
  rewrites_.push_back({db_index_, std::move(args)});
}

void CommandContext::propagate_as(std::initializer_list<std::string_view> args) {
  std::vector<std::string> owned;
  owned.reserve(args.size());
  for (std::string_view a : args) owned.emplace_back(a);
  propagate_as(std::move(owned));
}

void CommandContext::also_propagate(int db, std::vector<std::string> args) {
  propagations_.push_back({db, std::move(args)});
}

void CommandContext::propagate_to_replicas() {
  if (!exclusive_ || !server.write_stream.active()) return;  // see Server::dispatch
  propagations_.push_back({db_index_, std::vector<std::string>(argv.begin(), argv.end()), true});
}

void CommandContext::block(std::vector<std::string> keys, int64_t deadline_ms, TimeoutReply timeout_reply) {
  blocked_ = true;
  block_keys_ = std::move(keys);
  block_deadline_ = deadline_ms;
  block_timeout_reply_ = timeout_reply;
}

bool parse_int_arg(CommandContext& ctx, std::string_view text, int64_t* out, std::string_view error) {
  if (string_to_int64(text, out)) return true;
  ctx.reply.error(error);
  return false;
}

bool parse_double_arg(CommandContext& ctx, std::string_view text, double* out, std::string_view error) {
  if (string_to_double(text, out)) return true;
  ctx.reply.error(error);
  return false;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Server: dispatch

namespace {

// Runs the command's handler and, for writes, its generic after-effects.
// REQUIRES: the lock spec.lock asks for is held.
void run_handler(Server& server, CommandContext& ctx);

void append_propagation(Server& server, CommandContext& ctx) {
  for (const Propagation& p : ctx.propagations()) {
    std::vector<std::string_view> views(p.args.begin(), p.args.end());
    server.write_stream.append(p.db, views.data(), views.size(), p.replication_only);
  }
  if (ctx.dirty() == 0 || ctx.propagation_suppressed()) return;
  if (!ctx.has_rewrite()) {
    server.write_stream.append(ctx.db_index(), ctx.argv.data(), ctx.argv.size());
    return;
  }
  // Like Redis 7.0, a command propagated as several commands (SPOP with a count) reaches
  // replicas wrapped in MULTI/EXEC (inside EXEC, the transaction's own wrapper does that).
  const bool wrap = ctx.rewrites().size() > 1;
  const std::string_view multi[] = {"MULTI"};
  const std::string_view exec[] = {"EXEC"};
  if (wrap) server.write_stream.append(ctx.rewrites().front().db, multi, 1);
  for (const Propagation& p : ctx.rewrites()) {
    std::vector<std::string_view> views(p.args.begin(), p.args.end());
    server.write_stream.append(p.db, views.data(), views.size());
  }
  if (wrap) server.write_stream.append(ctx.rewrites().back().db, exec, 1);
}

void flush_propagation(Server& server, CommandContext& ctx) {
  if (ctx.dirty() > 0) server.keyspace.dirty += ctx.dirty();
  if (!server.write_stream.active()) return;
  append_propagation(server, ctx);
  // WAIT waits for the replication offset right after this client's last propagated write.
  if (!ctx.propagations().empty() || (ctx.dirty() > 0 && !ctx.propagation_suppressed())) {
    ctx.client.wait_target_offset = server.replication->offset();
  }
}

}  // namespace

void Server::expire_key(CommandContext* ctx, int db_index, std::string_view key, const Client* caller) {
  std::vector<std::string> del = {"DEL", std::string(key)};
  keyspace.db(db_index).erase(key);
  stats.expired_keys.fetch_add(1, std::memory_order_relaxed);
  watches.touch(db_index, key, keyspace);
  key_changed(key, ctx != nullptr ? &ctx->caller() : caller);
  notify(NotifyClass::kExpired, "expired", del[1], db_index);
  if (ctx != nullptr) {
    ctx->also_propagate(db_index, std::move(del));
  } else if (write_stream.active()) {
    std::string_view views[2] = {"DEL", key};
    write_stream.append(db_index, views, 2);
  }
}

void Server::wait_while_paused(Client& client, bool may_write) {
  if (client.has_flag(kClientReplica) || client.has_flag(kClientMaster)) return;
  bool counted = false;  // a held client counts in INFO blocked_clients, as Redis's postponed ones
  while (true) {
    int64_t until = pause_until_ms_.load(std::memory_order_acquire);
    if (until == 0 || unix_time_ms() >= until || client.killed() || shutting_down()) break;
    if (!pause_all_.load(std::memory_order_relaxed) && !may_write) break;
    if (!counted) paused_clients_.fetch_add(1, std::memory_order_relaxed);
    counted = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (counted) paused_clients_.fetch_sub(1, std::memory_order_relaxed);
}

void Server::remember_read_keys(Client& caller, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                                bool script_read) {
  const uint32_t flags = caller.flags.load(std::memory_order_relaxed);
  if ((flags & kClientTracking) == 0) [[likely]] return;
  if ((flags & kClientTrackingBcast) != 0) return;  // BCAST clients hear of prefixes, not reads
  // OPTIN: only after CLIENT CACHING YES; OPTOUT: unless CLIENT CACHING NO.
  if ((flags & kClientTrackingOptin) != 0 && !caller.tracking_caching) return;
  if ((flags & kClientTrackingOptout) != 0 && caller.tracking_caching) return;
  if (!script_read) {
    if (!spec.has(kCmdReadonly)) return;
    // Read-only scripts count through the commands their script runs (script_read).
    if (spec.name == "eval_ro" || spec.name == "evalsha_ro" || spec.name == "fcall_ro") return;
  }
  if (spec.has(kCmdPubsub)) return;  // shard channels are keys to COMMAND, nothing to cache
  std::vector<FoundKey> found;
  find_keys(spec.key_specs, argv, &found);
  if (found.empty()) return;
  std::vector<std::string_view> keys;
  keys.reserve(found.size());
  for (const FoundKey& key : found) keys.push_back(argv[static_cast<size_t>(key.position)]);
  tracking.remember(caller, keys);
}

ExecStatus Server::execute(Client& client, const std::vector<std::string_view>& argv) {
  KeyspaceLock batch(keyspace.mutex());
  return execute(client, argv, batch);
}

ExecStatus Server::execute(Client& client, const std::vector<std::string_view>& argv, KeyspaceLock& batch) {
  // CLIENT REPLY OFF/SKIP: run the command, then drop what it replied.
  // CLIENT REPLY ON during a skipped command turns the skip off, so its +OK is sent.
  DispatchNotes notes;
  notes.reply_start = client.output.size();
  if (client.reply_mode == ReplyMode::kSkip) client.reply_mode = ReplyMode::kSkipping;
  ExecStatus status = dispatch(client, argv, batch, &notes);
  // CLIENT CACHING applies to one command, or to the transaction it starts (Redis's
  // resetClient keeps it for CLIENT subcommands, CLIENT CACHING itself included).
  if (!notes.client_command && !client.has_flag(kClientMulti)) client.tracking_caching = false;
  const size_t output_before = notes.reply_start;
  if (status != ExecStatus::kDone) batch.release();
  if (replication->role_change_pending()) [[unlikely]] {  // REPLICAOF ran inside EXEC
    batch.release();
    replication->apply_deferred_role();
  }
  if (client.reply_mode == ReplyMode::kSkipping) {
    client.reply_mode = ReplyMode::kOn;
    client.output.resize(output_before);
  } else if (client.reply_mode == ReplyMode::kOff) {
    client.output.resize(output_before);
  }
  return status;
}

ExecStatus Server::dispatch(Client& client, const std::vector<std::string_view>& argv, KeyspaceLock& batch,
                            DispatchNotes* notes) {
  // Pushes queued while this client was busy go out before this command's reply, as Redis
  // would have written them in between (and the pushes its own command causes come after).
  auto send_pushes = [&] {
    if (!client.has_pushes()) return;
    client.take_pushes(&client.output);
    notes->reply_start = client.output.size();
  };
  send_pushes();
  Reply reply(&client.output, client.protocol.load(std::memory_order_relaxed));
  const bool in_multi = client.has_flag(kClientMulti);
  // An EXEC refused by a check below discards its transaction, as Redis's execCommandAbort.
  bool is_exec = false;
  auto reject = [&](std::string_view message) {
    if (is_exec) {
      if (scripting->busy()) {  // the script holds the keyspace lock: unwatch later
        client.end_multi();
        client.unwatch_pending = true;
      } else {
        batch.hold(LockMode::kExclusive);
        discard_transaction(client);
      }
      const std::string aborted = "EXECABORT Transaction discarded because of: " + std::string(message);
      stats.total_error_replies.fetch_add(1, std::memory_order_relaxed);
      count_error(aborted);
      reply.error(aborted);
      return ExecStatus::kDone;
    }
    if (in_multi) client.multi_dirty = true;
    stats.total_error_replies.fetch_add(1, std::memory_order_relaxed);
    count_error(message);
    reply.error(message);
    return ExecStatus::kDone;
  };

  const CommandSpec* spec = commands.find(argv[0]);
  if (spec == nullptr) {
    std::string args;
    for (size_t i = 1; i < argv.size() && args.size() < 128; i++) {
      args += "'" + truncated(argv[i], 128 - args.size()) + "' ";
    }
    return reject("ERR unknown command '" + truncated(argv[0], 128) + "', with args beginning with: " + args);
  }
  if (!spec->subcommands.empty() && (argv.size() >= 2 || spec->handler == nullptr)) {
    if (argv.size() < 2) {
      return reject("ERR wrong number of arguments for '" + spec->name + "' command");
    }
    char lower[64];
    std::string_view sub = argv[1];
    const CommandSpec* found = nullptr;
    if (sub.size() < sizeof(lower)) {
      for (size_t i = 0; i < sub.size(); i++) lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(sub[i])));
      auto it = spec->subcommands.find(std::string_view(lower, sub.size()));
      if (it != spec->subcommands.end()) found = it->second.get();
    }
    if (found == nullptr) {
      return reject("ERR unknown subcommand '" + truncated(sub, 128) + "'. Try " + uppercase(spec->name) + " HELP.");
    }
    spec = found;
    notes->client_command = spec->parent != nullptr && spec->parent->name == "client";
  }
  is_exec = in_multi && spec->name == "exec";
  const int argc = static_cast<int>(argv.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("ERR wrong number of arguments for '" + spec->name + "' command");
  }
  if (auth_required.load(std::memory_order_relaxed) && !client.authenticated && !spec->has(kCmdNoAuth)) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("NOAUTH Authentication required.");
  }
  // ACL: a user that may run everything (the usual default user) costs one compare here.
  if (!acl->unrestricted(client)) [[unlikely]] {
    std::string denied;
    if (!acl->check_command(client, *spec, argv, in_multi ? AclContext::kMulti : AclContext::kTopLevel, &denied)) {
      spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
      return reject(denied);
    }
  }
  // A script command's flags come from the script (Redis's getCommandFlags): with "#!lua"
  // flags it is a write unless no-writes, denyoom unless allow-oom, stale only if allow-stale.
  uint32_t flags = spec->flags;
  if (spec->has(kCmdScriptFlags) && !scripting->busy()) [[unlikely]] {
    batch.hold(LockMode::kExclusive);  // the script cache and function library
    flags = scripting->command_flags(*spec, argv);
  }
  // maxmemory (Redis's order: after NOAUTH and the no-multi check, before everything else):
  // evict if over the limit; if that cannot bring memory under it, refuse what may grow it.
  if (eviction->maxmemory() != 0) batch.release();  // eviction takes the lock itself
  if (!(in_multi && spec->has(kCmdNoMulti)) && !scripting->busy() &&
      eviction->check_command(client, *spec, flags, in_multi)) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject(kOomError);
  }
  // tracking-table-max-keys, then the invalidations this (or the eviction) caused, before the
  // reply as in Redis.
  if (tracking.over_limit()) [[unlikely]] tracking.enforce_limit(&client);
  send_pushes();
  // Writes (an EXEC counts as one when it queued one), in Redis's order: MISCONF, NOREPLICAS,
  // READONLY; then the subscribed context and MASTERDOWN.
  const bool from_master = client.has_flag(kClientMaster);
  bool is_write = (flags & kCmdWrite) != 0;
  bool may_replicate = (flags & kCmdMayReplicate) != 0;
  bool deny_stale = (flags & kCmdStale) == 0;
  if (is_exec) {
    for (const QueuedCommand& queued : client.multi_queue) {
      is_write = is_write || (queued.flags & kCmdWrite) != 0;
      may_replicate = may_replicate || (queued.flags & kCmdMayReplicate) != 0;
      deny_stale = deny_stale || (queued.flags & kCmdStale) == 0;
    }
  }
  if ((is_write || spec->name == "ping") && persistence->writes_denied() && !from_master && !is_replica()) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject(kMisconfError);
  }
  if (is_write && !replication->enough_good_replicas()) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("NOREPLICAS Not enough good replicas to write.");
  }
  if (is_write && is_replica() && !from_master && config.get_bool("replica-read-only")) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("READONLY You can't write against a read only replica.");
  }
  if (client.has_flag(kClientPubSub) && client.protocol.load(std::memory_order_relaxed) == 2 &&
      !allowed_in_subscribed_context(*spec)) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("ERR Can't execute '" + spec->name +
                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  }
  if (deny_stale && is_replica() && !replica_serve_stale_data.load(std::memory_order_relaxed) &&
      !replication->master_link_up()) {
    spec->stats.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return reject("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
  }
  // A script past busy-reply-threshold holds the keyspace: only SCRIPT/FUNCTION KILL and the
  // like get through (the master link waits for it).
  if (scripting->busy() && !spec->has(kCmdAllowBusy) && !client.has_flag(kClientMaster)) {
    return reject(scripting->busy_error());
  }
  if (pause_until_ms_.load(std::memory_order_relaxed) != 0) batch.release();  // may sleep
  wait_while_paused(client, is_write || may_replicate);
  if (in_multi && !runs_immediately_in_multi(*spec)) {
    if (spec->has(kCmdNoMulti)) return reject("ERR Command not allowed inside a transaction");
    QueuedCommand queued{spec, std::vector<std::string>(argv.begin(), argv.end()), flags};
    client.multi_queue.push_back(std::move(queued));
    client.multi_count.store(client.multi_queue.size(), std::memory_order_relaxed);
    reply.simple("QUEUED");
    return ExecStatus::kDone;
  }

  CommandContext ctx(*this, client, *spec, argv, reply, client.db.load(std::memory_order_relaxed));
  // One clock read gives the command's time and the start of its duration.
  const int64_t started_us = batch.clock_us() != 0 ? batch.clock_us() : unix_time_us();
  ctx.now_ms = started_us / 1000;
  const size_t output_before = client.output.size();
  client.last_command.store(spec, std::memory_order_relaxed);  // CLIENT LIST while it runs
  LockMode lock = spec->lock;
  // PUBLISH/SPUBLISH reach replicas through the write stream, which needs the exclusive lock.
  if (lock == LockMode::kNone && spec->has(kCmdPubsub) && spec->has(kCmdMayReplicate) && write_stream.active()) {
    lock = LockMode::kExclusive;
  }
  batch.hold(lock);
  switch (lock) {
    case LockMode::kNone:
      run_handler(*this, ctx);
      remember_read_keys(client, *spec, argv);
      break;
    case LockMode::kShared: {
      run_handler(*this, ctx);
      remember_read_keys(client, *spec, argv);  // before any write can slip in
      // Expired keys the read found: deleted now, as Redis's read would have ("expired").
      if (!ctx.deferred().empty()) {
        batch.hold(LockMode::kExclusive);
        const int64_t now = unix_time_ms();
        const int db = ctx.db_index();
        for (const CommandContext::Deferred& item : ctx.deferred()) {
          if (item.keymiss) {
            notify(NotifyClass::kKeyMiss, "keymiss", item.key, db);
            continue;
          }
          KeyEntry* entry = keyspace.db(db).find(item.key);
          if (entry != nullptr && entry->expired_at(now) && !is_replica()) {
            expire_key(nullptr, db, item.key, &client);
          }
        }
      }
      break;
    }
    case LockMode::kExclusive: {
      ctx.set_exclusive(true);
      run_handler(*this, ctx);
      remember_read_keys(client, *spec, argv);
      if (ctx.blocked()) {
        auto state = std::make_unique<BlockedState>();
        state->client = &client;
        state->spec = spec;
        if (!ctx.block_args().empty()) {
          state->args = std::move(ctx.block_args());
        } else {
          state->args.assign(argv.begin(), argv.end());
        }
        state->db = ctx.db_index();
        state->protocol = reply.protocol();
        state->keys = std::move(ctx.block_keys());
        state->deadline_ms = ctx.block_deadline();
        state->arrival_ns = client.input_arrival_ns;
        state->timeout_reply = ctx.block_timeout_reply();
        state->vanish_type = ctx.block_vanish_type();
        blocking.add(state.get());
        client.blocked_state = std::move(state);
        client.set_flag(kClientBlocked);
      }
      break;
    }
  }
  // BCAST: the keys this command changed, sent while its lock still orders them.
  if (tracking.broadcast_pending()) [[unlikely]] tracking.flush_broadcasts();
  const int64_t ended_us = unix_time_us();
  const int64_t duration_us = std::max<int64_t>(0, ended_us - started_us);
  spec->stats.calls.fetch_add(1, std::memory_order_relaxed);
  spec->stats.usec.fetch_add(static_cast<uint64_t>(duration_us), std::memory_order_relaxed);
  if (!ctx.blocked()) {  // a blocked command is logged when served (serve_blocked_clients)
    slowlog.maybe_record(client, *spec, argv.data(), argv.size(), duration_us);
    latency.maybe_add_command(spec->has(kCmdFast), duration_us);
  }
  slowlog.flush_after_writer();  // blocked commands this one served are logged after it
  stats.total_commands_processed.fetch_add(1, std::memory_order_relaxed);
  if (client.output.size() > output_before && client.output[output_before] == '-' &&
      !ctx.error_not_counted) {
    count_error_reply(*spec, std::string_view(client.output).substr(output_before));
  }
  if (monitors.active() && !spec->has(kCmdSkipMonitor) && !spec->has(kCmdAdmin)) {
    monitors.feed(client, ctx.db_index(), *spec, argv.data(), argv.size());
  }
  batch.set_clock_us(ended_us);
  if (ctx.blocked()) return ExecStatus::kBlocked;
  return client.has_flag(kClientCloseAfterReply) ? ExecStatus::kClose : ExecStatus::kDone;
}

namespace {

void run_handler(Server& server, CommandContext& ctx) {
  ctx.spec.handler(ctx);
  if (!ctx.exclusive()) return;
  flush_propagation(server, ctx);
  server.blocking.signal_vanished(server.keyspace);  // XREADGROUP waiters whose stream went
  if (server.blocking.has_ready()) server.serve_blocked_clients();
}

}  // namespace

void Server::execute_in_transaction(CommandContext& exec, const CommandSpec& spec,
                                    const std::vector<std::string_view>& argv) {
  // The ACL rules may have changed since the command was queued (Redis checks again).
  if (!acl->unrestricted(exec.client)) [[unlikely]] {
    std::string denied;
    exec.client.last_command.store(&exec.spec, std::memory_order_relaxed);
    if (!acl->check_queued_command(exec.client, spec, argv, &denied)) {
      stats.total_error_replies.fetch_add(1, std::memory_order_relaxed);
      count_error(denied);
      exec.reply.error(denied);
      return;
    }
  }
  execute_nested(exec, exec.client, exec.reply, spec, argv);
}

void Server::execute_nested(CommandContext& exec, Client& client, Reply& reply, const CommandSpec& spec,
                            const std::vector<std::string_view>& argv) {
  CommandContext ctx(*this, client, spec, argv, reply, client.db.load(std::memory_order_relaxed));
  ctx.now_ms = exec.now_ms;
  ctx.set_may_block(false);
  ctx.set_exclusive(true);
  ctx.set_nested(true);
  ctx.set_caller(exec.caller());
  const size_t output_before = reply.buffer().size();
  const int64_t started_us = monotonic_us();
  spec.handler(ctx);
  const int64_t duration_us = monotonic_us() - started_us;
  if (&client == &exec.client) {
    remember_read_keys(exec.caller(), spec, argv);  // a queued command of EXEC
  } else if (spec.has(kCmdReadonly)) {
    // A script that reads: like Redis, the caller tracks the keys the script declared.
    remember_read_keys(exec.caller(), exec.spec, exec.argv, /*script_read=*/true);
  }
  slowlog.maybe_record(client, spec, argv.data(), argv.size(), duration_us);
  latency.maybe_add_command(spec.has(kCmdFast), duration_us);
  spec.stats.calls.fetch_add(1, std::memory_order_relaxed);
  stats.total_commands_processed.fetch_add(1, std::memory_order_relaxed);
  if (monitors.active() && !spec.has(kCmdSkipMonitor) && !spec.has(kCmdAdmin)) {
    monitors.feed(client, ctx.db_index(), spec, argv.data(), argv.size());
  }
  std::string& out = reply.buffer();
  if (out.size() > output_before && out[output_before] == '-' && !ctx.error_not_counted) {
    count_error_reply(spec, std::string_view(out).substr(output_before));
  }
  // The transaction's writes reach replicas as one MULTI/EXEC block (see cmd_exec).
  if (ctx.dirty() > 0) keyspace.dirty += ctx.dirty();
  for (Propagation& p : ctx.propagations()) exec.propagations().push_back(std::move(p));
  if (ctx.dirty() > 0 && !ctx.propagation_suppressed()) {
    if (ctx.has_rewrite()) {
      for (Propagation& p : ctx.rewrites_) exec.also_propagate(p.db, std::move(p.args));
    } else {
      exec.also_propagate(ctx.db_index(), std::vector<std::string>(argv.begin(), argv.end()));
    }
  }
}

void Server::serve_blocked_clients() {
  while (blocking.has_ready()) {
    for (const auto& [db, key] : blocking.take_ready()) {
      for (BlockedState* state : blocking.waiters(db, key)) {
        if (state->done) continue;
        std::vector<std::string_view> argv(state->args.begin(), state->args.end());
        Reply reply(&state->reply, state->protocol);
        CommandContext ctx(*this, *state->client, *state->spec, argv, reply, state->db);
        ctx.now_ms = unix_time_ms();  // the writer may have run long (DEBUG SLEEP in EXEC): keys expire meanwhile
        ctx.set_retrying_blocked(true);
        ctx.set_ready_key(key);
        ctx.set_exclusive(true);
        state->spec->handler(ctx);
        if (ctx.blocked()) {  // still nothing for this client (e.g. another waiter took it)
          state->reply.clear();
          flush_propagation(*this, ctx);  // the DEL of a key it found expired, as Redis's
          continue;
        }
        flush_propagation(*this, ctx);
        if (!state->reply.empty() && state->reply[0] == '-') {  // e.g. -NOGROUP, -UNBLOCKED: counted
          count_error_reply(*state->spec, state->reply);
        }
        blocking.remove(state);
        state->done = true;
        slowlog.maybe_record_after_writer(*state->client, *state->spec, argv.data(), argv.size(), 0);
        state->client->wake();
      }
    }
  }
}

void Server::finish_blocked(Client& client, bool timed_out) {
  std::unique_lock<std::shared_mutex> lock(keyspace.mutex());
  BlockedState* state = client.blocked_state.get();
  if (state == nullptr) return;
  if (!state->done) {
    if (!timed_out && !client.killed()) return;  // a spurious wake-up: keep waiting
    blocking.remove(state);
    Reply reply(&state->reply, state->protocol);
    if (state->timeout_reply == TimeoutReply::kNullBulk) {
      reply.null();
    } else {
      reply.null_array();
    }
    state->done = true;
  }
  client.output += state->reply;
  client.blocked_state.reset();
  client.clear_flag(kClientBlocked);
}

}  // namespace rd
