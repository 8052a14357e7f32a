// ZUNION, ZINTER, ZDIFF (and their STORE forms) and ZINTERCARD. Plain sets are accepted as
// inputs, every member scoring 1, as in Redis.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/commands/zset_common.h"
#include "server/server.h"
#include "storage/set.h"

namespace rd {
namespace {

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// One input key: a sorted set, a plain set (members copied out, each scoring 1), or nothing.
class OpSource {
 public:
  OpSource() = default;
  explicit OpSource(const ZSetValue* zset) : zset_(zset) {}
  explicit OpSource(const SetValue& set) : members_(std::make_unique<std::vector<std::string>>()) {
    members_->reserve(set.size());
    set.for_each([&](std::string_view member) { members_->emplace_back(member); });
  }

  double weight = 1;

  size_t size() const { return zset_ != nullptr ? zset_->size() : (members_ ? members_->size() : 0); }

  template <typename F>
  void for_each(F&& visit) const {
    if (zset_ != nullptr) {
      for (ZSetCursor c = zset_->at(0); c.valid(); c.next()) visit(c.member(), c.score());
    } else if (members_) {
      for (const std::string& member : *members_) visit(std::string_view(member), 1.0);
    }
  }

  bool find(std::string_view member, double* score) {
    if (zset_ != nullptr) return zset_->score(member, score);
    if (!members_) return false;
    if (index_.empty() && !members_->empty()) index_.insert(members_->begin(), members_->end());
    *score = 1.0;
    return index_.count(member) > 0;
  }

