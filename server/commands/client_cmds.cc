// CLIENT subcommands: ID, INFO, LIST, KILL, SETNAME, GETNAME, REPLY, PAUSE, UNPAUSE, UNBLOCK,
// NO-EVICT, HELP (TRACKING, CACHING, GETREDIR, TRACKINGINFO: client_tracking_cmds.cc).
#include <chrono>
#include <thread>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

enum class ClientType { kNormal, kReplica, kPubSub, kMaster, kUnknown };

ClientType client_type_by_name(std::string_view name) {
  if (equals_ignore_case(name, "normal")) return ClientType::kNormal;
  if (equals_ignore_case(name, "slave") || equals_ignore_case(name, "replica")) return ClientType::kReplica;
  if (equals_ignore_case(name, "pubsub")) return ClientType::kPubSub;
  if (equals_ignore_case(name, "master")) return ClientType::kMaster;
  return ClientType::kUnknown;
}

ClientType client_type(const Client& client) {
  if (client.has_flag(kClientMaster)) return ClientType::kMaster;
  if (client.has_flag(kClientReplica) && !client.has_flag(kClientMonitor)) return ClientType::kReplica;
  if (client.has_flag(kClientPubSub)) return ClientType::kPubSub;
  return ClientType::kNormal;
}

std::string client_flags(const Client& client) {
  std::string flags;
  if (client.has_flag(kClientReplica)) flags += client.has_flag(kClientMonitor) ? "O" : "S";
  if (client.has_flag(kClientMaster)) flags += "M";
  if (client.has_flag(kClientPubSub)) flags += "P";
  if (client.has_flag(kClientMulti)) flags += "x";
  if (client.has_flag(kClientBlocked)) flags += "b";
  if (client.has_flag(kClientTracking)) flags += "t";
  if (client.has_flag(kClientTrackingBrokenRedir)) flags += "R";
  if (client.has_flag(kClientTrackingBcast)) flags += "B";
  if (client.dirty_cas.load(std::memory_order_relaxed)) flags += "d";
  if (client.has_flag(kClientCloseAfterReply)) flags += "c";
  if (client.has_flag(kClientNoEvict)) flags += "e";
  if (flags.empty()) flags = "N";
  return flags;
}

}  // namespace

// One line of CLIENT LIST / CLIENT INFO, with Redis 7.0's fields.
std::string client_info_line(const Client& client, int64_t now_ms) {
  const CommandSpec* last = client.last_command.load(std::memory_order_relaxed);
  size_t multi = client.multi_count.load(std::memory_order_relaxed);
  size_t qbuf = client.query_buffer_size.load(std::memory_order_relaxed);
  size_t obl = client.output_buffer_size.load(std::memory_order_relaxed);
  std::string line;
  line += "id=" + std::to_string(client.id);
  line += " addr=" + client.peer_address;
  line += " laddr=" + client.local_address;
  line += " fd=" + std::to_string(client.fd());
  line += " name=" + client.name();
  line += " age=" + std::to_string((now_ms - client.created_ms) / 1000);
  line += " idle=" + std::to_string((now_ms - client.last_interaction_ms.load(std::memory_order_relaxed)) / 1000);
  line += " flags=" + client_flags(client);
  line += " db=" + std::to_string(client.db.load(std::memory_order_relaxed));
  line += " sub=" + std::to_string(client.subscription_count.load(std::memory_order_relaxed));
  line += " psub=" + std::to_string(client.pattern_count.load(std::memory_order_relaxed));
  line += " ssub=" + std::to_string(client.shard_subscription_count.load(std::memory_order_relaxed));
  line += " multi=" + (client.has_flag(kClientMulti) ? std::to_string(multi) : std::string("-1"));
  line += " qbuf=" + std::to_string(qbuf);
  line += " qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=16384";
  line += " obl=" + std::to_string(obl);
  line += " oll=0 omem=0 tot-mem=" + std::to_string(qbuf + obl + 16384);
  line += " events=r";
  line += " cmd=" + (last == nullptr ? std::string("NULL") : last->name);
  const bool tracking = client.has_flag(kClientTracking);
  line += " user=" + client.acl.user_name();
  line += " redir=" + (tracking ? std::to_string(client.tracking_redirect.load(std::memory_order_relaxed)) : "-1");
  line += " resp=" + std::to_string(client.protocol.load(std::memory_order_relaxed));
  return line;
}

