// Generic keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY, MOVE, expiry,
// and the database-wide ones (DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB).
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/glob.h"
#include "storage/memory_usage.h"
#include "storage/numbers.h"

namespace rd {
namespace {

std::string int_to_string(int64_t value) {
  char buf[kInt64BufSize];
  return std::string(buf, format_int64(value, buf));
}

// UNLINK, DEL with lazyfree-lazy-user-del, FLUSH* ASYNC: Redis frees big values in a
// background thread and counts them in INFO lazyfreed_objects. We free them here (the lock
// is held either way) and keep the count Redis would show.
bool frees_lazily(CommandContext& ctx) {
  return ctx.spec.name == "unlink" || ctx.server.config.get_bool("lazyfree-lazy-user-del");
}

void cmd_del(CommandContext& ctx) {
  int64_t deleted = 0;
  const bool lazy = frees_lazily(ctx);
  for (size_t i = 1; i < ctx.argc(); i++) {
    KeyEntry* entry = ctx.lookup_write(ctx.arg(i));
    if (entry == nullptr) continue;
    if (lazy && lazy_free_effort(entry->value) > kLazyFreeThreshold) {
      ctx.server.stats.lazyfreed_objects.fetch_add(1, std::memory_order_relaxed);
    }
    ctx.db().erase(ctx.arg(i));
    ctx.key_modified(ctx.arg(i));
    ctx.notify(NotifyClass::kGeneric, "del", ctx.arg(i));
    deleted++;
  }
  ctx.reply.integer(deleted);
}

void cmd_exists(CommandContext& ctx) {
  int64_t count = 0;
  for (size_t i = 1; i < ctx.argc(); i++) {
    if (ctx.lookup_read(ctx.arg(i), /*touch=*/false) != nullptr) count++;
  }
  ctx.reply.integer(count);
}

void cmd_type(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1), /*touch=*/false);
  ctx.reply.simple(entry == nullptr ? "none" : value_type_name(entry->value.type()));
}

void cmd_keys(CommandContext& ctx) {
  std::string_view pattern = ctx.arg(1);
  const bool all = pattern == "*";
  size_t position = ctx.reply.begin_deferred();
  size_t count = 0;
  ctx.db().for_each([&](KeyEntry* entry) {
    if (entry->expired_at(ctx.now_ms)) return;
    if (!all && !glob_match(pattern, entry->key())) return;
    ctx.reply.bulk(entry->key());
    count++;
  });
  ctx.reply.end_deferred_array(position, count);
}

// Redis parses SCAN cursors with strtoul: "" is 0, signs are accepted ("-1" wraps), but a
// leading space or trailing garbage is refused.
bool parse_scan_cursor(CommandContext& ctx, std::string_view text, uint64_t* cursor) {
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if ((!copy.empty() && std::isspace(static_cast<unsigned char>(copy[0]))) || end == nullptr ||
      static_cast<size_t>(end - copy.c_str()) != copy.size() || errno == ERANGE) {
    ctx.reply.error("ERR invalid cursor");
    return false;
  }
  *cursor = value;
  return true;
}

