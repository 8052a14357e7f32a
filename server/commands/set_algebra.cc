// Multi-key set commands: SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF,
// SDIFFSTORE, and SMEMBERS (which Redis 7.0 runs as SINTER of one key).
//
// Results that Redis builds as a temporary set (SUNION, SDIFF, every STORE) are built here as a
// SetValue the same way, so they get the same encoding (OBJECT ENCODING of the destination) and
// the same reply order (sorted when the result is an intset).
#include "server/commands/set_algebra.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

using SetList = std::vector<const SetValue*>;

// The sets at argv[first, first + count): nullptr for a missing key. False (WRONGTYPE replied)
// when a key holds another type; like Redis 7.0, every key is checked, even after a missing one.
bool lookup_sets(CommandContext& ctx, size_t first, size_t count, SetList* sets) {
  sets->reserve(count);
  for (size_t i = first; i < first + count; i++) {
    KeyEntry* entry = ctx.lookup_read(ctx.arg(i));
    if (entry == nullptr) {
      sets->push_back(nullptr);
      continue;
    }
    if (!ctx.check_type(entry, ValueType::kSet)) return false;
    sets->push_back(&entry->value.set());
  }
  return true;
}

// Stores `result` at `target` whatever was there (dropping any TTL), or deletes `target` when
// the result is empty; replies the result's size. `event`: the command's notification
// ("sinterstore", "sunionstore", "sdiffstore").
void store_result(CommandContext& ctx, std::string_view target, std::unique_ptr<SetValue> result,
                  std::string_view event) {
  if (result == nullptr || result->empty()) {
    // Like Redis's dbDelete: whatever entry is there goes, and only a real deletion counts.
    if (ctx.db().erase(target)) {
      ctx.key_modified(target);
      ctx.notify(NotifyClass::kGeneric, "del", target);
    }
    return ctx.reply.integer(0);
  }
  const auto size = static_cast<int64_t>(result->size());
  // An expired target is deleted (and DEL propagated) first.
  const bool existed = ctx.lookup_write(target) != nullptr;
  ctx.db().set(target, Value(std::move(result)));
  ctx.key_modified(target);
  ctx.reply.integer(size);
  if (!existed) ctx.notify(NotifyClass::kNew, "new", target);
  ctx.notify(NotifyClass::kSet, event, target);
}

void reply_members(CommandContext& ctx, const SetValue& set) {
  ctx.reply.set(set.size());
  set.visit([&](std::string_view member) { ctx.reply.bulk(member); });
}

std::unique_ptr<SetValue> set_union(const SetList& sets, const EncodingLimits& limits) {
  auto result = std::make_unique<SetValue>();
  for (const SetValue* set : sets) {
    if (set != nullptr) set->visit([&](std::string_view member) { result->add(member, limits); });
  }
  return result;
}

std::unique_ptr<SetValue> set_difference(const SetList& sets, const EncodingLimits& limits) {
  auto result = std::make_unique<SetValue>();
  const SetValue* first = sets[0];
  if (first == nullptr) return result;
  // The first key repeated later: nothing can remain.
  if (std::find(sets.begin() + 1, sets.end(), first) != sets.end()) return result;
  // Redis picks one of two algorithms by estimated work, and they leave the result in different
  // encodings (copying the whole first set makes it a hashtable as soon as one member is not an
  // integer, even if that member is removed afterwards), so pick the same way.
  size_t filter_work = 0;
  size_t copy_work = 0;
  for (const SetValue* set : sets) {
    if (set == nullptr) continue;
    filter_work += first->size();
    copy_work += set->size();
  }
  if (filter_work / 2 <= copy_work) {
    first->visit([&](std::string_view member) {
      for (size_t i = 1; i < sets.size(); i++) {
        if (sets[i] != nullptr && sets[i]->contains(member)) return;
      }
      result->add(member, limits);
    });
    return result;
  }
  first->visit([&](std::string_view member) { result->add(member, limits); });
  for (size_t i = 1; i < sets.size() && !result->empty(); i++) {
    if (sets[i] != nullptr) sets[i]->visit([&](std::string_view member) { result->remove(member); });
  }
  return result;
}

enum class InterOutput { kReply, kCardinality, kStore };

