// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// The dispatcher queues commands between MULTI and EXEC (and flags the transaction when one
// is rejected). EXEC runs under the exclusive keyspace lock, so the whole transaction is atomic
// with respect to every other client, and replicas receive it wrapped in MULTI/EXEC.
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

void reset_transaction(CommandContext& ctx) { ctx.server.discard_transaction(ctx.client); }

void cmd_multi(CommandContext& ctx) {
  if (ctx.client.has_flag(kClientMulti)) return ctx.reply.error("ERR MULTI calls can not be nested");
  ctx.client.set_flag(kClientMulti);
  ctx.reply.ok();
}

// See Client::unwatch_pending.
void apply_pending_unwatch(CommandContext& ctx) {
  if (!ctx.client.unwatch_pending) return;
  ctx.server.watches.unwatch_all(&ctx.client);
  ctx.client.unwatch_pending = false;
}

void cmd_discard(CommandContext& ctx) {
  apply_pending_unwatch(ctx);
  if (!ctx.client.has_flag(kClientMulti)) return ctx.reply.error("ERR DISCARD without MULTI");
  reset_transaction(ctx);
  ctx.reply.ok();
}

// A watched key that expired after WATCH counts as modified (Redis 7.0).
bool watched_key_expired(CommandContext& ctx) {
  for (const WatchedKey& w : ctx.client.watched) {
    if (w.expired_when_watched) continue;
    KeyEntry* entry = ctx.db(w.db).find(w.key);
    if (entry != nullptr && entry->expired_at(ctx.now_ms)) return true;
  }
  return false;
}

void cmd_exec(CommandContext& ctx) {
  Client& client = ctx.client;
  apply_pending_unwatch(ctx);
  if (!client.has_flag(kClientMulti)) return ctx.reply.error("ERR EXEC without MULTI");
  if (client.multi_dirty) {
    reset_transaction(ctx);
    return ctx.reply.error("EXECABORT Transaction discarded because of previous errors.");
  }
  if (client.dirty_cas.load(std::memory_order_relaxed) || watched_key_expired(ctx)) {
    reset_transaction(ctx);
    return ctx.reply.null_array();
  }
  std::vector<QueuedCommand> queue = std::move(client.multi_queue);
  reset_transaction(ctx);
  ctx.reply.array(queue.size());
  for (const QueuedCommand& queued : queue) {
    std::vector<std::string_view> argv(queued.args.begin(), queued.args.end());
    ctx.server.execute_in_transaction(ctx, *queued.spec, argv);
  }
  // Wrap what the transaction propagates so replicas apply it atomically too. Like Redis 7.0,
  // a single propagated command needs no wrapper: it is atomic on its own.
  std::vector<Propagation>& propagated = ctx.propagations();
  if (propagated.size() > 1) {
    propagated.insert(propagated.begin(), Propagation{propagated.front().db, {"MULTI"}});
    propagated.push_back(Propagation{propagated.back().db, {"EXEC"}});
  }
}

void cmd_watch(CommandContext& ctx) {
  apply_pending_unwatch(ctx);
  if (ctx.client.has_flag(kClientMulti)) return ctx.reply.error("ERR WATCH inside MULTI is not allowed");
  for (size_t i = 1; i < ctx.argc(); i++) {
    KeyEntry* entry = ctx.db().find(ctx.arg(i));
    bool expired = entry != nullptr && entry->expired_at(ctx.now_ms);
    ctx.server.watches.watch(&ctx.client, ctx.db_index(), ctx.arg(i), expired);
  }
  ctx.reply.ok();
}

void cmd_unwatch(CommandContext& ctx) {
  ctx.client.unwatch_pending = false;
  ctx.server.watches.unwatch_all(&ctx.client);
  ctx.reply.ok();
}

}  // namespace

void Server::discard_transaction(Client& client) {
  client.end_multi();
  watches.unwatch_all(&client);
}

void register_transaction_commands(CommandTable& table) {
  table.add("multi", cmd_multi);
  table.add("exec", cmd_exec, LockMode::kExclusive);
  table.add("discard", cmd_discard, LockMode::kExclusive);
  table.add("watch", cmd_watch, LockMode::kExclusive);
  table.add("unwatch", cmd_unwatch, LockMode::kExclusive);
}

}  // namespace rd
