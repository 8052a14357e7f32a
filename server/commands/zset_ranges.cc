// Sorted-set range commands: ZRANGE (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES) and its older
// spellings, ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK/SCORE/LEX.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include "server/commands/zset_common.h"
#include "server/server.h"

namespace rd {
namespace {

constexpr std::string_view kNotFloatRangeError = "ERR min or max is not a float";
constexpr std::string_view kNotLexRangeError = "ERR min or max not valid string range item";

// A score bound as Redis reads it: strtod on the text (up to a NUL byte, as C sees it), so
// leading spaces, "" (= 0) and overflow to inf are accepted; "(" makes it exclusive.
bool parse_score_bound(std::string_view text, double* value, bool* exclusive) {
  std::string copy(text);
  const char* start = copy.c_str();
  *exclusive = *start == '(';
  if (*exclusive) start++;
  char* end = nullptr;
  *value = std::strtod(start, &end);
  return *end == '\0' && !std::isnan(*value);
}

bool parse_score_range(std::string_view min, std::string_view max, ScoreRange* range) {
  return parse_score_bound(min, &range->min, &range->min_exclusive) &&
         parse_score_bound(max, &range->max, &range->max_exclusive);
}

// "-" / "+" (nothing else after them, C-string wise), "[member" or "(member".
bool parse_lex_bound(std::string_view text, LexBound* bound) {
  if (text.empty()) return false;
  const bool lone = text.size() == 1 || text[1] == '\0';
  switch (text[0]) {
    case '+':
    case '-':
      if (!lone) return false;
      bound->kind = text[0] == '+' ? LexBound::Kind::kPlusInfinity : LexBound::Kind::kMinusInfinity;
      bound->exclusive = true;
      return true;
    case '(':
    case '[':
      bound->kind = LexBound::Kind::kValue;
      bound->exclusive = text[0] == '(';
      bound->value = text.substr(1);
      return true;
    default:
      return false;
  }
}

bool parse_lex_range(std::string_view min, std::string_view max, LexRange* range) {
  return parse_lex_bound(min, &range->min) && parse_lex_bound(max, &range->max);
}

// ---- ZRANGE and friends ----

enum class RangeBy { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

struct RangeRequest {
  RangeBy by = RangeBy::kAuto;
  bool reverse = false;
  bool withscores = false;
  int64_t offset = 0;
  int64_t limit = -1;  // -1: no limit
  int64_t start = 0;   // rank ranges
  int64_t end = 0;
  ScoreRange score;
  LexRange lex;
};

// Parses "<key> <min> <max> [options]" starting at argv[key_index], with Redis's checks in
// Redis's order. `by`/`direction` are fixed by the older commands, kAuto for ZRANGE.
bool parse_range_request(CommandContext& ctx, size_t key_index, bool store, RangeBy by, Direction direction,
                         RangeRequest* req) {
  for (size_t j = key_index + 3; j < ctx.argc(); j++) {
    std::string_view opt = ctx.arg(j);
    const size_t left = ctx.argc() - j - 1;
    if (!store && equals_ignore_case(opt, "withscores")) {
      req->withscores = true;
    } else if (equals_ignore_case(opt, "limit") && left >= 2) {
      if (!parse_int_arg(ctx, ctx.arg(j + 1), &req->offset) || !parse_int_arg(ctx, ctx.arg(j + 2), &req->limit)) {
        return false;
      }
      j += 2;
    } else if (direction == Direction::kAuto && equals_ignore_case(opt, "rev")) {
      direction = Direction::kReverse;
    } else if (by == RangeBy::kAuto && equals_ignore_case(opt, "bylex")) {
      by = RangeBy::kLex;
    } else if (by == RangeBy::kAuto && equals_ignore_case(opt, "byscore")) {
      by = RangeBy::kScore;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  req->by = by == RangeBy::kAuto ? RangeBy::kRank : by;
  req->reverse = direction == Direction::kReverse;
  if (req->limit != -1 && req->by == RangeBy::kRank) {
    ctx.reply.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    return false;
  }
  if (req->withscores && req->by == RangeBy::kLex) {
    ctx.reply.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    return false;
  }
  std::string_view min = ctx.arg(key_index + 1);
  std::string_view max = ctx.arg(key_index + 2);
  // Reversed score and lex ranges are written max first.
  if (req->reverse && req->by != RangeBy::kRank) std::swap(min, max);
  switch (req->by) {
    case RangeBy::kAuto:
    case RangeBy::kRank:
      return parse_int_arg(ctx, min, &req->start) && parse_int_arg(ctx, max, &req->end);
    case RangeBy::kScore:
      if (parse_score_range(min, max, &req->score)) return true;
      ctx.reply.error(kNotFloatRangeError);
      return false;
    case RangeBy::kLex:
      if (parse_lex_range(min, max, &req->lex)) return true;
      ctx.reply.error(kNotLexRangeError);
      return false;
  }
  return false;
}

// What a range selects: up to `count` elements from ascending rank `first`, walking down when
// `backward`. A lex range also stops at the first member past its far end (`lex_guard`): Redis
// walks lex ranges rather than counting them, which differs when scores are unequal.
struct Selection {
  size_t first = 0;
  size_t count = 0;
  bool backward = false;
  const LexRange* lex_guard = nullptr;
};

// Redis's rank clamping: negative ranks count from the end; empty when start > end.
bool clamp_ranks(int64_t start, int64_t end, size_t size, size_t* first, size_t* last) {
  const int64_t length = static_cast<int64_t>(size);
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return false;
  if (end >= length) end = length - 1;
  *first = static_cast<size_t>(start);
  *last = static_cast<size_t>(end);
  return true;
}

// Applies LIMIT to a span: a negative offset skips everything, a negative count means all.
Selection select_in_span(RankSpan span, const RangeRequest& req, size_t size) {
  Selection sel;
  sel.backward = req.reverse;
  if (req.offset < 0 || (req.offset > 0 && static_cast<uint64_t>(req.offset) >= size)) return sel;
  const size_t offset = static_cast<size_t>(req.offset);
  if (offset >= span.size()) return sel;
  sel.count = span.size() - offset;
  if (req.limit >= 0) sel.count = std::min(sel.count, static_cast<size_t>(req.limit));
  sel.first = req.reverse ? span.end - 1 - offset : span.begin + offset;
  return sel;
}

// From the first (or, reversed, the last) member in range, LIMIT's offset is skipped without
// looking at the members, then members are taken while they stay in range.
Selection select_lex(const ZSetValue& zset, const RangeRequest& req) {
  Selection sel;
  sel.backward = req.reverse;
  const size_t start = req.reverse ? zset.lex_last(req.lex) : zset.lex_first(req.lex);
  if (start == ZSetValue::kNoRank || req.offset < 0) return sel;
  const uint64_t offset = static_cast<uint64_t>(req.offset);
  if (req.reverse ? offset > start : offset >= zset.size() - start) return sel;
  sel.first = req.reverse ? start - offset : start + offset;
  sel.count = req.limit < 0 ? zset.size() : static_cast<size_t>(req.limit);
  sel.lex_guard = &req.lex;
  return sel;
}

Selection select_range(const ZSetValue& zset, const RangeRequest& req) {
  switch (req.by) {
    case RangeBy::kAuto:
    case RangeBy::kRank: {
      Selection sel;
      size_t first = 0;
      size_t last = 0;
      if (!clamp_ranks(req.start, req.end, zset.size(), &first, &last)) return sel;
      sel.count = last - first + 1;
      sel.backward = req.reverse;
      sel.first = req.reverse ? zset.size() - 1 - first : first;
      return sel;
    }
    case RangeBy::kScore: return select_in_span(zset.score_span(req.score), req, zset.size());
    case RangeBy::kLex: return select_lex(zset, req);
  }
  return {};
}

template <typename F>
void walk_selection(const ZSetValue& zset, const Selection& sel, F&& visit) {
  ZSetCursor c = zset.at(sel.first);
  for (size_t i = 0; i < sel.count && c.valid(); i++) {
    if (sel.lex_guard != nullptr &&
        !(sel.backward ? lex_gte_min(c.member(), *sel.lex_guard) : lex_lte_max(c.member(), *sel.lex_guard))) {
      break;
    }
    visit(c.member(), c.score());
    if (sel.backward) {
      c.prev();
    } else {
      c.next();
    }
  }
}

void range_to_client(CommandContext& ctx, size_t key_index, RangeBy by, Direction direction) {
  RangeRequest req;
  if (!parse_range_request(ctx, key_index, false, by, direction, &req)) return;
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(key_index), &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr) return ctx.reply.empty_array();
  Selection sel = select_range(*zset, req);
  if (sel.lex_guard == nullptr) {
    reply_pairs_header(ctx, sel.count, req.withscores);
    walk_selection(*zset, sel, [&](std::string_view member, double score) {
      reply_member(ctx, member, score, req.withscores);
    });
    return;
  }
  // A lex walk learns its length at the end (and never carries scores).
  const size_t header = ctx.reply.begin_deferred();
  size_t sent = 0;
  walk_selection(*zset, sel, [&](std::string_view member, double) {
    ctx.reply.bulk(member);
    sent++;
  });
  ctx.reply.end_deferred_array(header, sent);
}

void cmd_zrange(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kAuto, Direction::kAuto); }
void cmd_zrevrange(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kRank, Direction::kReverse); }
void cmd_zrangebyscore(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kScore, Direction::kForward); }
void cmd_zrevrangebyscore(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kScore, Direction::kReverse); }
void cmd_zrangebylex(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kLex, Direction::kForward); }
void cmd_zrevrangebylex(CommandContext& ctx) { range_to_client(ctx, 1, RangeBy::kLex, Direction::kReverse); }