void cmd_scan(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!parse_scan_cursor(ctx, ctx.arg(1), &cursor)) return;
  int64_t count = 10;
  std::string_view pattern;
  std::string_view type_name;
  bool has_pattern = false;
  bool has_type = false;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    std::string_view opt = ctx.arg(i);
    if (i + 1 >= ctx.argc()) return ctx.reply.error(kSyntaxError);
    if (equals_ignore_case(opt, "count")) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &count)) return;
      if (count < 1) return ctx.reply.error(kSyntaxError);
    } else if (equals_ignore_case(opt, "match")) {
      pattern = ctx.arg(i + 1);
      has_pattern = !(pattern == "*");
    } else if (equals_ignore_case(opt, "type")) {
      type_name = ctx.arg(i + 1);
      has_type = true;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  std::vector<KeyEntry*> found;
  int64_t budget = count * 10;
  Db& db = ctx.db();
  do {
    cursor = db.scan(cursor, [&](KeyEntry* entry) { found.push_back(entry); });
  } while (cursor != 0 && budget-- > 0 && static_cast<int64_t>(found.size()) < count);

  ctx.reply.array(2);
  ctx.reply.bulk(int_to_string(static_cast<int64_t>(cursor)));
  size_t position = ctx.reply.begin_deferred();
  size_t emitted = 0;
  std::vector<std::string> expired;
  for (KeyEntry* entry : found) {
    if (entry->expired_at(ctx.now_ms)) {
      if (!ctx.client.has_flag(kClientMaster)) expired.emplace_back(entry->key());
      continue;
    }
    if (has_pattern && !glob_match(pattern, entry->key())) continue;
    if (has_type && !equals_ignore_case(type_name, value_type_name(entry->value.type()))) continue;
    ctx.reply.bulk(entry->key());
    emitted++;
  }
  ctx.reply.end_deferred_array(position, emitted);
  for (const std::string& key : expired) ctx.expire_lazily(key);
}

void cmd_randomkey(CommandContext& ctx) {
  Db& db = ctx.db();
  // Expired keys are skipped; give up after a while if (nearly) everything is expired.
  for (int attempt = 0; attempt < 100 && db.size() > 0; attempt++) {
    KeyEntry* entry = db.random_entry([&] { return ctx.server.random64(); });
    if (entry == nullptr) continue;
    if (!entry->expired_at(ctx.now_ms)) return ctx.reply.bulk(entry->key());
    // Like Redis, a sampled expired key is deleted.
    if (!ctx.client.has_flag(kClientMaster)) ctx.expire_lazily(std::string(entry->key()));
  }
  ctx.reply.null();
}

void rename_generic(CommandContext& ctx, bool only_if_absent) {
  std::string_view source = ctx.arg(1);
  std::string_view target = ctx.arg(2);
  if (ctx.lookup_write(source) == nullptr) return ctx.reply.error(kNoSuchKeyError);
  if (source == target) return only_if_absent ? ctx.reply.integer(0) : ctx.reply.ok();
  if (ctx.lookup_write(target) != nullptr) {
    if (only_if_absent) return ctx.reply.integer(0);
    ctx.db().erase(target);
  }
  KeyEntry* moved = ctx.db().detach(source);
  KeyEntry* renamed = KeyEntry::create(target, std::move(moved->value));
  renamed->expire_at_ms = moved->expire_at_ms;
  renamed->string_is_raw = moved->string_is_raw;
  KeyEntry::destroy(moved);
  ctx.db().attach(renamed);
  ctx.key_modified(source);
  ctx.key_modified(target);
  ctx.signal_ready(target);
  ctx.notify(NotifyClass::kNew, "new", target);
  ctx.notify(NotifyClass::kGeneric, "rename_from", source);
  ctx.notify(NotifyClass::kGeneric, "rename_to", target);
  only_if_absent ? ctx.reply.integer(1) : ctx.reply.ok();
}

void cmd_rename(CommandContext& ctx) { rename_generic(ctx, false); }
void cmd_renamenx(CommandContext& ctx) { rename_generic(ctx, true); }

// A DB index argument as COPY/MOVE parse it; replies and returns false when invalid.
bool parse_db_index(CommandContext& ctx, std::string_view text, int* index) {
  int64_t value = 0;
  if (!parse_int_arg(ctx, text, &value)) return false;
  if (value < 0 || value >= ctx.server.keyspace.db_count() || value > INT32_MAX) {
    ctx.reply.error("ERR DB index is out of range");
    return false;
  }
  *index = static_cast<int>(value);
  return true;
}

