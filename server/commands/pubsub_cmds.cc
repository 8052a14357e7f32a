// Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.
//
// Replies of a subscribed client travel through its outbox (see server/pubsub.h), so before
// changing subscriptions we move what this batch already replied into the outbox, keeping
// the client's byte stream in order.
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

std::vector<std::string_view> names_from(const CommandContext& ctx, size_t first) {
  return std::vector<std::string_view>(ctx.argv.begin() + static_cast<std::ptrdiff_t>(first), ctx.argv.end());
}

void move_pending_output(CommandContext& ctx) {
  if (ctx.client.output.empty()) return;
  ctx.client.deliver(ctx.client.output, 0);
  ctx.client.output.clear();
}

void cmd_subscribe(CommandContext& ctx) {
  move_pending_output(ctx);
  ctx.server.pubsub.subscribe(ctx.client, names_from(ctx, 1));
}

void cmd_unsubscribe(CommandContext& ctx) {
  move_pending_output(ctx);
  ctx.server.pubsub.unsubscribe(ctx.client, names_from(ctx, 1));
}

void cmd_psubscribe(CommandContext& ctx) {
  move_pending_output(ctx);
  ctx.server.pubsub.psubscribe(ctx.client, names_from(ctx, 1));
}

void cmd_punsubscribe(CommandContext& ctx) {
  move_pending_output(ctx);
  ctx.server.pubsub.punsubscribe(ctx.client, names_from(ctx, 1));
}

void cmd_publish(CommandContext& ctx) {
  int64_t receivers = ctx.server.pubsub.publish(ctx.arg(1), ctx.arg(2),
                                                static_cast<size_t>(ctx.server.pubsub_hard_limit.load()));
  ctx.server.stats.pubsub_messages.fetch_add(1, std::memory_order_relaxed);
  ctx.reply.integer(receivers);
}

void cmd_pubsub_channels(CommandContext& ctx) {
  if (ctx.argc() > 3) return ctx.reply.error("ERR wrong number of arguments for 'pubsub|channels' command");
  std::vector<std::string> channels = ctx.server.pubsub.channels(ctx.argc() == 3 ? ctx.arg(2) : "", ctx.argc() == 2);
  ctx.reply.array(channels.size());
  for (const std::string& name : channels) ctx.reply.bulk(name);
}

void cmd_pubsub_numsub(CommandContext& ctx) {
  ctx.reply.map(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    ctx.reply.bulk(ctx.arg(i));
    ctx.reply.integer(ctx.server.pubsub.subscribers(ctx.arg(i)));
  }
}

void cmd_pubsub_numpat(CommandContext& ctx) { ctx.reply.integer(ctx.server.pubsub.pattern_count()); }

void cmd_pubsub_shardchannels(CommandContext& ctx) { ctx.reply.empty_array(); }

void cmd_pubsub_shardnumsub(CommandContext& ctx) {
  ctx.reply.map(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    ctx.reply.bulk(ctx.arg(i));
    ctx.reply.integer(0);
  }
}

void cmd_pubsub_help(CommandContext& ctx) { ctx.reply.raw(help_reply("pubsub")); }

}  // namespace

void register_pubsub_commands(CommandTable& table) {
  table.add("subscribe", cmd_subscribe);
  table.add("unsubscribe", cmd_unsubscribe);
  table.add("psubscribe", cmd_psubscribe);
  table.add("punsubscribe", cmd_punsubscribe);
  table.add("publish", cmd_publish);
  table.add("pubsub|channels", cmd_pubsub_channels);
  table.add("pubsub|numsub", cmd_pubsub_numsub);
  table.add("pubsub|numpat", cmd_pubsub_numpat);
  table.add("pubsub|shardchannels", cmd_pubsub_shardchannels);
  table.add("pubsub|shardnumsub", cmd_pubsub_shardnumsub);
  table.add("pubsub|help", cmd_pubsub_help);
}

}  // namespace rd
