// DEBUG: the subcommands test suites rely on (SLEEP, ERROR, OBJECT, RELOAD, SET-ACTIVE-EXPIRE,
// DIGEST, DIGEST-VALUE, POPULATE, ...). Runs under the exclusive keyspace lock, so DEBUG SLEEP
// stalls every client exactly as it stalls Redis's single thread.
#include <chrono>
#include <cstdio>
#include <thread>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/digest.h"
#include "storage/numbers.h"

namespace rd {
namespace {

bool debug_allowed(CommandContext& ctx) {
  // Scripts (which reach DEBUG only after DEBUG SET-DISABLE-DENY-SCRIPTS) and the master link
  // are not connections: Redis checks protected commands at the connection's door only.
  if (ctx.client.has_flag(kClientScript) || ctx.client.has_flag(kClientMaster)) return true;
  std::string mode = ctx.server.config.get("enable-debug-command");
  bool local = ctx.client.peer_address.rfind("127.", 0) == 0 || ctx.client.peer_address.rfind("::1", 0) == 0;
  if (mode == "yes" || (mode == "local" && local)) return true;
  ctx.reply.error(
      "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it "
      "from a local connection, otherwise you need to set this option in the configuration file, and then "
      "restart the server.");
  return false;
}

void syntax_error(CommandContext& ctx) {
  ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(ctx.arg(1)) +
                  "'. Try DEBUG HELP.");
}

void debug_object(CommandContext& ctx) {
  KeyEntry* entry = ctx.db().find(ctx.arg(2));  // logically expired keys too, as Redis's dictFind
  if (entry == nullptr) return ctx.reply.error(kNoSuchKeyError);
  uint32_t now = access_clock_now();
  uint32_t then = entry->access_clock.load(std::memory_order_relaxed);
  char text[512];
  std::snprintf(text, sizeof(text),
                "Value at:%p refcount:%lld encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%u",
                static_cast<const void*>(&entry->value),
                static_cast<long long>(object_refcount(entry->value, entry->string_is_raw)),
                std::string(encoding_name(entry->value, entry->string_is_raw)).c_str(),
                serialized_length_estimate(entry->value), then, now >= then ? now - then : 0);
  std::string line = text;
  if (entry->value.is(ValueType::kList)) {
    line += " ql_nodes:1 ql_avg_node:" + std::to_string(value_length(entry->value)) +
            ".00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:0";
  }
  ctx.reply.simple(line);
}

void debug_populate(CommandContext& ctx) {
  int64_t count = 0;
  if (!string_to_int64(ctx.arg(2), &count) || count < 0) {
    return ctx.reply.error("ERR value is out of range, must be positive");
  }
  std::string prefix = ctx.argc() > 3 ? std::string(ctx.arg(3)) : "key";
  int64_t size = 0;
  if (ctx.argc() > 4 && (!string_to_int64(ctx.arg(4), &size) || size < 0)) {
    return ctx.reply.error("ERR value is out of range, must be positive");
  }
  ctx.db().reserve(ctx.db().size() + static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) {
    std::string key = prefix + ":" + std::to_string(i);
    if (ctx.lookup_write(key) != nullptr) continue;
    std::string value = "value:" + std::to_string(i);
    if (size > 0) value.resize(static_cast<size_t>(size), '\0');
    ctx.db().add(key, Value(std::move(value)));
    ctx.notify(NotifyClass::kNew, "new", key);
  }
  ctx.no_propagate();
  ctx.reply.ok();
}

// DEBUG PROTOCOL <type>: one reply of each RESP type, byte for byte as Redis 7.0 sends them.
void debug_protocol(CommandContext& ctx) {
  std::string_view name = ctx.arg(2);
  const bool resp3 = ctx.reply.protocol() >= 3;
  auto is = [&](std::string_view n) { return equals_ignore_case(name, n); };
  if (is("string")) return ctx.reply.raw("$11\r\nHello World\r\n");
  if (is("integer")) return ctx.reply.raw(":12345\r\n");
  if (is("double")) return ctx.reply.raw(resp3 ? ",3.141\r\n" : "$5\r\n3.141\r\n");
  if (is("bignum")) {
    return ctx.reply.raw(resp3 ? "(1234567999999999999999999999999999999\r\n"
                               : "$37\r\n1234567999999999999999999999999999999\r\n");
  }
  if (is("null")) return ctx.reply.raw(resp3 ? "_\r\n" : "$-1\r\n");
  if (is("array")) return ctx.reply.raw("*3\r\n:0\r\n:1\r\n:2\r\n");
  if (is("set")) return ctx.reply.raw(resp3 ? "~3\r\n:0\r\n:1\r\n:2\r\n" : "*3\r\n:0\r\n:1\r\n:2\r\n");
  if (is("map")) {
    return ctx.reply.raw(resp3 ? "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
                               : "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n");
  }
  if (is("attrib")) {
    if (resp3) ctx.reply.raw("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
    return ctx.reply.raw("$39\r\nSome real reply following the attribute\r\n");
  }
  if (is("push")) {
    if (!resp3) return ctx.reply.error("ERR RESP2 is not supported by this command");
    return ctx.reply.raw(">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n");
  }
  if (is("verbatim")) {
    return ctx.reply.raw(resp3 ? "=29\r\ntxt:This is a verbatim\nstring\r\n" : "$25\r\nThis is a verbatim\nstring\r\n");
  }
  if (is("true")) return ctx.reply.raw(resp3 ? "#t\r\n" : ":1\r\n");
  if (is("false")) return ctx.reply.raw(resp3 ? "#f\r\n" : ":0\r\n");
  ctx.reply.error(
      "ERR Wrong protocol type name. Please use one of the following: "
      "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
}

void cmd_debug(CommandContext& ctx) {
  if (!debug_allowed(ctx)) return;
  std::string_view sub = ctx.arg(1);
  const size_t argc = ctx.argc();
  if (equals_ignore_case(sub, "help")) return ctx.reply.raw(help_reply("debug"));
  if (equals_ignore_case(sub, "sleep") && argc == 3) {
    double seconds = std::strtod(std::string(ctx.arg(2)).c_str(), nullptr);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6)));
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "error") && argc == 3) {
    ctx.error_not_counted = true;
    ctx.reply.raw("-");
    ctx.reply.raw(ctx.arg(2));
    return ctx.reply.raw("\r\n");
  }
  if (equals_ignore_case(sub, "object") && argc == 3) return debug_object(ctx);
  if (equals_ignore_case(sub, "protocol") && argc == 3) return debug_protocol(ctx);
  if (equals_ignore_case(sub, "set-skip-checksum-validation") && argc == 3) {
    set_restore_skip_checksum(std::strtol(std::string(ctx.arg(2)).c_str(), nullptr, 10) != 0);
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "set-disable-deny-scripts") && argc == 3) {
    ctx.server.scripts_may_run_noscript = ctx.arg(2) != "0";
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "set-active-expire") && argc == 3) {
    ctx.server.active_expire_enabled = ctx.arg(2) != "0";
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "digest") && argc == 2) {
    return ctx.reply.simple(keyspace_digest_hex(ctx.server.keyspace, ctx.now_ms));  // status, as Redis
  }
  if (equals_ignore_case(sub, "digest-value") && argc >= 2) {
    ctx.reply.array(argc - 2);
    for (size_t i = 2; i < argc; i++) {
      KeyEntry* entry = ctx.db().find(ctx.arg(i));  // logically expired keys too, as Redis
      ctx.reply.simple(entry == nullptr ? std::string(40, '0') : value_digest_hex(entry->value, entry->has_expire()));
    }
    return;
  }
  if (equals_ignore_case(sub, "populate") && argc >= 3 && argc <= 5) return debug_populate(ctx);
  if (equals_ignore_case(sub, "reload")) {
    std::string error = ctx.server.debug_reload(ctx);
    if (!error.empty()) return ctx.reply.error(error);
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "loadaof") && argc == 2) {
    ctx.server.persistence->debug_loadaof(ctx);
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "log") && argc == 3) {
    ctx.server.log('#', "DEBUG LOG: " + std::string(ctx.arg(2)));
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "pause-cron") && argc == 3) {
    int64_t paused = 0;
    string_to_int64(ctx.arg(2), &paused);  // Redis reads it with atoi
    ctx.server.pause_cron(paused != 0);
    return ctx.reply.ok();
  }
  if ((equals_ignore_case(sub, "jmap") || equals_ignore_case(sub, "change-repl-id") ||
       equals_ignore_case(sub, "quicklist-packed-threshold") || equals_ignore_case(sub, "set-skip-checksum-validation") ||
       equals_ignore_case(sub, "pause-cron") || equals_ignore_case(sub, "replybuffer") ||
       equals_ignore_case(sub, "set-disable-deny-scripts") || equals_ignore_case(sub, "dict-resizing")) &&
      argc <= 4) {
    return ctx.reply.ok();
  }
  if (equals_ignore_case(sub, "stringmatch-len") && argc == 3) return ctx.reply.ok();
  syntax_error(ctx);
}

}  // namespace

void register_debug_commands(CommandTable& table) { table.add("debug", cmd_debug, LockMode::kExclusive); }

}  // namespace rd
