// Sorted-set commands on single members: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
// ZREVRANK, ZRANDMEMBER, ZSCAN. Ranges live in zset_ranges.cc, ZUNION/ZINTER/ZDIFF in
// zset_setops.cc, pops (blocking too) in zset_pops.cc.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/zset_common.h"
#include "server/server.h"
#include "storage/glob.h"
#include "storage/numbers.h"

namespace rd {

void store_zset_result(CommandContext& ctx, std::string_view dst, std::unique_ptr<ZSetValue> result,
                       std::string_view event) {
  const size_t size = result->size();
  if (size == 0) {
    ctx.reply.integer(0);
    // Like Redis's dbDelete: whatever entry is there goes (even one already expired, which
    // then reads as "del", not "expired"), and only a real deletion counts.
    if (ctx.db().erase(dst)) {
      ctx.key_modified(dst);
      ctx.notify(NotifyClass::kGeneric, "del", dst);
    }
    return;
  }
  // An expired destination is deleted (and DEL propagated) first, so it is then created anew.
  const bool existed = ctx.lookup_write(dst) != nullptr;
  ctx.db().set(dst, Value(std::move(result)));
  ctx.key_modified(dst);
  // Like Redis, only a key that comes into existence wakes blocked clients.
  if (!existed) ctx.signal_ready(dst);
  ctx.reply.integer(static_cast<int64_t>(size));
  if (!existed) ctx.notify(NotifyClass::kNew, "new", dst);
  ctx.notify(NotifyClass::kZset, event, dst);
}

namespace {

// ---- ZADD / ZINCRBY ----

// Reads ZADD's leading options; returns the index of the first score.
size_t parse_zadd_options(CommandContext& ctx, unsigned* flags, bool* ch) {
  size_t i = 2;
  for (; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    if (equals_ignore_case(opt, "nx")) *flags |= kZAddNx;
    else if (equals_ignore_case(opt, "xx")) *flags |= kZAddXx;
    else if (equals_ignore_case(opt, "gt")) *flags |= kZAddGt;
    else if (equals_ignore_case(opt, "lt")) *flags |= kZAddLt;
    else if (equals_ignore_case(opt, "incr")) *flags |= kZAddIncr;
    else if (equals_ignore_case(opt, "ch")) *ch = true;
    else break;
  }
  return i;
}

bool check_zadd_flags(CommandContext& ctx, unsigned flags, size_t pairs) {
  if ((flags & kZAddNx) && (flags & kZAddXx)) {
    ctx.reply.error("ERR XX and NX options at the same time are not compatible");
    return false;
  }
  const bool gt = (flags & kZAddGt) != 0;
  const bool lt = (flags & kZAddLt) != 0;
  if (((flags & kZAddNx) && (gt || lt)) || (gt && lt)) {
    ctx.reply.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    return false;
  }
  if ((flags & kZAddIncr) && pairs > 1) {
    ctx.reply.error("ERR INCR option supports a single increment-element pair");
    return false;
  }
  return true;
}

// ZADD and ZINCRBY (which is ZADD INCR with the same option parsing, as in Redis).
void zadd_generic(CommandContext& ctx, unsigned flags) {
  bool ch = false;
  const size_t first = parse_zadd_options(ctx, &flags, &ch);
  const size_t args = ctx.argc() - first;
  if (args == 0 || args % 2 != 0) return ctx.reply.error(kSyntaxError);
  const size_t pairs = args / 2;
  if (!check_zadd_flags(ctx, flags, pairs)) return;

  // Every score is validated before anything changes.
  double inline_scores[8];
  std::vector<double> heap_scores;
  double* scores = inline_scores;
  if (pairs > 8) {
    heap_scores.resize(pairs);
    scores = heap_scores.data();
  }
  for (size_t i = 0; i < pairs; i++) {
    if (!parse_double_arg(ctx, ctx.arg(first + 2 * i), &scores[i])) return;
  }

  const bool incr = (flags & kZAddIncr) != 0;
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kZSet)) return;
  const bool created = entry == nullptr;
  if (created) {
    if (flags & kZAddXx) return incr ? ctx.reply.null() : ctx.reply.integer(0);
    entry = ctx.db().add(key, Value(std::make_unique<ZSetValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
  }
  ZSetValue& zset = entry->value.zset();
  const EncodingLimits limits = ctx.server.encoding_limits();
  size_t added = 0;
  size_t updated = 0;
  size_t processed = 0;
  double score = 0;
  for (size_t i = 0; i < pairs; i++) {
    double new_score = 0;
    switch (zset.add(ctx.arg(first + 2 * i + 1), scores[i], flags, limits, &new_score)) {
      case ZAddResult::kAdded: added++; break;
      case ZAddResult::kUpdated: updated++; break;
      case ZAddResult::kUnchanged: break;
      case ZAddResult::kSkipped: continue;
      case ZAddResult::kNaN: return ctx.reply.error("ERR resulting score is not a number (NaN)");
    }
    processed++;
    score = new_score;
  }
  if (added + updated > 0) {
    zset_modified(ctx, key, added + updated);
    // ZINCRBY and ZADD INCR are "zincr"; nothing is sent when no score changed.
    ctx.notify(NotifyClass::kZset, incr ? "zincr" : "zadd", key);
  }
  // Only a key that comes into existence can have waiters (BZPOPMIN...): Redis signals them
  // when the key is created.
  if (created) ctx.signal_ready(key);
  if (!incr) return ctx.reply.integer(static_cast<int64_t>(ch ? added + updated : added));
  if (processed == 0) return ctx.reply.null();
  ctx.reply.dbl(score);
}

void cmd_zadd(CommandContext& ctx) { zadd_generic(ctx, 0); }
void cmd_zincrby(CommandContext& ctx) { zadd_generic(ctx, kZAddIncr); }

// ---- removal and lookups ----

void cmd_zrem(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  bool wrong_type = false;
  ZSetValue* zset = zset_for_write(ctx, key, &wrong_type);
  if (zset == nullptr) return wrong_type ? void() : ctx.reply.integer(0);
  size_t deleted = 0;
  bool key_removed = false;
  for (size_t i = 2; i < ctx.argc() && !key_removed; i++) {
    if (zset->remove(ctx.arg(i))) deleted++;
    key_removed = zset->size() == 0;
  }
  if (deleted > 0) {
    zset_modified(ctx, key, deleted);
    ctx.notify(NotifyClass::kZset, "zrem", key);
    if (key_removed) delete_if_empty(ctx, key, *zset);  // "del" after "zrem"
  }
  ctx.reply.integer(static_cast<int64_t>(deleted));
}

void cmd_zcard(CommandContext& ctx) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  ctx.reply.integer(zset == nullptr ? 0 : static_cast<int64_t>(zset->size()));
}

void cmd_zscore(CommandContext& ctx) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  double score = 0;
  if (zset == nullptr || !zset->score(ctx.arg(2), &score)) return ctx.reply.null();
  ctx.reply.dbl(score);
}

