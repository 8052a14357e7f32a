// String commands: SET and friends, GET and friends, counters, ranges.
#include <cmath>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

enum SetFlag : unsigned {
  kSetNx = 1u << 0,
  kSetXx = 1u << 1,
  kSetGet = 1u << 2,
  kSetKeepTtl = 1u << 3,
  kSetEx = 1u << 4,
  kSetPx = 1u << 5,
  kSetExat = 1u << 6,
  kSetPxat = 1u << 7,
  kSetPersist = 1u << 8,
};
constexpr unsigned kAnyExpire = kSetEx | kSetPx | kSetExat | kSetPxat;

std::string invalid_expire_error(const CommandContext& ctx) {
  return "ERR invalid expire time in '" + ctx.spec.name + "' command";
}

// Turns an EX/PX/EXAT/PXAT argument into an absolute unix time in ms, as Redis validates it.
bool expire_argument_to_ms(CommandContext& ctx, std::string_view text, unsigned unit_flag, int64_t* when_ms) {
  int64_t value = 0;
  if (!parse_int_arg(ctx, text, &value)) return false;
  bool seconds = (unit_flag & (kSetEx | kSetExat)) != 0;
  if (value <= 0 || (seconds && value > INT64_MAX / 1000)) {
    ctx.reply.error(invalid_expire_error(ctx));
    return false;
  }
  if (seconds) value *= 1000;
  if (unit_flag & (kSetEx | kSetPx)) {
    if (value > INT64_MAX - ctx.now_ms) {
      ctx.reply.error(invalid_expire_error(ctx));
      return false;
    }
    value += ctx.now_ms;
  }
  *when_ms = value;
  return true;
}

