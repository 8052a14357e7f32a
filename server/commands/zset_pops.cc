// Popping the lowest or highest members: ZPOPMIN, ZPOPMAX, ZMPOP, and the blocking BZPOPMIN,
// BZPOPMAX, BZMPOP.
//
// Reply shapes are Redis 7.0's: ZPOPMIN gives flat member/score pairs (nested in RESP3 when a
// count is given), BZPOPMIN [key, member, score], ZMPOP/BZMPOP [key, [[member, score]...]].
// Replicas and the AOF see what was done: BZPOPMIN as "ZPOPMIN key", ZMPOP/BZMPOP as
// "ZPOPMIN key n" with n the number actually popped.
//
// Blocking follows the dispatcher's protocol (see dispatch.cc): without data the command parks
// the client; a later ZADD re-runs it with ctx.retrying_blocked() set, and then, like Redis
// 7.0, it is served only from the key that woke it, and keeps waiting if that key holds
// something else. Inside MULTI it answers at once with a null array.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "server/commands/zset_common.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

enum class End { kMin, kMax };

std::string_view pop_command_name(End end) { return end == End::kMin ? "ZPOPMIN" : "ZPOPMAX"; }

// How the popped elements are framed in the reply.
enum class Shape {
  kFlat,        // ZPOPMIN: member, score, member, score...
  kNested,      // ZPOPMIN with a count in RESP3: [member, score]...
  kKeyFlat,     // BZPOPMIN: key, member, score
  kKeyNested,   // ZMPOP/BZMPOP: key, [[member, score]...]
};

// Pops min(count, size) elements from the non-empty set at `key`, replying them in `shape`;
// deletes the key when it empties. Notifies "zpopmin"/"zpopmax" once, then "del" if the key
// went, for every pop command (ZMPOP and the blocking ones too, even when serving a waiter).
// Returns how many were popped.
size_t pop_and_reply(CommandContext& ctx, std::string_view key, ZSetValue& zset, End end, size_t count,
                     Shape shape) {
  const size_t popped = std::min(count, zset.size());
  switch (shape) {
    case Shape::kFlat: ctx.reply.array(popped * 2); break;
    case Shape::kNested: ctx.reply.array(popped); break;
    case Shape::kKeyFlat:
      ctx.reply.array(popped * 2 + 1);
      ctx.reply.bulk(key);
      break;
    case Shape::kKeyNested:
      ctx.reply.array(2);
      ctx.reply.bulk(key);
      ctx.reply.array(popped);
      break;
  }
  const bool nested = shape == Shape::kNested || shape == Shape::kKeyNested;
  for (size_t i = 0; i < popped; i++) {
    const size_t rank = end == End::kMin ? 0 : zset.size() - 1;
    ZSetCursor c = zset.at(rank);
    if (nested) ctx.reply.array(2);
    ctx.reply.bulk(c.member());
    ctx.reply.dbl(c.score());
    zset.erase_ranks(rank, rank + 1);
  }
  zset_modified(ctx, key, popped);
  ctx.notify(NotifyClass::kZset, end == End::kMin ? "zpopmin" : "zpopmax", key);
  delete_if_empty(ctx, key, zset);
  return popped;
}

// ---- ZPOPMIN / ZPOPMAX ----

void zpop_generic(CommandContext& ctx, End end) {
  if (ctx.argc() > 3) return ctx.reply.error(kSyntaxError);
  int64_t count = -1;  // no count given
  if (ctx.argc() == 3) {
    constexpr std::string_view kError = "ERR value is out of range, must be positive";
    if (!parse_int_arg(ctx, ctx.arg(2), &count, kError)) return;
    if (count < 0) return ctx.reply.error(kError);
  }
  std::string_view key = ctx.arg(1);
  bool wrong_type = false;
  ZSetValue* zset = zset_for_write(ctx, key, &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr || count == 0) return ctx.reply.empty_array();
  const Shape shape = count != -1 && ctx.reply.protocol() >= 3 ? Shape::kNested : Shape::kFlat;
  pop_and_reply(ctx, key, *zset, end, count == -1 ? 1 : static_cast<size_t>(count), shape);
}