void cmd_zmscore(CommandContext& ctx) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    double score = 0;
    if (zset != nullptr && zset->score(ctx.arg(i), &score)) {
      ctx.reply.dbl(score);
    } else {
      ctx.reply.null();
    }
  }
}

void rank_generic(CommandContext& ctx, bool reverse) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  size_t rank = 0;
  if (zset == nullptr || !zset->rank(ctx.arg(2), &rank)) return ctx.reply.null();
  ctx.reply.integer(static_cast<int64_t>(reverse ? zset->size() - 1 - rank : rank));
}

void cmd_zrank(CommandContext& ctx) { rank_generic(ctx, false); }
void cmd_zrevrank(CommandContext& ctx) { rank_generic(ctx, true); }

// ---- ZRANDMEMBER ----

// A small fast generator seeded once per command from the server's random source.
struct ZSetRandom {
  uint64_t state;
  uint64_t operator()() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

// `count` distinct random ranks out of `size` (count < size).
std::vector<size_t> distinct_random_ranks(size_t count, size_t size, ZSetRandom& random) {
  std::vector<size_t> ranks;
  ranks.reserve(count);
  if (count * 3 > size) {
    // Many of them: a partial shuffle of every rank.
    std::vector<size_t> all(size);
    for (size_t i = 0; i < size; i++) all[i] = i;
    for (size_t i = 0; i < count; i++) {
      std::swap(all[i], all[i + random() % (size - i)]);
      ranks.push_back(all[i]);
    }
    return ranks;
  }
  // Few of them: draw until enough distinct ones.
  std::unordered_set<size_t> chosen;
  while (ranks.size() < count) {
    size_t rank = random() % size;
    if (chosen.insert(rank).second) ranks.push_back(rank);
  }
  return ranks;
}

void zrandmember_with_count(CommandContext& ctx, int64_t requested, bool withscores) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr || requested == 0) return ctx.reply.empty_array();
  ZSetRandom random{ctx.server.random64() | 1};
  const bool distinct = requested > 0;
  const size_t count = static_cast<size_t>(distinct ? requested : -requested);
  const size_t size = zset->size();
  if (!distinct || count == 1) {
    reply_pairs_header(ctx, count, withscores);
    for (size_t i = 0; i < count; i++) {
      ZSetCursor element = zset->random_element(random);
      reply_member(ctx, element.member(), element.score(), withscores);
    }
    return;
  }
  if (count >= size) {
    // The whole set, which Redis 7.0 sends from the highest score down.
    reply_pairs_header(ctx, size, withscores);
    for (ZSetCursor c = zset->at(size - 1); c.valid(); c.prev()) reply_member(ctx, c.member(), c.score(), withscores);
    return;
  }
  reply_pairs_header(ctx, count, withscores);
  for (size_t rank : distinct_random_ranks(count, size, random)) {
    ZSetCursor c = zset->at(rank);
    reply_member(ctx, c.member(), c.score(), withscores);
  }
}