namespace {

std::string describe(const Client& client, int64_t now_ms) { return client_info_line(client, now_ms); }

void cmd_client_id(CommandContext& ctx) { ctx.reply.integer(static_cast<int64_t>(ctx.client.id)); }

void cmd_client_info(CommandContext& ctx) {
  ctx.client.last_command.store(&ctx.spec, std::memory_order_relaxed);
  ctx.reply.verbatim(describe(ctx.client, unix_time_ms()) + "\n");
}

void cmd_client_list(CommandContext& ctx) {
  ClientType only_type = ClientType::kUnknown;
  std::vector<uint64_t> ids;
  bool filter_ids = false;
  for (size_t i = 2; i < ctx.argc(); i++) {
    if (equals_ignore_case(ctx.arg(i), "type") && i + 1 < ctx.argc() && ctx.argc() == 4) {
      only_type = client_type_by_name(ctx.arg(i + 1));
      if (only_type == ClientType::kUnknown) {
        return ctx.reply.error("ERR Unknown client type '" + std::string(ctx.arg(i + 1)) + "'");
      }
      i++;
    } else if (equals_ignore_case(ctx.arg(i), "id") && i + 1 < ctx.argc()) {
      filter_ids = true;
      for (size_t j = i + 1; j < ctx.argc(); j++) {
        int64_t id = 0;
        if (!string_to_int64(ctx.arg(j), &id) || id <= 0) return ctx.reply.error("ERR Invalid client ID");
        ids.push_back(static_cast<uint64_t>(id));
      }
      break;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  ctx.client.last_command.store(&ctx.spec, std::memory_order_relaxed);
  const int64_t now = unix_time_ms();
  std::string text;
  for (const auto& client : ctx.server.clients()) {
    if (only_type != ClientType::kUnknown && client_type(*client) != only_type) continue;
    if (filter_ids && std::find(ids.begin(), ids.end(), client->id) == ids.end()) continue;
    text += describe(*client, now);
    text += "\n";
  }
  ctx.reply.verbatim(text);
}

void cmd_client_setname(CommandContext& ctx) {
  std::string_view name = ctx.arg(2);
  for (char c : name) {
    if (c < '!' || c > '~') {
      return ctx.reply.error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
  }
  ctx.client.set_name(std::string(name));
  ctx.reply.ok();
}

void cmd_client_getname(CommandContext& ctx) {
  std::string name = ctx.client.name();
  if (name.empty()) return ctx.reply.null();
  ctx.reply.bulk(name);
}

void cmd_client_kill(CommandContext& ctx) {
  std::string_view addr;
  std::string_view laddr;
  std::string_view user;
  uint64_t id = 0;
  ClientType type = ClientType::kUnknown;
  bool skip_me = true;
  int64_t max_age = 0;
  const bool old_style = ctx.argc() == 3;
  if (old_style) {
    addr = ctx.arg(2);
    skip_me = false;  // the old form may kill the caller
  } else {
    for (size_t i = 2; i < ctx.argc(); i += 2) {
      std::string_view opt = ctx.arg(i);
      if (i + 1 >= ctx.argc()) return ctx.reply.error(kSyntaxError);
      std::string_view value = ctx.arg(i + 1);
      if (equals_ignore_case(opt, "id")) {
        int64_t parsed = 0;
        if (!string_to_int64(value, &parsed) || parsed < 1) {
          return ctx.reply.error("ERR client-id should be greater than 0");
        }
        id = static_cast<uint64_t>(parsed);
      } else if (equals_ignore_case(opt, "type")) {
        type = client_type_by_name(value);
        if (type == ClientType::kUnknown) {
          return ctx.reply.error("ERR Unknown client type '" + std::string(value) + "'");
        }
      } else if (equals_ignore_case(opt, "addr")) {
        addr = value;
      } else if (equals_ignore_case(opt, "laddr")) {
        laddr = value;
      } else if (equals_ignore_case(opt, "user")) {
        if (!ctx.server.acl->user_exists(value)) return ctx.reply.error("ERR No such user '" + std::string(value) + "'");
        user = value;
      } else if (equals_ignore_case(opt, "skipme")) {
        if (equals_ignore_case(value, "yes")) skip_me = true;
        else if (equals_ignore_case(value, "no")) skip_me = false;
        else return ctx.reply.error(kSyntaxError);
      } else if (equals_ignore_case(opt, "maxage")) {
        if (!string_to_int64(value, &max_age)) return ctx.reply.error(kNotIntegerError);
      } else {
        return ctx.reply.error(kSyntaxError);
      }
    }
  }
  const int64_t now = unix_time_ms();
  int64_t killed = 0;
  bool kill_self = false;
  for (const auto& client : ctx.server.clients()) {
    if (!addr.empty() && client->peer_address != addr) continue;
    if (!laddr.empty() && client->local_address != laddr) continue;
    if (!user.empty() && client->acl.user_name() != user) continue;
    if (type != ClientType::kUnknown && client_type(*client) != type) continue;
    if (id != 0 && client->id != id) continue;
    if (max_age > 0 && (now - client->created_ms) / 1000 < max_age) continue;
    if (client.get() == &ctx.client) {
      if (skip_me) continue;
      kill_self = true;
    } else {
      client->kill();
    }
    killed++;
  }
  if (old_style) {
    if (killed == 0) return ctx.reply.error("ERR No such client");
    ctx.reply.ok();
  } else {
    ctx.reply.integer(killed);
  }
  if (kill_self) ctx.client.set_flag(kClientCloseAfterReply);
}

void cmd_client_reply(CommandContext& ctx) {
  std::string_view mode = ctx.arg(2);
  if (equals_ignore_case(mode, "on")) {
    ctx.client.reply_mode = ReplyMode::kOn;
    ctx.reply.ok();
  } else if (equals_ignore_case(mode, "off")) {
    ctx.client.reply_mode = ReplyMode::kOff;
  } else if (equals_ignore_case(mode, "skip")) {
    if (ctx.client.reply_mode != ReplyMode::kOff) ctx.client.reply_mode = ReplyMode::kSkip;
  } else {
    ctx.reply.error(kSyntaxError);
  }
}

void cmd_client_no_evict(CommandContext& ctx) {
  if (equals_ignore_case(ctx.arg(2), "on")) {
    ctx.client.set_flag(kClientNoEvict);
  } else if (equals_ignore_case(ctx.arg(2), "off")) {
    ctx.client.clear_flag(kClientNoEvict);
  } else {
    return ctx.reply.error(kSyntaxError);
  }
  ctx.reply.ok();
}

void cmd_client_pause(CommandContext& ctx) {
  int64_t timeout = 0;
  if (!string_to_int64(ctx.arg(2), &timeout) || timeout < 0) {
    return ctx.reply.error("ERR timeout is not an integer or out of range");
  }
  bool all = true;
  if (ctx.argc() == 4) {
    if (equals_ignore_case(ctx.arg(3), "write")) all = false;
    else if (!equals_ignore_case(ctx.arg(3), "all")) return ctx.reply.error(kSyntaxError);
  } else if (ctx.argc() > 4) {
    return ctx.reply.error(kSyntaxError);
  }
  ctx.server.pause_clients(unix_time_ms() + timeout, all);
  ctx.reply.ok();
}

void cmd_client_unpause(CommandContext& ctx) {
  ctx.server.pause_clients(0, false);
  ctx.reply.ok();
}

void cmd_client_unblock(CommandContext& ctx) {
  int64_t id = 0;
  if (!string_to_int64(ctx.arg(2), &id)) return ctx.reply.error(kNotIntegerError);
  bool as_error = false;
  if (ctx.argc() == 4) {
    if (equals_ignore_case(ctx.arg(3), "error")) as_error = true;
    else if (!equals_ignore_case(ctx.arg(3), "timeout")) {
      return ctx.reply.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }
  } else if (ctx.argc() > 4) {
    return ctx.reply.error(kSyntaxError);
  }
  BlockedState* state = ctx.server.blocking.find_client(static_cast<uint64_t>(id));
  if (state == nullptr || state->done) return ctx.reply.integer(0);
  ctx.server.blocking.remove(state);
  Reply reply(&state->reply, state->protocol);
  if (as_error) {
    reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
  } else if (state->timeout_reply == TimeoutReply::kNullBulk) {
    reply.null();
  } else {
    reply.null_array();
  }
  state->done = true;
  state->client->wake();
  ctx.reply.integer(1);
}

void cmd_client_help(CommandContext& ctx) { ctx.reply.raw(help_reply("client")); }

}  // namespace

void register_client_commands(CommandTable& table) {
  table.add("client|id", cmd_client_id);
  table.add("client|info", cmd_client_info);
  table.add("client|list", cmd_client_list);
  table.add("client|kill", cmd_client_kill);
  table.add("client|setname", cmd_client_setname);
  table.add("client|getname", cmd_client_getname);
  table.add("client|reply", cmd_client_reply);
  table.add("client|no-evict", cmd_client_no_evict);
  table.add("client|pause", cmd_client_pause);
  table.add("client|unpause", cmd_client_unpause);
  table.add("client|unblock", cmd_client_unblock, LockMode::kExclusive);
  table.add("client|help", cmd_client_help);
}

}  // namespace rd
