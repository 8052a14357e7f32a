// Connection and server commands: PING, ECHO, TIME, QUIT, RESET, HELLO, AUTH, INFO,
// SHUTDOWN, OBJECT, DEBUG.
#include <chrono>
#include <thread>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/info.h"
#include "server/eviction.h"
#include "server/server.h"
#include "server/version.h"
#include "storage/numbers.h"

namespace rd {
namespace {

void cmd_ping(CommandContext& ctx) {
  if (ctx.argc() > 2) return ctx.reply.error("ERR wrong number of arguments for 'ping' command");
  if (ctx.client.has_flag(kClientPubSub) && ctx.reply.protocol() == 2) {
    ctx.reply.array(2);
    ctx.reply.bulk("pong");
    ctx.reply.bulk(ctx.argc() == 2 ? ctx.arg(1) : "");
    return;
  }
  if (ctx.argc() == 2) return ctx.reply.bulk(ctx.arg(1));
  ctx.reply.simple("PONG");
}

void cmd_echo(CommandContext& ctx) { ctx.reply.bulk(ctx.arg(1)); }

void cmd_time(CommandContext& ctx) {
  int64_t us = unix_time_us();
  ctx.reply.array(2);
  ctx.reply.bulk_int(us / 1000000);
  ctx.reply.bulk_int(us % 1000000);
}

void cmd_quit(CommandContext& ctx) {
  ctx.reply.ok();
  ctx.client.set_flag(kClientCloseAfterReply);
}

void cmd_reset(CommandContext& ctx) {
  Client& client = ctx.client;
  client.end_multi();
  if (client.has_flag(kClientMonitor)) ctx.server.monitors.remove(client);
  client.clear_flag(kClientMonitor);
  ctx.server.watches.unwatch_all(&client);
  ctx.server.pubsub.remove_client(client);
  if (client.has_flag(kClientTracking)) ctx.server.tracking.disable(client);
  client.db = 0;
  client.protocol = 2;
  ctx.reply.set_protocol(2);
  client.set_name("");
  client.reply_mode = ReplyMode::kOn;
  ctx.server.acl->reset_client(client);  // the default user again
  ctx.reply.simple("RESET");
}

bool valid_client_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

// AUTH / HELLO AUTH: on success the client runs as `user`; a failure is logged (ACL LOG).
bool authenticate(CommandContext& ctx, std::string_view user, std::string_view password) {
  ctx.client.last_command.store(&ctx.spec, std::memory_order_relaxed);  // ACL LOG's client-info
  return ctx.server.acl->authenticate(ctx.client, user, password, ctx.arg(0), ctx.client.has_flag(kClientMulti));
}

void cmd_auth(CommandContext& ctx) {
  if (ctx.argc() > 3) return ctx.reply.error(kSyntaxError);
  if (ctx.argc() == 2 && ctx.server.acl->default_user_nopass()) {
    return ctx.reply.error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure "
        "your configuration is correct?");
  }
  std::string_view user = ctx.argc() == 3 ? ctx.arg(1) : "default";
  if (!authenticate(ctx, user, ctx.arg(ctx.argc() - 1))) return ctx.reply.error(kWrongPass);
  ctx.reply.ok();
}

void cmd_hello(CommandContext& ctx) {
  int64_t version = ctx.client.protocol.load();
  size_t next = 1;
  if (ctx.argc() >= 2) {
    if (!string_to_int64(ctx.arg(1), &version)) {
      return ctx.reply.error("ERR Protocol version is not an integer or out of range");
    }
    next = 2;
    if (version < 2 || version > 3) return ctx.reply.error("NOPROTO unsupported protocol version");
  }
  // Like Redis 7.0, options act as they are read: AUTH authenticates and SETNAME names the
  // client at once, so a later bad option (or NOAUTH) leaves what came before in effect.
  for (size_t i = next; i < ctx.argc(); i++) {
    size_t left = ctx.argc() - i - 1;
    if (equals_ignore_case(ctx.arg(i), "auth") && left >= 2) {
      if (!authenticate(ctx, ctx.arg(i + 1), ctx.arg(i + 2))) return ctx.reply.error(kWrongPass);
      i += 2;
    } else if (equals_ignore_case(ctx.arg(i), "setname") && left >= 1) {
      if (!valid_client_name(ctx.arg(i + 1))) {
        return ctx.reply.error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
      ctx.client.set_name(std::string(ctx.arg(i + 1)));
      i += 1;
    } else {
      return ctx.reply.error("ERR Syntax error in HELLO option '" + std::string(ctx.arg(i)) + "'");
    }
  }
  if (!ctx.client.authenticated) {
    return ctx.reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                           "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                           "select the RESP protocol version at the same time");
  }
  ctx.client.protocol = static_cast<int>(version);
  ctx.reply.set_protocol(static_cast<int>(version));
  ctx.reply.map(7);
  ctx.reply.bulk("server");
  ctx.reply.bulk("redis");
  ctx.reply.bulk("version");
  ctx.reply.bulk(kRedisVersion);
  ctx.reply.bulk("proto");
  ctx.reply.integer(version);
  ctx.reply.bulk("id");
  ctx.reply.integer(static_cast<int64_t>(ctx.client.id));
  ctx.reply.bulk("mode");
  ctx.reply.bulk("standalone");
  ctx.reply.bulk("role");
  ctx.reply.bulk(ctx.server.is_replica() ? "replica" : "master");
  ctx.reply.bulk("modules");
  ctx.reply.empty_array();
}

void cmd_info(CommandContext& ctx) {
  std::vector<std::string_view> sections(ctx.argv.begin() + 1, ctx.argv.end());
  ctx.reply.verbatim(build_info(ctx.server, sections));
}

void cmd_shutdown(CommandContext& ctx) {
  bool save = false;
  bool nosave = false;
  for (size_t i = 1; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    if (equals_ignore_case(opt, "nosave")) nosave = true;
    else if (equals_ignore_case(opt, "save")) save = true;
    else if (equals_ignore_case(opt, "now") || equals_ignore_case(opt, "force")) continue;
    else if (equals_ignore_case(opt, "abort")) return ctx.reply.error("ERR No shutdown in progress.");
    else return ctx.reply.error(kSyntaxError);
  }
  if (save && nosave) return ctx.reply.error(kSyntaxError);
  if (!ctx.server.prepare_shutdown(save, nosave)) {
    return ctx.reply.error("ERR Errors trying to SHUTDOWN. Check logs.");
  }
  ctx.server.log('#', "User requested shutdown...");
  ctx.server.request_shutdown(0);
  ctx.client.set_flag(kClientCloseAfterReply);  // Redis sends no reply: the connection closes
}

void cmd_monitor(CommandContext& ctx) {
  // A monitor is a kind of replica in Redis; it gets every command as text from now on.
  if (ctx.client.has_flag(kClientMonitor)) return ctx.reply.ok();
  std::shared_ptr<Client> self = ctx.server.find_client(ctx.client.id);
  if (self == nullptr) return;
  ctx.reply.ok();
  ctx.client.deliver(ctx.client.output, 0);
  ctx.client.output.clear();
  ctx.client.set_flag(kClientMonitor);
  ctx.server.monitors.add(self);
}

// ---- OBJECT ----

void cmd_object_encoding(CommandContext& ctx) {
  KeyEntry* entry = ctx.peek(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.null();
  ctx.reply.bulk(encoding_name(entry->value, entry->string_is_raw));
}

void cmd_object_refcount(CommandContext& ctx) {
  KeyEntry* entry = ctx.peek(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.null();
  ctx.reply.integer(object_refcount(entry->value, entry->string_is_raw));
}

void cmd_object_idletime(CommandContext& ctx) {
  KeyEntry* entry = ctx.peek(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.null();
  if (ctx.server.config.get("maxmemory-policy").find("lfu") != std::string::npos) {
    return ctx.reply.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
                           "when switching between policies at runtime LRU and LFU data will take some time "
                           "to adjust.");
  }
  uint32_t now = access_clock_now();
  uint32_t then = entry->access_clock.load(std::memory_order_relaxed);
  uint32_t idle = now >= then ? now - then : now + (1u << 24) - then;
  ctx.reply.integer(idle);
}

void cmd_object_freq(CommandContext& ctx) {
  KeyEntry* entry = ctx.peek(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.null();
  if (ctx.server.config.get("maxmemory-policy").find("lfu") == std::string::npos) {
    return ctx.reply.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
                           "note that when switching between policies at runtime LRU and LFU data will take "
                           "some time to adjust.");
  }
  ctx.reply.integer(ctx.server.eviction->frequency(entry));
}

void cmd_object_help(CommandContext& ctx) { ctx.reply.raw(help_reply("object")); }

}  // namespace

void register_server_commands(CommandTable& table) {
  table.add("ping", cmd_ping);
  table.add("echo", cmd_echo);
  table.add("time", cmd_time);
  table.add("quit", cmd_quit);
  table.add("reset", cmd_reset, LockMode::kExclusive);
  table.add("hello", cmd_hello);
  table.add("auth", cmd_auth);
  table.add("info", cmd_info, LockMode::kShared);
  table.add("shutdown", cmd_shutdown);
  table.add("monitor", cmd_monitor);
  table.add("object|encoding", cmd_object_encoding);
  table.add("object|refcount", cmd_object_refcount);
  table.add("object|idletime", cmd_object_idletime);
  table.add("object|freq", cmd_object_freq);
  table.add("object|help", cmd_object_help);
}

}  // namespace rd