// Parses SET/GETEX options from argv[first], with Redis's rules: an option may repeat (the
// last value wins) but conflicting ones are a syntax error. `allowed` limits the flags.
bool parse_set_options(CommandContext& ctx, size_t first, unsigned allowed, unsigned* flags,
                       std::string_view* expire_text) {
  for (size_t i = first; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    const bool has_next = i + 1 < ctx.argc();
    const unsigned f = *flags;
    // An expiry option conflicts with KEEPTTL, PERSIST and any *other* expiry unit.
    auto expire_ok = [&](unsigned self) { return has_next && !(f & (kSetKeepTtl | kSetPersist | (kAnyExpire & ~self))); };
    if ((allowed & kSetNx) && equals_ignore_case(opt, "nx") && !(f & kSetXx)) {
      *flags |= kSetNx;
    } else if ((allowed & kSetXx) && equals_ignore_case(opt, "xx") && !(f & kSetNx)) {
      *flags |= kSetXx;
    } else if ((allowed & kSetGet) && equals_ignore_case(opt, "get")) {
      *flags |= kSetGet;
    } else if ((allowed & kSetKeepTtl) && equals_ignore_case(opt, "keepttl") && !(f & (kAnyExpire | kSetPersist))) {
      *flags |= kSetKeepTtl;
    } else if ((allowed & kSetPersist) && equals_ignore_case(opt, "persist") && !(f & (kAnyExpire | kSetKeepTtl))) {
      *flags |= kSetPersist;
    } else if (equals_ignore_case(opt, "ex") && expire_ok(kSetEx)) {
      *flags |= kSetEx;
      *expire_text = ctx.arg(++i);
    } else if (equals_ignore_case(opt, "px") && expire_ok(kSetPx)) {
      *flags |= kSetPx;
      *expire_text = ctx.arg(++i);
    } else if (equals_ignore_case(opt, "exat") && expire_ok(kSetExat)) {
      *flags |= kSetExat;
      *expire_text = ctx.arg(++i);
    } else if (equals_ignore_case(opt, "pxat") && expire_ok(kSetPxat)) {
      *flags |= kSetPxat;
      *expire_text = ctx.arg(++i);
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

std::string int_to_string(int64_t value) {
  char buf[kInt64BufSize];
  return std::string(buf, format_int64(value, buf));
}

// The shared core of SET, SETNX, SETEX, PSETEX. Replies with `ok`/`aborted` callbacks' text.
enum class SetReply { kOk, kIntegers };

void set_generic(CommandContext& ctx, unsigned flags, std::string_view key, std::string_view value,
                 std::string_view expire_text, SetReply style) {
  int64_t when = 0;
  if ((flags & kAnyExpire) && !expire_argument_to_ms(ctx, expire_text, flags & kAnyExpire, &when)) return;

  if (flags & kSetGet) {
    KeyEntry* old = ctx.lookup_read(key);
    if (old != nullptr && !ctx.check_type(old, ValueType::kString)) return;
    if (old == nullptr) {
      ctx.reply.null();
    } else {
      ctx.reply.bulk(old->value.str());
    }
  }
  KeyEntry* existing = ctx.lookup_write(key);
  if (((flags & kSetNx) && existing != nullptr) || ((flags & kSetXx) && existing == nullptr)) {
    if (!(flags & kSetGet)) {
      if (style == SetReply::kIntegers) {
        ctx.reply.integer(0);
      } else {
        ctx.reply.null();
      }
    }
    return;
  }
  KeyEntry* entry = ctx.db().set(key, Value(std::string(value)), (flags & kSetKeepTtl) != 0);
  ctx.key_modified(key);
  if (existing == nullptr) ctx.notify(NotifyClass::kNew, "new", key);
  ctx.notify(NotifyClass::kString, "set", key);
  if (flags & kAnyExpire) {
    ctx.db().set_expire(entry, when);
    ctx.propagate_as({"SET", key, value, "PXAT", int_to_string(when)});  // even for PXAT, as Redis 7.0
    ctx.notify(NotifyClass::kGeneric, "expire", key);
  }
  if (!(flags & kSetGet)) {
    if (style == SetReply::kIntegers) {
      ctx.reply.integer(1);
    } else {
      ctx.reply.ok();
    }
  }
}

void cmd_set(CommandContext& ctx) {
  unsigned flags = 0;
  std::string_view expire_text;
  if (!parse_set_options(ctx, 3, kSetNx | kSetXx | kSetGet | kSetKeepTtl, &flags, &expire_text)) return;
  set_generic(ctx, flags, ctx.arg(1), ctx.arg(2), expire_text, SetReply::kOk);
}

void cmd_setnx(CommandContext& ctx) { set_generic(ctx, kSetNx, ctx.arg(1), ctx.arg(2), {}, SetReply::kIntegers); }

void cmd_setex(CommandContext& ctx) { set_generic(ctx, kSetEx, ctx.arg(1), ctx.arg(3), ctx.arg(2), SetReply::kOk); }

void cmd_psetex(CommandContext& ctx) { set_generic(ctx, kSetPx, ctx.arg(1), ctx.arg(3), ctx.arg(2), SetReply::kOk); }

void cmd_get(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kString)) return;
  ctx.reply.bulk(entry->value.str());
}

void cmd_getdel(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kString)) return;
  ctx.reply.bulk(entry->value.str());
  ctx.db().erase(ctx.arg(1));
  ctx.key_modified(ctx.arg(1));
  ctx.propagate_as({"DEL", ctx.arg(1)});
  ctx.notify(NotifyClass::kGeneric, "del", ctx.arg(1));
}

void cmd_getex(CommandContext& ctx) {
  unsigned flags = 0;
  std::string_view expire_text;
  if (!parse_set_options(ctx, 2, kSetPersist, &flags, &expire_text)) return;
  int64_t when = 0;
  if ((flags & kAnyExpire) && !expire_argument_to_ms(ctx, expire_text, flags & kAnyExpire, &when)) return;
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_read(key);
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kString)) return;
  ctx.reply.bulk(entry->value.str());
  if ((flags & kAnyExpire) && when <= ctx.now_ms && !ctx.server.is_replica()) {
    ctx.db().erase(key);
    ctx.key_modified(key);
    ctx.propagate_as({"DEL", key});
    ctx.notify(NotifyClass::kGeneric, "del", key);
  } else if (flags & kAnyExpire) {
    ctx.db().set_expire(entry, when);
    ctx.key_modified(key);
    ctx.propagate_as({"PEXPIREAT", key, int_to_string(when)});
    ctx.notify(NotifyClass::kGeneric, "expire", key);
  } else if ((flags & kSetPersist) && entry->has_expire()) {
    ctx.db().clear_expire(entry);
    ctx.key_modified(key);
    ctx.propagate_as({"PERSIST", key});
    ctx.notify(NotifyClass::kGeneric, "persist", key);
  }
}