void cmd_zrandmember(CommandContext& ctx) {
  if (ctx.argc() >= 3) {
    int64_t count = 0;
    if (!parse_int_arg(ctx, ctx.arg(2), &count)) return;
    if (count == INT64_MIN) {
      return ctx.reply.error(
          "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    }
    const bool withscores = ctx.argc() == 4 && equals_ignore_case(ctx.arg(3), "withscores");
    if (ctx.argc() > 4 || (ctx.argc() == 4 && !withscores)) return ctx.reply.error(kSyntaxError);
    if (withscores && (count < -INT64_MAX / 2 || count > INT64_MAX / 2)) {
      return ctx.reply.error("ERR value is out of range");
    }
    return zrandmember_with_count(ctx, count, withscores);
  }
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr) return ctx.reply.null();
  ZSetRandom random{ctx.server.random64() | 1};
  ctx.reply.bulk(zset->random_element(random).member());
}

// ---- ZSCAN ----

// Redis reads the cursor with strtoul but refuses leading spaces.
bool parse_zscan_cursor(CommandContext& ctx, std::string_view text, uint64_t* cursor) {
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  if (std::isspace(static_cast<unsigned char>(copy.c_str()[0])) || *end != '\0' || errno == ERANGE) {
    ctx.reply.error("ERR invalid cursor");
    return false;
  }
  *cursor = value;
  return true;
}

void cmd_zscan(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!parse_zscan_cursor(ctx, ctx.arg(2), &cursor)) return;
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr) return ctx.reply.raw("*2\r\n$1\r\n0\r\n*0\r\n");
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  for (size_t i = 3; i < ctx.argc(); i += 2) {
    std::string_view opt = ctx.arg(i);
    const bool has_value = i + 1 < ctx.argc();
    if (has_value && equals_ignore_case(opt, "count")) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &count)) return;
      if (count < 1) return ctx.reply.error(kSyntaxError);
    } else if (has_value && equals_ignore_case(opt, "match")) {
      pattern = ctx.arg(i + 1);
      use_pattern = pattern != "*";
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  std::vector<std::pair<std::string_view, double>> found;
  // Redis counts members and scores alike against COUNT, and bounds the empty buckets it
  // walks to ten times COUNT.
  int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
  do {
    cursor = zset->scan(cursor, [&](std::string_view member, double score) { found.emplace_back(member, score); });
  } while (cursor != 0 && budget-- > 0 && static_cast<int64_t>(found.size() * 2) < count);

  if (use_pattern) {
    std::erase_if(found, [&](const auto& element) { return !glob_match(pattern, element.first); });
  }
  ctx.reply.array(2);
  ctx.reply.bulk(std::to_string(cursor));
  char buf[kDoubleBufSize];
  ctx.reply.array(found.size() * 2);
  for (const auto& [member, score] : found) {
    ctx.reply.bulk(member);
    ctx.reply.bulk(std::string_view(buf, format_double(score, buf)));
  }
}

}  // namespace

void register_zset_commands(CommandTable& table) {
  table.add("zadd", cmd_zadd);
  table.add("zincrby", cmd_zincrby);
  table.add("zrem", cmd_zrem);
  table.add("zcard", cmd_zcard);
  table.add("zscore", cmd_zscore);
  table.add("zmscore", cmd_zmscore);
  table.add("zrank", cmd_zrank);
  table.add("zrevrank", cmd_zrevrank);
  table.add("zrandmember", cmd_zrandmember);
  table.add("zscan", cmd_zscan);
  register_zset_range_commands(table);
  register_zset_setop_commands(table);
  register_zset_pop_commands(table);
}

}  // namespace rd
