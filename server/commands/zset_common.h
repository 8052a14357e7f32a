// Shared pieces of the sorted-set command family (zsets.cc, zset_ranges.cc, zset_setops.cc,
// zset_pops.cc): key access, score replies and storing computed results.
#pragma once

#include <memory>
#include <string_view>

#include "server/command_context.h"
#include "server/command_table.h"
#include "storage/zset.h"

namespace rd {

void register_zset_range_commands(CommandTable& table);
void register_zset_setop_commands(CommandTable& table);
void register_zset_pop_commands(CommandTable& table);

// A key a command reads. A write command (which holds the exclusive lock) first deletes it
// when expired, as Redis's lookupKeyRead does on a master (ZUNIONSTORE, ZRANGESTORE sources).
inline KeyEntry* lookup_source(CommandContext& ctx, std::string_view key) {
  if (ctx.spec.is_write()) ctx.lookup_write(key);
  return ctx.lookup_read(key);
}

// The sorted set at `key` for reading. nullptr when absent, or when it is of another type
// (then *wrong_type is set and WRONGTYPE has been replied).
inline ZSetValue* zset_for_read(CommandContext& ctx, std::string_view key, bool* wrong_type) {
  *wrong_type = false;
  KeyEntry* entry = lookup_source(ctx, key);
  if (entry == nullptr) return nullptr;
  if (!ctx.check_type(entry, ValueType::kZSet)) {
    *wrong_type = true;
    return nullptr;
  }
  return &entry->value.zset();
}

// Same for writing (an expired key is deleted first).
inline ZSetValue* zset_for_write(CommandContext& ctx, std::string_view key, bool* wrong_type) {
  *wrong_type = false;
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return nullptr;
  if (!ctx.check_type(entry, ValueType::kZSet)) {
    *wrong_type = true;
    return nullptr;
  }
  return &entry->value.zset();
}

// Counts a write of `changes` elements to `key` (Redis adds them all to its dirty counter) and
// invalidates WATCHes once.
inline void zset_modified(CommandContext& ctx, std::string_view key, size_t changes) {
  ctx.key_modified(key);
  if (changes > 1) ctx.add_dirty(static_cast<int64_t>(changes) - 1);
}

// Deletes `key` when the write left its sorted set empty, notifying "del" like Redis does right
// after the command's own event. `zset` is gone once this returns true.
inline bool delete_if_empty(CommandContext& ctx, std::string_view key, const ZSetValue& zset) {
  if (zset.size() != 0) return false;
  ctx.db().erase(key);
  ctx.notify(NotifyClass::kGeneric, "del", key);
  return true;
}

// The array header of `count` (member, score) pairs: RESP2 flattens them, RESP3 nests them.
inline void reply_pairs_header(CommandContext& ctx, size_t count, bool withscores) {
  ctx.reply.array(withscores && ctx.reply.protocol() == 2 ? count * 2 : count);
}

// One element of a range reply (and its score, as a pair in RESP3, when withscores).
inline void reply_member(CommandContext& ctx, std::string_view member, double score, bool withscores) {
  if (withscores && ctx.reply.protocol() >= 3) ctx.reply.array(2);
  ctx.reply.bulk(member);
  if (withscores) ctx.reply.dbl(score);
}

// ZRANGESTORE / ZUNIONSTORE and friends: stores `result` at `dst` (replacing any value) and
// replies its size, notifying "new" when the key is created and then `event` ("zunionstore",
// "zrangestore"...); or, when it is empty, deletes `dst` (notifying "del") and replies 0.
void store_zset_result(CommandContext& ctx, std::string_view dst, std::unique_ptr<ZSetValue> result,
                       std::string_view event);

}  // namespace rd