void cmd_zpopmin(CommandContext& ctx) { zpop_generic(ctx, End::kMin); }
void cmd_zpopmax(CommandContext& ctx) { zpop_generic(ctx, End::kMax); }

// ---- ZMPOP and its arguments ----

// "numkeys key... MIN|MAX [COUNT n]" from argv[numkeys_index].
struct MultiPop {
  size_t first_key = 0;
  size_t key_count = 0;
  End end = End::kMin;
  int64_t count = 1;
};

bool parse_multi_pop(CommandContext& ctx, size_t numkeys_index, MultiPop* out) {
  constexpr std::string_view kNumkeysError = "ERR numkeys should be greater than 0";
  constexpr std::string_view kCountError = "ERR count should be greater than 0";
  int64_t numkeys = 0;
  if (!parse_int_arg(ctx, ctx.arg(numkeys_index), &numkeys, kNumkeysError)) return false;
  if (numkeys < 1) return ctx.reply.error(kNumkeysError), false;
  // The MIN|MAX word must follow the keys.
  if (static_cast<uint64_t>(numkeys) >= ctx.argc() - numkeys_index - 1) return ctx.reply.error(kSyntaxError), false;
  out->first_key = numkeys_index + 1;
  out->key_count = static_cast<size_t>(numkeys);
  const size_t where = out->first_key + out->key_count;
  if (equals_ignore_case(ctx.arg(where), "min")) {
    out->end = End::kMin;
  } else if (equals_ignore_case(ctx.arg(where), "max")) {
    out->end = End::kMax;
  } else {
    return ctx.reply.error(kSyntaxError), false;
  }
  bool have_count = false;
  for (size_t j = where + 1; j < ctx.argc(); j++) {
    if (!have_count && equals_ignore_case(ctx.arg(j), "count") && j + 1 < ctx.argc()) {
      if (!parse_int_arg(ctx, ctx.arg(++j), &out->count, kCountError)) return false;
      if (out->count < 1) return ctx.reply.error(kCountError), false;
      have_count = true;
    } else {
      return ctx.reply.error(kSyntaxError), false;
    }
  }
  return true;
}

// Pops from the set at `key` for ZMPOP/BZMPOP and propagates "ZPOPMIN key n".
void multi_pop_from(CommandContext& ctx, std::string_view key, ZSetValue& zset, End end, int64_t count) {
  const size_t popped = pop_and_reply(ctx, key, zset, end, static_cast<size_t>(count), Shape::kKeyNested);
  ctx.propagate_as({pop_command_name(end), key, std::to_string(popped)});
}

void cmd_zmpop(CommandContext& ctx) {
  MultiPop args;
  if (!parse_multi_pop(ctx, 1, &args)) return;
  for (size_t i = args.first_key; i < args.first_key + args.key_count; i++) {
    bool wrong_type = false;
    ZSetValue* zset = zset_for_write(ctx, ctx.arg(i), &wrong_type);
    if (wrong_type) return;
    if (zset != nullptr) return multi_pop_from(ctx, ctx.arg(i), *zset, args.end, args.count);
  }
  ctx.reply.null_array();
}

// ---- blocking ----

// A timeout in seconds (float) as an absolute deadline in unix ms, 0 meaning forever. Like
// Redis 7.0: seconds*1000 is rounded up to whole ms, so anything in (-1ms, 0] waits forever and
// 0.0001 waits 1 ms; a value too big for int64 casts to a negative one; a deadline past the
// int64 range never fires.
bool parse_timeout(CommandContext& ctx, std::string_view text, int64_t* deadline_ms) {
  long double seconds = 0;
  if (!string_to_long_double(text, &seconds)) {
    ctx.reply.error("ERR timeout is not a float or out of range");
    return false;
  }
  const long double ms = std::ceil(seconds * 1000.0L);
  const bool fits = ms > -9223372036854775808.0L && ms < 9223372036854775808.0L;
  const int64_t timeout = fits ? static_cast<int64_t>(ms) : INT64_MIN;
  if (timeout < 0) {
    ctx.reply.error("ERR timeout is negative");
    return false;
  }
  *deadline_ms = timeout == 0 || timeout > INT64_MAX - ctx.now_ms ? 0 : ctx.now_ms + timeout;
  return true;
}