void cmd_zrangestore(CommandContext& ctx) {
  RangeRequest req;
  if (!parse_range_request(ctx, 2, true, RangeBy::kAuto, Direction::kAuto, &req)) return;
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(2), &wrong_type);
  if (wrong_type) return;
  if (zset == nullptr) return store_zset_result(ctx, ctx.arg(1), std::make_unique<ZSetValue>(), "zrangestore");
  const EncodingLimits limits = ctx.server.encoding_limits();
  // Like Redis: a rank range sizes the result up front, score and lex ranges start it as a
  // listpack; members are added in the order the range yields them. The result is complete
  // before the destination (possibly the source itself) is replaced.
  const Selection sel = select_range(*zset, req);
  auto result = ZSetValue::with_size_hint(req.by == RangeBy::kRank ? sel.count : 0, limits);
  walk_selection(*zset, sel, [&](std::string_view member, double score) { result->add(member, score, limits); });
  store_zset_result(ctx, ctx.arg(1), std::move(result), "zrangestore");
}

// ---- counting ----

void cmd_zcount(CommandContext& ctx) {
  ScoreRange range;
  if (!parse_score_range(ctx.arg(2), ctx.arg(3), &range)) return ctx.reply.error(kNotFloatRangeError);
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  ctx.reply.integer(zset == nullptr ? 0 : static_cast<int64_t>(zset->score_span(range).size()));
}