void cmd_copy(CommandContext& ctx) {
  int target_db = ctx.db_index();
  bool replace = false;
  for (size_t i = 3; i < ctx.argc(); i++) {
    if (equals_ignore_case(ctx.arg(i), "replace")) {
      replace = true;
    } else if (equals_ignore_case(ctx.arg(i), "db") && i + 1 < ctx.argc()) {
      if (!parse_db_index(ctx, ctx.arg(++i), &target_db)) return;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  std::string_view source = ctx.arg(1);
  std::string_view target = ctx.arg(2);
  if (target_db == ctx.db_index() && source == target) {
    return ctx.reply.error("ERR source and destination objects are the same");
  }
  KeyEntry* entry = ctx.lookup_read(source);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (ctx.lookup_write(target_db, target) != nullptr) {
    if (!replace) return ctx.reply.integer(0);
    ctx.db(target_db).erase(target);
  }
  KeyEntry* copy = ctx.db(target_db).add(target, entry->value.clone());
  copy->string_is_raw = entry->string_is_raw;
  if (entry->has_expire()) ctx.db(target_db).set_expire(copy, entry->expire_at_ms);
  ctx.key_modified(target_db, target);
  ctx.signal_ready(target_db, target);
  ctx.notify(NotifyClass::kNew, "new", target, target_db);
  ctx.notify(NotifyClass::kGeneric, "copy_to", target, target_db);
  ctx.reply.integer(1);
}

void cmd_move(CommandContext& ctx) {
  int64_t requested = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &requested)) return;
  if (requested < INT32_MIN || requested > INT32_MAX) return ctx.reply.error(kNotIntegerError);
  if (requested < 0 || requested >= ctx.server.keyspace.db_count()) {
    return ctx.reply.error("ERR DB index is out of range");
  }
  int target_db = static_cast<int>(requested);
  if (target_db == ctx.db_index()) return ctx.reply.error("ERR source and destination objects are the same");
  std::string_view key = ctx.arg(1);
  if (ctx.lookup_write(key) == nullptr) return ctx.reply.integer(0);
  if (ctx.lookup_write(target_db, key) != nullptr) return ctx.reply.integer(0);
  ctx.db(target_db).attach(ctx.db().detach(key));
  ctx.key_modified(key);
  ctx.key_modified(target_db, key);
  ctx.signal_ready(target_db, key);
  ctx.notify(NotifyClass::kNew, "new", key, target_db);
  ctx.notify(NotifyClass::kGeneric, "move_from", key);
  ctx.notify(NotifyClass::kGeneric, "move_to", key, target_db);
  ctx.reply.integer(1);
}

// ---- expiry ----

enum ExpireFlag : unsigned { kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8 };

void expire_generic(CommandContext& ctx, int64_t base_ms, bool seconds) {
  unsigned flags = 0;
  for (size_t i = 3; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    if (equals_ignore_case(opt, "nx")) flags |= kExpireNx;
    else if (equals_ignore_case(opt, "xx")) flags |= kExpireXx;
    else if (equals_ignore_case(opt, "gt")) flags |= kExpireGt;
    else if (equals_ignore_case(opt, "lt")) flags |= kExpireLt;
    else return ctx.reply.error("ERR Unsupported option " + std::string(opt));
  }
  if ((flags & kExpireNx) && (flags & (kExpireXx | kExpireGt | kExpireLt))) {
    return ctx.reply.error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kExpireGt) && (flags & kExpireLt)) {
    return ctx.reply.error("ERR GT and LT options at the same time are not compatible");
  }
  const std::string invalid = "ERR invalid expire time in '" + ctx.spec.name + "' command";
  int64_t when = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &when)) return;
  if (seconds) {
    if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) return ctx.reply.error(invalid);
    when *= 1000;
  }
  if (when > INT64_MAX - base_ms) return ctx.reply.error(invalid);
  when += base_ms;

  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  const int64_t current = entry->expire_at_ms;
  if ((flags & kExpireNx) && current != kNoExpire) return ctx.reply.integer(0);
  if ((flags & kExpireXx) && current == kNoExpire) return ctx.reply.integer(0);
  if ((flags & kExpireGt) && (current == kNoExpire || when <= current)) return ctx.reply.integer(0);
  if ((flags & kExpireLt) && current != kNoExpire && when >= current) return ctx.reply.integer(0);

  if (when <= ctx.now_ms && !ctx.server.is_replica() && !ctx.client.has_flag(kClientMaster)) {
    ctx.db().erase(key);
    ctx.key_modified(key);
    ctx.propagate_as({"DEL", key});
    ctx.notify(NotifyClass::kGeneric, "del", key);
    return ctx.reply.integer(1);
  }
  ctx.db().set_expire(entry, when);
  ctx.key_modified(key);
  std::vector<std::string> propagated(ctx.argv.begin(), ctx.argv.end());
  propagated[0] = "PEXPIREAT";
  propagated[2] = int_to_string(when);
  ctx.propagate_as(std::move(propagated));
  ctx.notify(NotifyClass::kGeneric, "expire", key);
  ctx.reply.integer(1);
}