 private:
  const ZSetValue* zset_ = nullptr;
  // A plain set's members, on the heap so that views into them survive moving the source.
  std::unique_ptr<std::vector<std::string>> members_;
  std::unordered_set<std::string_view> index_;
};

struct SetOpRequest {
  SetOp op = SetOp::kUnion;
  bool store = false;
  bool cardinality_only = false;
  Aggregate aggregate = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;  // ZINTERCARD: stop counting there (0 = no limit)
};

// Redis's aggregation; a sum of +inf and -inf counts as 0.
void aggregate_into(double* target, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0;
      break;
    case Aggregate::kMin: *target = value < *target ? value : *target; break;
    case Aggregate::kMax: *target = value > *target ? value : *target; break;
  }
}

// Reads the input keys; false after replying WRONGTYPE.
bool open_sources(CommandContext& ctx, size_t first, size_t count, std::vector<OpSource>* sources) {
  sources->reserve(count);
  for (size_t i = 0; i < count; i++) {
    KeyEntry* entry = lookup_source(ctx, ctx.arg(first + i));
    if (entry == nullptr) {
      sources->emplace_back();
    } else if (entry->value.is(ValueType::kZSet)) {
      sources->emplace_back(&entry->value.zset());
    } else if (entry->value.is(ValueType::kSet)) {
      sources->emplace_back(entry->value.set());
    } else {
      ctx.reply.error(kWrongTypeError);
      return false;
    }
  }
  return true;
}

// WEIGHTS, AGGREGATE, WITHSCORES, LIMIT, each where Redis accepts it.
bool parse_setop_options(CommandContext& ctx, size_t j, std::vector<OpSource>& sources, SetOpRequest* req) {
  const bool weighted = req->op != SetOp::kDiff && !req->cardinality_only;
  while (j < ctx.argc()) {
    const size_t remaining = ctx.argc() - j;
    std::string_view opt = ctx.arg(j);
    if (weighted && remaining >= sources.size() + 1 && equals_ignore_case(opt, "weights")) {
      j++;
      for (OpSource& source : sources) {
        if (!parse_double_arg(ctx, ctx.arg(j++), &source.weight, "ERR weight value is not a float")) return false;
      }
    } else if (weighted && remaining >= 2 && equals_ignore_case(opt, "aggregate")) {
      std::string_view how = ctx.arg(j + 1);
      if (equals_ignore_case(how, "sum")) req->aggregate = Aggregate::kSum;
      else if (equals_ignore_case(how, "min")) req->aggregate = Aggregate::kMin;
      else if (equals_ignore_case(how, "max")) req->aggregate = Aggregate::kMax;
      else return ctx.reply.error(kSyntaxError), false;
      j += 2;
    } else if (!req->store && !req->cardinality_only && equals_ignore_case(opt, "withscores")) {
      req->withscores = true;
      j++;
    } else if (req->cardinality_only && remaining >= 2 && equals_ignore_case(opt, "limit")) {
      constexpr std::string_view kLimitError = "ERR LIMIT can't be negative";
      if (!parse_int_arg(ctx, ctx.arg(j + 1), &req->limit, kLimitError)) return false;
      if (req->limit < 0) return ctx.reply.error(kLimitError), false;
      j += 2;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

using Scored = std::vector<std::pair<std::string_view, double>>;

// Members of every input; sources are sorted smallest first, so the walk is over the smallest.
// With cardinality_only, only counts (up to the limit).
size_t intersect(std::vector<OpSource>& sources, const SetOpRequest& req, Scored* out) {
  size_t cardinality = 0;
  if (sources[0].size() == 0) return 0;
  bool done = false;
  sources[0].for_each([&](std::string_view member, double score) {
    if (done) return;
    double total = sources[0].weight * score;
    if (std::isnan(total)) total = 0;
    for (size_t j = 1; j < sources.size(); j++) {
      double value = 0;
      if (!sources[j].find(member, &value)) return;
      aggregate_into(&total, value * sources[j].weight, req.aggregate);
    }
    cardinality++;
    if (req.cardinality_only) {
      done = req.limit > 0 && cardinality >= static_cast<size_t>(req.limit);
    } else {
      out->emplace_back(member, total);
    }
  });
  return cardinality;
}

void unite(std::vector<OpSource>& sources, const SetOpRequest& req, Scored* out) {
  std::unordered_map<std::string_view, double> totals;
  totals.reserve(sources.back().size());
  for (OpSource& source : sources) {
    source.for_each([&](std::string_view member, double score) {
      double value = source.weight * score;
      if (std::isnan(value)) value = 0;
      auto [it, inserted] = totals.try_emplace(member, value);
      if (!inserted) aggregate_into(&it->second, value, req.aggregate);
    });
  }
  out->assign(totals.begin(), totals.end());
}

// Members of the first input found in no other, with their first-input scores.
void subtract(std::vector<OpSource>& sources, Scored* out) {
  sources[0].for_each([&](std::string_view member, double score) {
    for (size_t j = 1; j < sources.size(); j++) {
      double ignored = 0;
      if (sources[j].find(member, &ignored)) return;
    }
    out->emplace_back(member, score);
  });
}

void reply_result(CommandContext& ctx, const SetOpRequest& req, const Scored& result) {
  reply_pairs_header(ctx, result.size(), req.withscores);
  for (const auto& [member, score] : result) reply_member(ctx, member, score, req.withscores);
}

// The shared body: [dst] numkeys key... [options], with numkeys at argv[numkeys_index].
void setop_generic(CommandContext& ctx, size_t numkeys_index, SetOp op, bool store, bool cardinality_only) {
  SetOpRequest req;
  req.op = op;
  req.store = store;
  req.cardinality_only = cardinality_only;
  int64_t numkeys = 0;
  if (!parse_int_arg(ctx, ctx.arg(numkeys_index), &numkeys)) return;
  if (numkeys < 1) {
    return ctx.reply.error("ERR at least 1 input key is needed for '" + ctx.spec.name + "' command");
  }
  if (static_cast<uint64_t>(numkeys) > ctx.argc() - (numkeys_index + 1)) return ctx.reply.error(kSyntaxError);
  const size_t count = static_cast<size_t>(numkeys);
  std::vector<OpSource> sources;
  if (!open_sources(ctx, numkeys_index + 1, count, &sources)) return;
  if (!parse_setop_options(ctx, numkeys_index + 1 + count, sources, &req)) return;
  if (op != SetOp::kDiff) {
    std::stable_sort(sources.begin(), sources.end(),
                     [](const OpSource& a, const OpSource& b) { return a.size() < b.size(); });
  }
  Scored result;
  size_t cardinality = 0;
  switch (op) {
    case SetOp::kInter: cardinality = intersect(sources, req, &result); break;
    case SetOp::kUnion: unite(sources, req, &result); break;
    case SetOp::kDiff: subtract(sources, &result); break;
  }
  if (cardinality_only) return ctx.reply.integer(static_cast<int64_t>(cardinality));
  std::sort(result.begin(), result.end(),
            [](const auto& a, const auto& b) { return precedes(a.second, a.first, b.second, b.first); });
  if (!store) return reply_result(ctx, req, result);
  // Built before the destination is replaced: it may be one of the inputs.
  const std::string_view event = op == SetOp::kUnion   ? "zunionstore"
                                 : op == SetOp::kInter ? "zinterstore"
                                                       : "zdiffstore";
  store_zset_result(ctx, ctx.arg(1), ZSetValue::from_sorted(result, ctx.server.encoding_limits()), event);
}

void cmd_zunionstore(CommandContext& ctx) { setop_generic(ctx, 2, SetOp::kUnion, true, false); }
void cmd_zinterstore(CommandContext& ctx) { setop_generic(ctx, 2, SetOp::kInter, true, false); }
void cmd_zdiffstore(CommandContext& ctx) { setop_generic(ctx, 2, SetOp::kDiff, true, false); }
void cmd_zunion(CommandContext& ctx) { setop_generic(ctx, 1, SetOp::kUnion, false, false); }
void cmd_zinter(CommandContext& ctx) { setop_generic(ctx, 1, SetOp::kInter, false, false); }
void cmd_zdiff(CommandContext& ctx) { setop_generic(ctx, 1, SetOp::kDiff, false, false); }
void cmd_zintercard(CommandContext& ctx) { setop_generic(ctx, 1, SetOp::kInter, false, true); }

}  // namespace

void register_zset_setop_commands(CommandTable& table) {
  table.add("zunionstore", cmd_zunionstore);
  table.add("zinterstore", cmd_zinterstore);
  table.add("zdiffstore", cmd_zdiffstore);
  table.add("zunion", cmd_zunion);
  table.add("zinter", cmd_zinter);
  table.add("zdiff", cmd_zdiff);
  table.add("zintercard", cmd_zintercard);
}

}  // namespace rd
