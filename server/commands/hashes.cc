// Hash commands: HSET and friends, reads, counters, HRANDFIELD, HSCAN.
// Encodings and their conversions live in storage/hash.h; this file has Redis 7.0's argument
// checks, reply shapes and propagation.
#include <cmath>
#include <memory>

#include "server/command_context.h"
#include "server/commands/collections.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/hash.h"
#include "storage/numbers.h"

namespace rd {
namespace {

constexpr std::string_view kHashNotInteger = "ERR hash value is not an integer";
constexpr std::string_view kHashNotFloat = "ERR hash value is not a float";

// The hash at `key` for reading: nullptr when absent, or when the key holds another type
// (then WRONGTYPE was replied and *failed is set).
const HashValue* hash_for_read(CommandContext& ctx, std::string_view key, bool* failed) {
  KeyEntry* entry = ctx.lookup_read(key);
  *failed = false;
  if (entry == nullptr) return nullptr;
  if (!ctx.check_type(entry, ValueType::kHash)) {
    *failed = true;
    return nullptr;
  }
  return &entry->value.hash();
}

// The hash at `key` for writing, created empty when absent; nullptr (WRONGTYPE replied) when
// the key holds another type. Only call it once the command cannot fail any more, so that no
// empty hash is left behind. Creating the key publishes "new".
HashValue* hash_for_write(CommandContext& ctx, std::string_view key) {
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) {
    HashValue* hash = &ctx.db().add(key, Value(std::make_unique<HashValue>()))->value.hash();
    ctx.notify(NotifyClass::kNew, "new", key);
    return hash;
  }
  if (!ctx.check_type(entry, ValueType::kHash)) return nullptr;
  return &entry->value.hash();
}

// HSET and HMSET: same work, different replies.
void hset_generic(CommandContext& ctx, bool reply_added_count) {
  if (ctx.argc() % 2 != 0) {
    return ctx.reply.error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
  }
  std::string_view key = ctx.arg(1);
  HashValue* hash = hash_for_write(ctx, key);
  if (hash == nullptr) return;
  const EncodingLimits limits = ctx.server.encoding_limits();
  size_t longest = 0;
  for (size_t i = 2; i < ctx.argc(); i++) longest = std::max(longest, ctx.arg(i).size());
  hash->convert_if_longer_than_limit(longest, limits);
  int64_t added = 0;
  for (size_t i = 2; i < ctx.argc(); i += 2) added += hash->set(ctx.arg(i), ctx.arg(i + 1), limits) ? 1 : 0;
  // Redis counts every pair as a change, even one that rewrote the same value.
  ctx.key_modified(key);
  ctx.add_dirty(static_cast<int64_t>((ctx.argc() - 2) / 2) - 1);
  ctx.notify(NotifyClass::kHash, "hset", key);
  if (reply_added_count) {
    ctx.reply.integer(added);
  } else {
    ctx.reply.ok();
  }
}

void cmd_hset(CommandContext& ctx) { hset_generic(ctx, true); }
void cmd_hmset(CommandContext& ctx) { hset_generic(ctx, false); }

void cmd_hsetnx(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  std::string_view field = ctx.arg(2);
  std::string_view value = ctx.arg(3);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr) {
    if (!ctx.check_type(entry, ValueType::kHash)) return;
    // An existing field leaves even the encoding alone (no length-based conversion).
    if (entry->value.hash().contains(field)) return ctx.reply.integer(0);
  }
  HashValue* hash = hash_for_write(ctx, key);
  const EncodingLimits limits = ctx.server.encoding_limits();
  hash->convert_if_longer_than_limit(std::max(field.size(), value.size()), limits);
  hash->set(field, value, limits);
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kHash, "hset", key);
  ctx.reply.integer(1);
}

void cmd_hget(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  std::string_view value;
  if (hash == nullptr || !hash->get(ctx.arg(2), &value)) return ctx.reply.null();
  ctx.reply.bulk(value);
}

void cmd_hmget(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    std::string_view value;
    if (hash != nullptr && hash->get(ctx.arg(i), &value)) {
      ctx.reply.bulk(value);
    } else {
      ctx.reply.null();
    }
  }
}