void cmd_zlexcount(CommandContext& ctx) {
  LexRange range;
  if (!parse_lex_range(ctx.arg(2), ctx.arg(3), &range)) return ctx.reply.error(kNotLexRangeError);
  bool wrong_type = false;
  ZSetValue* zset = zset_for_read(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  ctx.reply.integer(zset == nullptr ? 0 : static_cast<int64_t>(zset->lex_count(range)));
}

// ---- ZREMRANGEBY* ----

// Removes `span` and, when something went, notifies `event` ("zremrangebyrank"...) and then
// "del" if the set is now empty.
void remove_span(CommandContext& ctx, ZSetValue& zset, RankSpan span, std::string_view event) {
  std::string_view key = ctx.arg(1);
  const size_t removed = zset.erase_ranks(span.begin, span.end);
  if (removed > 0) {
    zset_modified(ctx, key, removed);
    ctx.notify(NotifyClass::kZset, event, key);
    delete_if_empty(ctx, key, zset);
  }
  ctx.reply.integer(static_cast<int64_t>(removed));
}

// The set to remove from, or nullptr after replying (0 for a missing key, or WRONGTYPE).
ZSetValue* zset_to_trim(CommandContext& ctx) {
  bool wrong_type = false;
  ZSetValue* zset = zset_for_write(ctx, ctx.arg(1), &wrong_type);
  if (zset == nullptr && !wrong_type) ctx.reply.integer(0);
  return zset;
}

void cmd_zremrangebyrank(CommandContext& ctx) {
  int64_t start = 0;
  int64_t end = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &start) || !parse_int_arg(ctx, ctx.arg(3), &end)) return;
  ZSetValue* zset = zset_to_trim(ctx);
  if (zset == nullptr) return;
  size_t first = 0;
  size_t last = 0;
  if (!clamp_ranks(start, end, zset->size(), &first, &last)) return ctx.reply.integer(0);
  remove_span(ctx, *zset, RankSpan{first, last + 1}, "zremrangebyrank");
}

void cmd_zremrangebyscore(CommandContext& ctx) {
  ScoreRange range;
  if (!parse_score_range(ctx.arg(2), ctx.arg(3), &range)) return ctx.reply.error(kNotFloatRangeError);
  ZSetValue* zset = zset_to_trim(ctx);
  if (zset == nullptr) return;
  remove_span(ctx, *zset, zset->score_span(range), "zremrangebyscore");
}

void cmd_zremrangebylex(CommandContext& ctx) {
  LexRange range;
  if (!parse_lex_range(ctx.arg(2), ctx.arg(3), &range)) return ctx.reply.error(kNotLexRangeError);
  ZSetValue* zset = zset_to_trim(ctx);
  if (zset == nullptr) return;
  remove_span(ctx, *zset, zset->lex_run(range), "zremrangebylex");
}

}  // namespace

void register_zset_range_commands(CommandTable& table) {
  table.add("zrange", cmd_zrange);
  table.add("zrevrange", cmd_zrevrange);
  table.add("zrangebyscore", cmd_zrangebyscore);
  table.add("zrevrangebyscore", cmd_zrevrangebyscore);
  table.add("zrangebylex", cmd_zrangebylex);
  table.add("zrevrangebylex", cmd_zrevrangebylex);
  table.add("zrangestore", cmd_zrangestore);
  table.add("zcount", cmd_zcount);
  table.add("zlexcount", cmd_zlexcount);
  table.add("zremrangebyrank", cmd_zremrangebyrank);
  table.add("zremrangebyscore", cmd_zremrangebyscore);
  table.add("zremrangebylex", cmd_zremrangebylex);
}

}  // namespace rd
