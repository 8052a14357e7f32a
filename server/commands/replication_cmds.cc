// Replication commands: REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, WAIT, ROLE. Argument checks
// and error texts live here; the work is in replication/ (Replication).
#include "replication/replication.h"
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

void cmd_replicaof(CommandContext& ctx) {
  // Never from our master's stream: the link thread would have to stop itself.
  if (ctx.client.has_flag(kClientMaster)) return ctx.reply.error("ERR REPLICAOF not allowed from the master link");
  if (equals_ignore_case(ctx.arg(1), "no") && equals_ignore_case(ctx.arg(2), "one")) {
    return ctx.server.replication->replicaof_no_one(ctx);
  }
  int64_t port = 0;
  if (!string_to_int64(ctx.arg(2), &port) || port < 0 || port > 65535) {
    return ctx.reply.error("ERR Invalid master port");
  }
  ctx.server.replication->replicaof(ctx, std::string(ctx.arg(1)), static_cast<int>(port));
}

void cmd_replconf(CommandContext& ctx) { ctx.server.replication->replconf(ctx); }

void cmd_psync(CommandContext& ctx) { ctx.server.replication->psync(ctx, false); }

void cmd_sync(CommandContext& ctx) { ctx.server.replication->psync(ctx, true); }

void cmd_wait(CommandContext& ctx) {
  if (ctx.server.is_replica()) {
    return ctx.reply.error(
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is "
        "configured to be writable (which is not the default) writes to replicas are just local and are not "
        "propagated.");
  }
  int64_t replicas = 0;
  int64_t timeout = 0;
  if (!parse_int_arg(ctx, ctx.arg(1), &replicas)) return;
  if (!parse_int_arg(ctx, ctx.arg(2), &timeout, "ERR timeout is not an integer or out of range")) return;
  if (timeout < 0) return ctx.reply.error("ERR timeout is negative");
  ctx.server.replication->wait(ctx, replicas, timeout);
}

void cmd_role(CommandContext& ctx) { ctx.server.replication->role(ctx.reply); }

}  // namespace

void register_replication_commands(CommandTable& table) {
  // Role changes stop and start threads that take the keyspace lock: they run without it.
  table.add("replicaof", cmd_replicaof, LockMode::kNone);
  table.add("slaveof", cmd_replicaof, LockMode::kNone);
  table.add("replconf", cmd_replconf, LockMode::kNone);
  // The snapshot is forked, and the replica's place in the stream fixed, under this lock.
  table.add("psync", cmd_psync, LockMode::kExclusive);
  table.add("sync", cmd_sync, LockMode::kExclusive);
  table.add("wait", cmd_wait, LockMode::kNone);
  table.add("role", cmd_role, LockMode::kNone);
}

}  // namespace rd