void cmd_expire(CommandContext& ctx) { expire_generic(ctx, ctx.now_ms, true); }
void cmd_pexpire(CommandContext& ctx) { expire_generic(ctx, ctx.now_ms, false); }
void cmd_expireat(CommandContext& ctx) { expire_generic(ctx, 0, true); }
void cmd_pexpireat(CommandContext& ctx) { expire_generic(ctx, 0, false); }

void ttl_generic(CommandContext& ctx, bool milliseconds, bool absolute) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1), /*touch=*/false);
  if (entry == nullptr) return ctx.reply.integer(-2);
  if (!entry->has_expire()) return ctx.reply.integer(-1);
  int64_t ttl = absolute ? entry->expire_at_ms : entry->expire_at_ms - ctx.now_ms;
  if (ttl < 0) ttl = 0;
  ctx.reply.integer(milliseconds ? ttl : (ttl + 500) / 1000);
}

void cmd_ttl(CommandContext& ctx) { ttl_generic(ctx, false, false); }
void cmd_pttl(CommandContext& ctx) { ttl_generic(ctx, true, false); }
void cmd_expiretime(CommandContext& ctx) { ttl_generic(ctx, false, true); }
void cmd_pexpiretime(CommandContext& ctx) { ttl_generic(ctx, true, true); }

void cmd_persist(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_write(ctx.arg(1));
  if (entry == nullptr || !entry->has_expire()) return ctx.reply.integer(0);
  ctx.db().clear_expire(entry);
  ctx.key_modified(ctx.arg(1));
  ctx.notify(NotifyClass::kGeneric, "persist", ctx.arg(1));
  ctx.reply.integer(1);
}

// ---- databases ----

void cmd_dbsize(CommandContext& ctx) { ctx.reply.integer(static_cast<int64_t>(ctx.db().size())); }