void cmd_hdel(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kHash)) return;
  HashValue& hash = entry->value.hash();
  int64_t deleted = 0;
  for (size_t i = 2; i < ctx.argc() && !hash.empty(); i++) {
    if (hash.erase(ctx.arg(i))) deleted++;
  }
  if (deleted > 0) {
    ctx.notify(NotifyClass::kHash, "hdel", key);
    if (hash.empty()) {
      ctx.db().erase(key);
      ctx.notify(NotifyClass::kGeneric, "del", key);
    }
    ctx.key_modified(key);
    ctx.add_dirty(deleted - 1);
  }
  ctx.reply.integer(deleted);
}

void cmd_hlen(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.integer(hash == nullptr ? 0 : static_cast<int64_t>(hash->size()));
}

void cmd_hstrlen(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  std::string_view value;
  if (hash == nullptr || !hash->get(ctx.arg(2), &value)) return ctx.reply.integer(0);
  ctx.reply.integer(static_cast<int64_t>(value.size()));
}

void cmd_hexists(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.integer(hash != nullptr && hash->contains(ctx.arg(2)) ? 1 : 0);
}

// HGETALL is a map (RESP3); HKEYS and HVALS are plain arrays, as in Redis.
void cmd_hgetall(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr) return ctx.reply.map(0);
  ctx.reply.map(hash->size());
  hash->visit([&](std::string_view field, std::string_view value) {
    ctx.reply.bulk(field);
    ctx.reply.bulk(value);
  });
}

void cmd_hkeys(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr) return ctx.reply.array(0);
  ctx.reply.array(hash->size());
  hash->visit([&](std::string_view field, std::string_view) { ctx.reply.bulk(field); });
}

void cmd_hvals(CommandContext& ctx) {
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr) return ctx.reply.array(0);
  ctx.reply.array(hash->size());
  hash->visit([&](std::string_view, std::string_view value) { ctx.reply.bulk(value); });
}

void cmd_hincrby(CommandContext& ctx) {
  int64_t increment = 0;
  if (!parse_int_arg(ctx, ctx.arg(3), &increment)) return;
  std::string_view key = ctx.arg(1);
  std::string_view field = ctx.arg(2);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kHash)) return;
  int64_t value = 0;
  std::string_view current;
  if (entry != nullptr && entry->value.hash().get(field, &current) && !string_to_int64(current, &value)) {
    return ctx.reply.error(kHashNotInteger);
  }
  if ((increment < 0 && value < 0 && increment < INT64_MIN - value) ||
      (increment > 0 && value > 0 && increment > INT64_MAX - value)) {
    return ctx.reply.error("ERR increment or decrement would overflow");
  }
  value += increment;
  char buf[kInt64BufSize];
  std::string_view text(buf, format_int64(value, buf));
  hash_for_write(ctx, key)->set(field, text, ctx.server.encoding_limits());
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kHash, "hincrby", key);
  ctx.reply.integer(value);
}

void cmd_hincrbyfloat(CommandContext& ctx) {
  long double increment = 0;
  if (!string_to_long_double(ctx.arg(3), &increment)) return ctx.reply.error(kNotFloatError);
  if (std::isnan(increment) || std::isinf(increment)) return ctx.reply.error("ERR value is NaN or Infinity");
  std::string_view key = ctx.arg(1);
  std::string_view field = ctx.arg(2);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kHash)) return;
  long double value = 0;
  std::string_view current;
  if (entry != nullptr && entry->value.hash().get(field, &current) && !string_to_long_double(current, &value)) {
    return ctx.reply.error(kHashNotFloat);
  }
  value += increment;
  if (std::isnan(value) || std::isinf(value)) return ctx.reply.error("ERR increment would produce NaN or Infinity");
  char buf[kLongDoubleBufSize];
  std::string_view text(buf, format_long_double(value, buf));
  hash_for_write(ctx, key)->set(field, text, ctx.server.encoding_limits());
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kHash, "hincrbyfloat", key);
  ctx.reply.bulk(text);
  // Replicas get the result, not the increment: float formatting must not make them diverge.
  ctx.propagate_as({"HSET", key, field, text});
}

