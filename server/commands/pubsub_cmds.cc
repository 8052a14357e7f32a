// Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the sharded
// SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH (a separate channel namespace, see server/pubsub.h), PUBSUB.
//
// Replies of a subscribed client travel through its outbox (see server/pubsub.h), so before
// changing subscriptions we move what this batch already replied into the outbox, keeping
// the client's byte stream in order.
#include <algorithm>
#include <cctype>

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

void cmd_ssubscribe(CommandContext& ctx) {
  // Redis 7.0 refuses it where a client expects one reply per command (inside EXEC), while
  // SUBSCRIBE stays allowed there for backward compatibility.
  if (!ctx.may_block()) return ctx.reply.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  move_pending_output(ctx);
  ctx.server.pubsub.subscribe(ctx.client, names_from(ctx, 1), ChannelSpace::kShard);
}

void cmd_sunsubscribe(CommandContext& ctx) {
  move_pending_output(ctx);
  ctx.server.pubsub.unsubscribe(ctx.client, names_from(ctx, 1), ChannelSpace::kShard);
}

void publish_in(CommandContext& ctx, ChannelSpace space) {
  int64_t receivers = ctx.server.pubsub.publish(ctx.arg(1), ctx.arg(2),
                                                static_cast<size_t>(ctx.server.pubsub_hard_limit.load()), space);
  ctx.server.stats.pubsub_messages.fetch_add(1, std::memory_order_relaxed);
  ctx.propagate_to_replicas();  // their subscribers get it too (not the AOF), as in Redis
  ctx.reply.integer(receivers);
}

void cmd_publish(CommandContext& ctx) { publish_in(ctx, ChannelSpace::kGlobal); }

void cmd_spublish(CommandContext& ctx) { publish_in(ctx, ChannelSpace::kShard); }

// Redis's reply when a PUBSUB subcommand gets arguments it does not take (the subcommand as
// the client spelled it).
void subcommand_syntax_error(CommandContext& ctx) {
  std::string command(ctx.arg(0));
  for (char& c : command) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view sub = ctx.arg(1);
  sub = sub.substr(0, std::min<size_t>(128, sub.find('\0')));  // printed with "%.128s"
  ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) + "'. Try " +
                  command + " HELP.");
}

// PUBSUB CHANNELS / SHARDCHANNELS [pattern]
void list_channels(CommandContext& ctx, ChannelSpace space) {
  if (ctx.argc() > 3) return subcommand_syntax_error(ctx);
  std::vector<std::string> channels =
      ctx.server.pubsub.channels(ctx.argc() == 3 ? ctx.arg(2) : "", ctx.argc() == 2, space);
  ctx.reply.array(channels.size());
  for (const std::string& name : channels) ctx.reply.bulk(name);
}

// PUBSUB NUMSUB / SHARDNUMSUB [channel ...]: a flat array of pairs, in RESP3 too (Redis 7.0).
void count_subscribers(CommandContext& ctx, ChannelSpace space) {
  ctx.reply.array((ctx.argc() - 2) * 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    ctx.reply.bulk(ctx.arg(i));
    ctx.reply.integer(ctx.server.pubsub.subscribers(ctx.arg(i), space));
  }
}

void cmd_pubsub_channels(CommandContext& ctx) { list_channels(ctx, ChannelSpace::kGlobal); }

void cmd_pubsub_numsub(CommandContext& ctx) { count_subscribers(ctx, ChannelSpace::kGlobal); }

void cmd_pubsub_numpat(CommandContext& ctx) { ctx.reply.integer(ctx.server.pubsub.pattern_count()); }

void cmd_pubsub_shardchannels(CommandContext& ctx) { list_channels(ctx, ChannelSpace::kShard); }

void cmd_pubsub_shardnumsub(CommandContext& ctx) { count_subscribers(ctx, ChannelSpace::kShard); }

void cmd_pubsub_help(CommandContext& ctx) { ctx.reply.raw(help_reply("pubsub")); }

}  // namespace

void register_pubsub_commands(CommandTable& table) {
  table.add("subscribe", cmd_subscribe);
  table.add("unsubscribe", cmd_unsubscribe);
  table.add("psubscribe", cmd_psubscribe);
  table.add("punsubscribe", cmd_punsubscribe);
  table.add("publish", cmd_publish);
  table.add("ssubscribe", cmd_ssubscribe);
  table.add("sunsubscribe", cmd_sunsubscribe);
  table.add("spublish", cmd_spublish);
  table.add("pubsub|channels", cmd_pubsub_channels);
  table.add("pubsub|numsub", cmd_pubsub_numsub);
  table.add("pubsub|numpat", cmd_pubsub_numpat);
  table.add("pubsub|shardchannels", cmd_pubsub_shardchannels);
  table.add("pubsub|shardnumsub", cmd_pubsub_shardnumsub);
  table.add("pubsub|help", cmd_pubsub_help);
}

}  // namespace rd