// The first key (of argv[first, first+count)) holding a non-empty sorted set, for a command
// that may block. A waiter being served looks only at the key that woke it and skips it
// silently when it holds another type. Returns false after replying WRONGTYPE.
bool find_blocking_source(CommandContext& ctx, size_t first, size_t count, size_t* found) {
  *found = 0;
  for (size_t i = first; i < first + count; i++) {
    if (ctx.retrying_blocked() && ctx.arg(i) != ctx.ready_key()) continue;
    KeyEntry* entry = ctx.lookup_write(ctx.arg(i));
    if (entry == nullptr) continue;
    if (!entry->value.is(ValueType::kZSet)) {
      if (ctx.retrying_blocked()) return true;
      ctx.reply.error(kWrongTypeError);
      return false;
    }
    if (entry->value.zset().size() == 0) continue;
    *found = i;
    return true;
  }
  return true;
}

// Nothing to pop: a null array inside MULTI, otherwise wait on every key.
void block_on_keys(CommandContext& ctx, size_t first, size_t count, int64_t deadline_ms) {
  if (!ctx.may_block()) return ctx.reply.null_array();
  std::vector<std::string> keys;
  keys.reserve(count);
  for (size_t i = first; i < first + count; i++) keys.emplace_back(ctx.arg(i));
  ctx.block(std::move(keys), deadline_ms, TimeoutReply::kNullArray);
}

void bzpop_generic(CommandContext& ctx, End end) {
  int64_t deadline = 0;
  if (!ctx.retrying_blocked() && !parse_timeout(ctx, ctx.arg(ctx.argc() - 1), &deadline)) return;
  const size_t key_count = ctx.argc() - 2;
  size_t found = 0;
  if (!find_blocking_source(ctx, 1, key_count, &found)) return;
  if (found == 0) return block_on_keys(ctx, 1, key_count, deadline);
  std::string_view key = ctx.arg(found);
  pop_and_reply(ctx, key, ctx.db().find(key)->value.zset(), end, 1, Shape::kKeyFlat);
  ctx.propagate_as({pop_command_name(end), key});
}

void cmd_bzpopmin(CommandContext& ctx) { bzpop_generic(ctx, End::kMin); }
void cmd_bzpopmax(CommandContext& ctx) { bzpop_generic(ctx, End::kMax); }

void cmd_bzmpop(CommandContext& ctx) {
  MultiPop args;
  if (!parse_multi_pop(ctx, 2, &args)) return;
  int64_t deadline = 0;
  if (!ctx.retrying_blocked() && !parse_timeout(ctx, ctx.arg(1), &deadline)) return;
  size_t found = 0;
  if (!find_blocking_source(ctx, args.first_key, args.key_count, &found)) return;
  if (found == 0) return block_on_keys(ctx, args.first_key, args.key_count, deadline);
  std::string_view key = ctx.arg(found);
  multi_pop_from(ctx, key, ctx.db().find(key)->value.zset(), args.end, args.count);
}

}  // namespace

void register_zset_pop_commands(CommandTable& table) {
  table.add("zpopmin", cmd_zpopmin);
  table.add("zpopmax", cmd_zpopmax);
  table.add("zmpop", cmd_zmpop);
  table.add("bzpopmin", cmd_bzpopmin);
  table.add("bzpopmax", cmd_bzpopmax);
  table.add("bzmpop", cmd_bzmpop);
}

}  // namespace rd