// Returns false (after replying) on a syntax error; *async: ASYNC, or lazyfree-lazy-user-flush.
bool parse_flush_mode(CommandContext& ctx, bool* async) {
  if (ctx.argc() > 2 || (ctx.argc() == 2 && !equals_ignore_case(ctx.arg(1), "sync") &&
                         !equals_ignore_case(ctx.arg(1), "async"))) {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  *async = ctx.argc() == 2 ? equals_ignore_case(ctx.arg(1), "async")
                           : ctx.server.config.get_bool("lazyfree-lazy-user-flush");
  return true;
}

void cmd_flushdb(CommandContext& ctx) {
  bool async = false;
  if (!parse_flush_mode(ctx, &async)) return;
  ctx.server.watches.touch_existing_in_db(ctx.server.keyspace, ctx.db_index());
  ctx.server.all_keys_changed();  // like Redis, tracking forgets every key, of all databases
  const size_t removed = ctx.db().clear();
  if (async) ctx.server.stats.lazyfreed_objects.fetch_add(removed, std::memory_order_relaxed);
  ctx.add_dirty(static_cast<int64_t>(removed) + 1);
  ctx.reply.ok();
}

void cmd_flushall(CommandContext& ctx) {
  bool async = false;
  if (!parse_flush_mode(ctx, &async)) return;
  ctx.server.watches.touch_existing_in_db(ctx.server.keyspace, -1);
  ctx.server.all_keys_changed();
  int64_t removed = 0;
  for (int i = 0; i < ctx.server.keyspace.db_count(); i++) removed += static_cast<int64_t>(ctx.db(i).clear());
  if (async) ctx.server.stats.lazyfreed_objects.fetch_add(static_cast<uint64_t>(removed), std::memory_order_relaxed);
  ctx.add_dirty(removed + 1);
  ctx.server.persistence->after_flushall();  // with save points, Redis saves the empty dataset
  ctx.reply.ok();
}

void cmd_select(CommandContext& ctx) {
  int64_t index = 0;
  if (!string_to_int64(ctx.arg(1), &index) || index < INT32_MIN || index > INT32_MAX) {
    return ctx.reply.error(kNotIntegerError);
  }
  if (index < 0 || index >= ctx.server.keyspace.db_count()) return ctx.reply.error("ERR DB index is out of range");
  ctx.client.db.store(static_cast<int>(index), std::memory_order_relaxed);
  ctx.reply.ok();
}

void cmd_swapdb(CommandContext& ctx) {
  int64_t first = 0;
  int64_t second = 0;
  if (!string_to_int64(ctx.arg(1), &first) || first < INT32_MIN || first > INT32_MAX) {
    return ctx.reply.error("ERR invalid first DB index");
  }
  if (!string_to_int64(ctx.arg(2), &second) || second < INT32_MIN || second > INT32_MAX) {
    return ctx.reply.error("ERR invalid second DB index");
  }
  const int64_t count = ctx.server.keyspace.db_count();
  if (first < 0 || first >= count || second < 0 || second >= count) {
    return ctx.reply.error("ERR DB index is out of range");
  }
  int a = static_cast<int>(first);
  int b = static_cast<int>(second);
  if (a != b) {
    ctx.server.watches.touch_swapped(ctx.server.keyspace, a, b, ctx.now_ms);
    ctx.db(a).swap(ctx.db(b));
    // Clients blocked on keys that now exist in the swapped-in data may be served.
    for (int db : {a, b}) {
      ctx.db(db).for_each([&](KeyEntry* entry) { ctx.signal_ready(db, entry->key()); });
    }
  }
  ctx.add_dirty(1);
  ctx.reply.ok();
}

}  // namespace

void register_key_commands(CommandTable& table) {
  table.add("del", cmd_del);
  table.add("unlink", cmd_del);
  table.add("exists", cmd_exists);
  table.add("type", cmd_type);
  table.add("keys", cmd_keys);
  table.add("scan", cmd_scan);
  table.add("randomkey", cmd_randomkey);
  table.add("rename", cmd_rename);
  table.add("renamenx", cmd_renamenx);
  table.add("copy", cmd_copy);
  table.add("move", cmd_move);
  table.add("expire", cmd_expire);
  table.add("pexpire", cmd_pexpire);
  table.add("expireat", cmd_expireat);
  table.add("pexpireat", cmd_pexpireat);
  table.add("ttl", cmd_ttl);
  table.add("pttl", cmd_pttl);
  table.add("expiretime", cmd_expiretime);
  table.add("pexpiretime", cmd_pexpiretime);
  table.add("persist", cmd_persist);
  table.add("dbsize", cmd_dbsize);
  table.add("flushdb", cmd_flushdb);
  table.add("flushall", cmd_flushall);
  table.add("select", cmd_select);
  table.add("swapdb", cmd_swapdb);
}

}  // namespace rd