// HRANDFIELD key count [WITHVALUES]: a positive count asks for distinct fields, a negative
// one for |count| picks that may repeat. RESP2 flattens field/value pairs; RESP3 nests them.
void hrandfield_with_count(CommandContext& ctx) {
  int64_t requested = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &requested)) return;
  if (requested < -INT64_MAX) {
    return ctx.reply.error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  if (ctx.argc() > 4 || (ctx.argc() == 4 && !equals_ignore_case(ctx.arg(3), "withvalues"))) {
    return ctx.reply.error(kSyntaxError);
  }
  const bool with_values = ctx.argc() == 4;
  // Redis refuses counts whose flattened reply length would overflow.
  if (with_values && (requested < -INT64_MAX / 2 || requested > INT64_MAX / 2)) {
    return ctx.reply.error("ERR value is out of range");
  }
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr || requested == 0) return ctx.reply.array(0);

  const bool distinct = requested > 0;
  const size_t count = static_cast<size_t>(distinct ? requested : -requested);
  const bool nested = with_values && ctx.reply.protocol() >= 3;
  auto reply_length = [&](size_t pairs) { ctx.reply.array(with_values && !nested ? pairs * 2 : pairs); };
  auto emit = [&](std::string_view field, std::string_view value) {
    if (nested) ctx.reply.array(2);
    ctx.reply.bulk(field);
    if (with_values) ctx.reply.bulk(value);
  };
  CommandRandom random = command_random(ctx);
  if (!distinct || count == 1) {
    reply_length(count);
    hash->sample_with_repetition(count, random, emit);
  } else if (count >= hash->size()) {
    reply_length(hash->size());
    hash->visit(emit);
  } else {
    reply_length(count);
    hash->sample_distinct(count, random, emit);
  }
}

void cmd_hrandfield(CommandContext& ctx) {
  if (ctx.argc() >= 3) return hrandfield_with_count(ctx);
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr) return ctx.reply.null();
  CommandRandom random = command_random(ctx);
  ctx.reply.bulk(hash->random_pair(random).first);
}

void cmd_hscan(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!parse_collection_cursor(ctx, ctx.arg(2), &cursor)) return;
  bool failed = false;
  const HashValue* hash = hash_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (hash == nullptr) return reply_empty_scan(ctx.reply);
  ScanOptions options;
  if (!parse_collection_scan_options(ctx, 3, &options)) return;

  std::vector<HashValue::FieldValue> found;
  size_t visited = 0;
  auto collect = [&](std::string_view field, std::string_view value) {
    visited++;
    if (options.matches(field)) found.emplace_back(field, value);
  };
  cursor = scan_until_count(
      cursor, options.count, [&](uint64_t at) { return hash->scan(at, collect); }, [&] { return visited; });
  ctx.reply.array(2);
  ctx.reply.bulk_int(static_cast<int64_t>(cursor));
  ctx.reply.array(found.size() * 2);
  for (const auto& [field, value] : found) {
    ctx.reply.bulk(field);
    ctx.reply.bulk(value);
  }
}

}  // namespace

void register_hash_commands(CommandTable& table) {
  table.add("hset", cmd_hset);
  table.add("hmset", cmd_hmset);
  table.add("hsetnx", cmd_hsetnx);
  table.add("hget", cmd_hget);
  table.add("hmget", cmd_hmget);
  table.add("hdel", cmd_hdel);
  table.add("hlen", cmd_hlen);
  table.add("hstrlen", cmd_hstrlen);
  table.add("hexists", cmd_hexists);
  table.add("hgetall", cmd_hgetall);
  table.add("hkeys", cmd_hkeys);
  table.add("hvals", cmd_hvals);
  table.add("hincrby", cmd_hincrby);
  table.add("hincrbyfloat", cmd_hincrbyfloat);
  table.add("hrandfield", cmd_hrandfield);
  table.add("hscan", cmd_hscan);
}

}  // namespace rd
