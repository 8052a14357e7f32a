// Set commands on one key (or two, for SMOVE): SADD, SREM, membership, SPOP, SRANDMEMBER,
// SSCAN. The multi-key algebra (SINTER, SUNION, SDIFF and their STORE forms) is in
// set_algebra.cc; encodings and their conversions live in storage/set.h.
#include <algorithm>
#include <memory>

#include "server/command_context.h"
#include "server/commands/collections.h"
#include "server/commands/families.h"
#include "server/commands/set_algebra.h"
#include "server/server.h"
#include "storage/numbers.h"
#include "storage/set.h"

namespace rd {
namespace {

// SPOP with a count rebuilds the set from the members that stay (instead of popping one by
// one) once those are at most a fifth of what is popped, like Redis's SPOP_MOVE_STRATEGY_MUL.
constexpr size_t kSpopRebuildFactor = 5;

// The set at `key` for reading: nullptr when absent, or when the key holds another type
// (then WRONGTYPE was replied and *failed is set).
const SetValue* set_for_read(CommandContext& ctx, std::string_view key, bool* failed) {
  KeyEntry* entry = ctx.lookup_read(key);
  *failed = false;
  if (entry == nullptr) return nullptr;
  if (!ctx.check_type(entry, ValueType::kSet)) {
    *failed = true;
    return nullptr;
  }
  return &entry->value.set();
}

void cmd_sadd(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) {
    entry = ctx.db().add(key, Value(std::make_unique<SetValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
  } else if (!ctx.check_type(entry, ValueType::kSet)) {
    return;
  }
  SetValue& set = entry->value.set();
  const EncodingLimits limits = ctx.server.encoding_limits();
  int64_t added = 0;
  for (size_t i = 2; i < ctx.argc(); i++) added += set.add(ctx.arg(i), limits) ? 1 : 0;
  if (added > 0) {
    ctx.key_modified(key);
    ctx.add_dirty(added - 1);  // Redis counts every added member
    ctx.notify(NotifyClass::kSet, "sadd", key);
  }
  ctx.reply.integer(added);
}

void cmd_srem(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kSet)) return;
  SetValue& set = entry->value.set();
  int64_t removed = 0;
  for (size_t i = 2; i < ctx.argc() && !set.empty(); i++) removed += set.remove(ctx.arg(i)) ? 1 : 0;
  if (removed > 0) {
    ctx.notify(NotifyClass::kSet, "srem", key);
    if (set.empty()) {
      ctx.db().erase(key);
      ctx.notify(NotifyClass::kGeneric, "del", key);
    }
    ctx.key_modified(key);
    ctx.add_dirty(removed - 1);
  }
  ctx.reply.integer(removed);
}

void cmd_scard(CommandContext& ctx) {
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.integer(set == nullptr ? 0 : static_cast<int64_t>(set->size()));
}

void cmd_sismember(CommandContext& ctx) {
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.integer(set != nullptr && set->contains(ctx.arg(2)) ? 1 : 0);
}

void cmd_smismember(CommandContext& ctx) {
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) ctx.reply.integer(set != nullptr && set->contains(ctx.arg(i)) ? 1 : 0);
}

// SPOP key count. Replicas get what was removed, not the random choice: SREM per member
// (wrapped in MULTI/EXEC by the dispatcher), or DEL when the whole set goes.
void spop_with_count(CommandContext& ctx) {
  // Redis gives the same message for a count that is not an integer at all.
  int64_t requested = 0;
  if (!string_to_int64(ctx.arg(2), &requested) || requested < 0) {
    return ctx.reply.error("ERR value is out of range, must be positive");
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.set(0);
  if (!ctx.check_type(entry, ValueType::kSet)) return;
  if (requested == 0) return ctx.reply.set(0);

  SetValue& set = entry->value.set();
  const size_t count = static_cast<size_t>(requested);
  const size_t size = set.size();
  ctx.key_modified(key);
  ctx.add_dirty(static_cast<int64_t>(std::min(count, size)) - 1);  // Redis adds count itself (may overflow)
  ctx.notify(NotifyClass::kSet, "spop", key);
  if (count >= size) {
    reply_set_members(ctx, set);
    ctx.db().erase(key);
    ctx.propagate_as({"DEL", key});
    ctx.notify(NotifyClass::kGeneric, "del", key);
    return;
  }
  CommandRandom random = command_random(ctx);
  ctx.reply.set(count);
  size_t remaining = size - count;
  if (remaining * kSpopRebuildFactor > count) {
    for (size_t i = 0; i < count; i++) {
      std::string member = set.pop_random(random);
      ctx.reply.bulk(member);
      ctx.propagate_as({"SREM", key, member});
    }
    return;
  }
  // Most members go: move the few that stay into a fresh set (whose encoding is chosen anew,
  // as Redis's rebuilt set is), then hand out everything left in the old one.
  auto kept = std::make_unique<SetValue>();
  const EncodingLimits limits = ctx.server.encoding_limits();
  while (remaining-- > 0) kept->add(set.pop_random(random), limits);
  set.visit([&](std::string_view member) {
    ctx.reply.bulk(member);
    ctx.propagate_as({"SREM", key, member});
  });
  entry->value = Value(std::move(kept));
}

void cmd_spop(CommandContext& ctx) {
  if (ctx.argc() == 3) return spop_with_count(ctx);
  if (ctx.argc() > 3) return ctx.reply.error(kSyntaxError);
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kSet)) return;
  SetValue& set = entry->value.set();
  CommandRandom random = command_random(ctx);
  std::string member = set.pop_random(random);
  ctx.reply.bulk(member);
  ctx.notify(NotifyClass::kSet, "spop", key);
  if (set.empty()) {
    ctx.db().erase(key);
    ctx.notify(NotifyClass::kGeneric, "del", key);
  }
  ctx.key_modified(key);
  ctx.propagate_as({"SREM", key, member});
}