void cmd_getset(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_read(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kString)) return;
  if (entry == nullptr) {
    ctx.reply.null();
  } else {
    ctx.reply.bulk(entry->value.str());
  }
  ctx.db().set(key, Value(std::string(ctx.arg(2))));
  ctx.key_modified(key);
  ctx.propagate_as({"SET", key, ctx.arg(2)});
  if (entry == nullptr) ctx.notify(NotifyClass::kNew, "new", key);
  ctx.notify(NotifyClass::kString, "set", key);
}

void cmd_mget(CommandContext& ctx) {
  ctx.reply.array(ctx.argc() - 1);
  for (size_t i = 1; i < ctx.argc(); i++) {
    KeyEntry* entry = ctx.lookup_read(ctx.arg(i));
    if (entry == nullptr || !entry->value.is(ValueType::kString)) {
      ctx.reply.null();
    } else {
      ctx.reply.bulk(entry->value.str());
    }
  }
}

void mset_generic(CommandContext& ctx, bool only_if_none_exist) {
  if (ctx.argc() % 2 == 0) {
    ctx.reply.error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
    return;
  }
  if (only_if_none_exist) {
    for (size_t i = 1; i < ctx.argc(); i += 2) {
      if (ctx.lookup_write(ctx.arg(i)) != nullptr) return ctx.reply.integer(0);
    }
  }
  for (size_t i = 1; i < ctx.argc(); i += 2) {
    // Each key is looked up as it is set (an expired one is deleted first; a key repeated in
    // the arguments is new only the first time), as Redis's setKey does.
    const bool existed = ctx.lookup_write(ctx.arg(i)) != nullptr;
    ctx.db().set(ctx.arg(i), Value(std::string(ctx.arg(i + 1))));
    ctx.key_modified(ctx.arg(i));
    if (!existed) ctx.notify(NotifyClass::kNew, "new", ctx.arg(i));
    ctx.notify(NotifyClass::kString, "set", ctx.arg(i));
  }
  if (only_if_none_exist) {
    ctx.reply.integer(1);
  } else {
    ctx.reply.ok();
  }
}

void cmd_mset(CommandContext& ctx) { mset_generic(ctx, false); }
void cmd_msetnx(CommandContext& ctx) { mset_generic(ctx, true); }

// Redis refuses strings that would outgrow proto-max-bulk-len (except from its master).
bool check_string_length(CommandContext& ctx, int64_t offset, int64_t append) {
  if (ctx.client.has_flag(kClientMaster)) return true;
  int64_t total = 0;
  if (__builtin_add_overflow(offset, append, &total) || total > ctx.server.proto_max_bulk_len.load()) {
    ctx.reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

void cmd_append(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  std::string_view suffix = ctx.arg(2);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) {
    entry = ctx.db().add(key, Value(std::string(suffix)));
    ctx.notify(NotifyClass::kNew, "new", key);
  } else {
    if (!ctx.check_type(entry, ValueType::kString)) return;
    std::string& text = entry->value.str();
    if (!check_string_length(ctx, static_cast<int64_t>(text.size()), static_cast<int64_t>(suffix.size()))) return;
    text.append(suffix);
    entry->string_is_raw = true;
  }
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kString, "append", key);
  ctx.reply.integer(static_cast<int64_t>(entry->value.str().size()));
}

void cmd_strlen(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kString)) return;
  ctx.reply.integer(static_cast<int64_t>(entry->value.str().size()));
}

void cmd_getrange(CommandContext& ctx) {
  int64_t start = 0;
  int64_t end = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &start) || !parse_int_arg(ctx, ctx.arg(3), &end)) return;
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.bulk("");
  if (!ctx.check_type(entry, ValueType::kString)) return;
  const std::string& text = entry->value.str();
  const int64_t length = static_cast<int64_t>(text.size());
  if (start < 0 && end < 0 && start > end) return ctx.reply.bulk("");
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length == 0) return ctx.reply.bulk("");
  ctx.reply.bulk(std::string_view(text).substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void cmd_setrange(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  std::string_view patch = ctx.arg(3);
  int64_t offset = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &offset)) return;
  if (offset < 0) return ctx.reply.error("ERR offset is out of range");
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) {
    if (patch.empty()) return ctx.reply.integer(0);
    if (!check_string_length(ctx, offset, static_cast<int64_t>(patch.size()))) return;
    entry = ctx.db().add(key, Value(std::string()));
    ctx.notify(NotifyClass::kNew, "new", key);
  } else {
    if (!ctx.check_type(entry, ValueType::kString)) return;
    if (patch.empty()) return ctx.reply.integer(static_cast<int64_t>(entry->value.str().size()));
    if (!check_string_length(ctx, offset, static_cast<int64_t>(patch.size()))) return;
  }
  std::string& text = entry->value.str();
  size_t needed = static_cast<size_t>(offset) + patch.size();
  if (text.size() < needed) text.resize(needed, '\0');
  text.replace(static_cast<size_t>(offset), patch.size(), patch);
  entry->string_is_raw = true;
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kString, "setrange", key);
  ctx.reply.integer(static_cast<int64_t>(text.size()));
}