// SINTER, SINTERCARD (cardinality up to `limit`, 0 = all) and SINTERSTORE into `target`.
void sinter_generic(CommandContext& ctx, size_t first, size_t count, InterOutput output,
                    std::string_view target = {}, int64_t limit = 0) {
  SetList sets;
  if (!lookup_sets(ctx, first, count, &sets)) return;
  if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) {
    // A missing key is an empty set: so is the intersection.
    if (output == InterOutput::kStore) return store_result(ctx, target, nullptr, "sinterstore");
    if (output == InterOutput::kCardinality) return ctx.reply.integer(0);
    return ctx.reply.set(0);
  }
  // Walk the smallest set, probing the others (reply order is the smallest set's order).
  std::stable_sort(sets.begin(), sets.end(), [](const SetValue* a, const SetValue* b) { return a->size() < b->size(); });
  const SetValue* smallest = sets[0];
  auto in_all_others = [&](std::string_view member) {
    for (size_t i = 1; i < sets.size(); i++) {
      if (sets[i] != smallest && !sets[i]->contains(member)) return false;
    }
    return true;
  };

  if (output == InterOutput::kCardinality) {
    int64_t cardinality = 0;
    smallest->visit_while([&](std::string_view member) {
      if (in_all_others(member)) cardinality++;
      return limit == 0 || cardinality < limit;
    });
    return ctx.reply.integer(cardinality);
  }
  if (output == InterOutput::kStore) {
    auto result = std::make_unique<SetValue>();
    const EncodingLimits limits = ctx.server.encoding_limits();
    smallest->visit([&](std::string_view member) {
      if (in_all_others(member)) result->add(member, limits);
    });
    return store_result(ctx, target, std::move(result), "sinterstore");
  }
  const size_t position = ctx.reply.begin_deferred();
  size_t found = 0;
  smallest->visit([&](std::string_view member) {
    if (!in_all_others(member)) return;
    ctx.reply.bulk(member);
    found++;
  });
  ctx.reply.end_deferred_set(position, found);
}

void cmd_sinter(CommandContext& ctx) { sinter_generic(ctx, 1, ctx.argc() - 1, InterOutput::kReply); }

void cmd_sinterstore(CommandContext& ctx) {
  sinter_generic(ctx, 2, ctx.argc() - 2, InterOutput::kStore, ctx.arg(1));
}

void cmd_sintercard(CommandContext& ctx) {
  constexpr std::string_view kBadNumkeys = "ERR numkeys should be greater than 0";
  int64_t numkeys = 0;
  if (!string_to_int64(ctx.arg(1), &numkeys) || numkeys < 1) return ctx.reply.error(kBadNumkeys);
  if (numkeys > static_cast<int64_t>(ctx.argc()) - 2) {
    return ctx.reply.error("ERR Number of keys can't be greater than number of args");
  }
  int64_t limit = 0;
  for (size_t i = 2 + static_cast<size_t>(numkeys); i < ctx.argc(); i++) {
    if (equals_ignore_case(ctx.arg(i), "limit") && i + 1 < ctx.argc()) {
      if (!string_to_int64(ctx.arg(++i), &limit) || limit < 0) return ctx.reply.error("ERR LIMIT can't be negative");
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  sinter_generic(ctx, 2, static_cast<size_t>(numkeys), InterOutput::kCardinality, {}, limit);
}

enum class Combine { kUnion, kDifference };

void combine_generic(CommandContext& ctx, size_t first, Combine op, bool store) {
  SetList sets;
  if (!lookup_sets(ctx, first, ctx.argc() - first, &sets)) return;
  const EncodingLimits limits = ctx.server.encoding_limits();
  std::unique_ptr<SetValue> result = op == Combine::kUnion ? set_union(sets, limits) : set_difference(sets, limits);
  if (store) {
    return store_result(ctx, ctx.arg(1), std::move(result), op == Combine::kUnion ? "sunionstore" : "sdiffstore");
  }
  reply_members(ctx, *result);
}

void cmd_sunion(CommandContext& ctx) { combine_generic(ctx, 1, Combine::kUnion, false); }
void cmd_sunionstore(CommandContext& ctx) { combine_generic(ctx, 2, Combine::kUnion, true); }
void cmd_sdiff(CommandContext& ctx) { combine_generic(ctx, 1, Combine::kDifference, false); }
void cmd_sdiffstore(CommandContext& ctx) { combine_generic(ctx, 2, Combine::kDifference, true); }

}  // namespace

void reply_set_members(CommandContext& ctx, const SetValue& set) {
  reply_members(ctx, *set_union({&set}, ctx.server.encoding_limits()));
}

void register_set_algebra_commands(CommandTable& table) {
  table.add("smembers", cmd_sinter);
  table.add("sinter", cmd_sinter);
  table.add("sintercard", cmd_sintercard);
  table.add("sinterstore", cmd_sinterstore);
  table.add("sunion", cmd_sunion);
  table.add("sunionstore", cmd_sunionstore);
  table.add("sdiff", cmd_sdiff);
  table.add("sdiffstore", cmd_sdiffstore);
}

}  // namespace rd