// SRANDMEMBER key count: a positive count asks for distinct members, a negative one for
// |count| picks that may repeat.
void srandmember_with_count(CommandContext& ctx) {
  int64_t requested = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &requested)) return;
  if (requested < -INT64_MAX) {
    return ctx.reply.error(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  }
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (set == nullptr || requested == 0) return ctx.reply.array(0);

  const bool distinct = requested > 0;
  const size_t count = static_cast<size_t>(distinct ? requested : -requested);
  auto emit = [&](std::string_view member) { ctx.reply.bulk(member); };
  CommandRandom random = command_random(ctx);
  if (!distinct || count == 1) {
    ctx.reply.array(count);
    set->sample_with_repetition(count, random, emit);
  } else if (count >= set->size()) {
    ctx.reply.array(set->size());
    set->visit(emit);
  } else {
    ctx.reply.array(count);
    set->sample_distinct(count, random, emit);
  }
}

void cmd_srandmember(CommandContext& ctx) {
  if (ctx.argc() == 3) return srandmember_with_count(ctx);
  if (ctx.argc() > 3) return ctx.reply.error(kSyntaxError);
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (set == nullptr) return ctx.reply.null();
  CommandRandom random = command_random(ctx);
  IntText text;
  ctx.reply.bulk(set->random_member(random, text));
}

void cmd_smove(CommandContext& ctx) {
  std::string_view source_key = ctx.arg(1);
  std::string_view target_key = ctx.arg(2);
  std::string_view member = ctx.arg(3);
  KeyEntry* source = ctx.lookup_write(source_key);
  KeyEntry* target = ctx.lookup_write(target_key);
  if (source == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(source, ValueType::kSet)) return;
  if (target != nullptr && !ctx.check_type(target, ValueType::kSet)) return;
  if (source == target) return ctx.reply.integer(source->value.set().contains(member) ? 1 : 0);
  if (!source->value.set().remove(member)) return ctx.reply.integer(0);
  ctx.notify(NotifyClass::kSet, "srem", source_key);
  // Unlinking the source keeps other entries where they are, so `target` stays valid.
  if (source->value.set().empty()) {
    ctx.db().erase(source_key);
    ctx.notify(NotifyClass::kGeneric, "del", source_key);
  }
  ctx.key_modified(source_key);
  if (target == nullptr) {
    target = ctx.db().add(target_key, Value(std::make_unique<SetValue>()));
    ctx.notify(NotifyClass::kNew, "new", target_key);
  }
  if (target->value.set().add(member, ctx.server.encoding_limits())) {
    ctx.key_modified(target_key);
    ctx.notify(NotifyClass::kSet, "sadd", target_key);
  }
  ctx.reply.integer(1);
}

void cmd_sscan(CommandContext& ctx) {
  uint64_t cursor = 0;
  if (!parse_collection_cursor(ctx, ctx.arg(2), &cursor)) return;
  bool failed = false;
  const SetValue* set = set_for_read(ctx, ctx.arg(1), &failed);
  if (failed) return;
  if (set == nullptr) return reply_empty_scan(ctx.reply);
  ScanOptions options;
  if (!parse_collection_scan_options(ctx, 3, &options)) return;

  // Intset members are formatted on the fly, so matches are copied out.
  std::vector<std::string> found;
  size_t visited = 0;
  auto collect = [&](std::string_view member) {
    visited++;
    if (options.matches(member)) found.emplace_back(member);
  };
  cursor = scan_until_count(
      cursor, options.count, [&](uint64_t at) { return set->scan(at, collect); }, [&] { return visited; });
  ctx.reply.array(2);
  ctx.reply.bulk_int(static_cast<int64_t>(cursor));
  ctx.reply.array(found.size());
  for (const std::string& member : found) ctx.reply.bulk(member);
}

}  // namespace

void register_set_commands(CommandTable& table) {
  table.add("sadd", cmd_sadd);
  table.add("srem", cmd_srem);
  table.add("scard", cmd_scard);
  table.add("sismember", cmd_sismember);
  table.add("smismember", cmd_smismember);
  table.add("spop", cmd_spop);
  table.add("srandmember", cmd_srandmember);
  table.add("smove", cmd_smove);
  table.add("sscan", cmd_sscan);
  register_set_algebra_commands(table);
}

}  // namespace rd
