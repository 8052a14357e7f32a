// Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF. The work is in
// server/persistence*.cc; these run under the exclusive keyspace lock (a fork must see a
// dataset no one is writing).
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

// Replies a "+status" or "-error" line produced by Persistence.
void reply_line(CommandContext& ctx, const std::string& line) {
  if (!line.empty() && line[0] == '-') return ctx.reply.error(line.substr(1));
  ctx.reply.simple(line.substr(1));
}

void cmd_save(CommandContext& ctx) {
  std::string error = ctx.server.persistence->save();
  if (!error.empty()) return ctx.reply.error(error);
  ctx.reply.ok();
}

void cmd_bgsave(CommandContext& ctx) {
  bool schedule = false;
  if (ctx.argc() > 1) {
    if (ctx.argc() > 2 || !equals_ignore_case(ctx.arg(1), "schedule")) return ctx.reply.error(kSyntaxError);
    schedule = true;
  }
  reply_line(ctx, ctx.server.persistence->bgsave(schedule));
}

void cmd_lastsave(CommandContext& ctx) { ctx.reply.integer(ctx.server.persistence->last_save_time()); }

void cmd_bgrewriteaof(CommandContext& ctx) { reply_line(ctx, ctx.server.persistence->bgrewriteaof()); }

}  // namespace

void register_persistence_commands(CommandTable& table) {
  table.add("save", cmd_save, LockMode::kExclusive);
  table.add("bgsave", cmd_bgsave, LockMode::kExclusive);
  table.add("lastsave", cmd_lastsave);
  table.add("bgrewriteaof", cmd_bgrewriteaof, LockMode::kExclusive);
}

}  // namespace rd