void incr_by(CommandContext& ctx, int64_t increment) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  int64_t value = 0;
  if (entry != nullptr) {
    if (!ctx.check_type(entry, ValueType::kString)) return;
    if (!string_to_int64(entry->value.str(), &value)) return ctx.reply.error(kNotIntegerError);
  }
  if ((increment < 0 && value < 0 && increment < INT64_MIN - value) ||
      (increment > 0 && value > 0 && increment > INT64_MAX - value)) {
    return ctx.reply.error("ERR increment or decrement would overflow");
  }
  value += increment;
  char buf[kInt64BufSize];
  std::string_view text(buf, format_int64(value, buf));
  if (entry == nullptr) {
    ctx.db().add(key, Value(std::string(text)));
    ctx.notify(NotifyClass::kNew, "new", key);
  } else {
    entry->value.str().assign(text);
    entry->string_is_raw = false;
  }
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kString, "incrby", key);
  ctx.reply.integer(value);
}

void cmd_incr(CommandContext& ctx) { incr_by(ctx, 1); }
void cmd_decr(CommandContext& ctx) { incr_by(ctx, -1); }

void cmd_incrby(CommandContext& ctx) {
  int64_t increment = 0;
  if (parse_int_arg(ctx, ctx.arg(2), &increment)) incr_by(ctx, increment);
}

void cmd_decrby(CommandContext& ctx) {
  int64_t decrement = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &decrement)) return;
  if (decrement == INT64_MIN) return ctx.reply.error("ERR decrement would overflow");
  incr_by(ctx, -decrement);
}

void cmd_incrbyfloat(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  long double value = 0;
  long double increment = 0;
  if (entry != nullptr) {
    if (!ctx.check_type(entry, ValueType::kString)) return;
    if (!string_to_long_double(entry->value.str(), &value)) return ctx.reply.error(kNotFloatError);
  }
  if (!string_to_long_double(ctx.arg(2), &increment)) return ctx.reply.error(kNotFloatError);
  value += increment;
  if (std::isnan(value) || std::isinf(value)) return ctx.reply.error("ERR increment would produce NaN or Infinity");
  char buf[kLongDoubleBufSize];
  std::string text(buf, format_long_double(value, buf));
  if (entry == nullptr) {
    ctx.db().add(key, Value(text));
    ctx.notify(NotifyClass::kNew, "new", key);
  } else {
    entry->value.str() = text;
    entry->string_is_raw = false;
  }
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kString, "incrbyfloat", key);
  ctx.reply.bulk(text);
  // Replicas get the result, not the increment: float formatting must not make them diverge.
  ctx.propagate_as({"SET", key, text, "KEEPTTL"});
}

}  // namespace

void register_string_commands(CommandTable& table) {
  table.add("set", cmd_set);
  table.add("setnx", cmd_setnx);
  table.add("setex", cmd_setex);
  table.add("psetex", cmd_psetex);
  table.add("get", cmd_get);
  table.add("getdel", cmd_getdel);
  table.add("getex", cmd_getex);
  table.add("getset", cmd_getset);
  table.add("mget", cmd_mget);
  table.add("mset", cmd_mset);
  table.add("msetnx", cmd_msetnx);
  table.add("append", cmd_append);
  table.add("strlen", cmd_strlen);
  table.add("getrange", cmd_getrange);
  table.add("substr", cmd_getrange);
  table.add("setrange", cmd_setrange);
  table.add("incr", cmd_incr);
  table.add("decr", cmd_decr);
  table.add("incrby", cmd_incrby);
  table.add("decrby", cmd_decrby);
  table.add("incrbyfloat", cmd_incrbyfloat);
}

}  // namespace rd
