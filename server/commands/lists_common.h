// Helpers shared by the list command files: lists.cc (plain commands) and lists_blocking.cc
// (BLPOP and friends, which fall back on the same pops and moves when data is there).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/command_context.h"
#include "server/command_table.h"
#include "storage/list.h"

namespace rd::lists {

enum class End { kHead, kTail };

// LEFT / RIGHT, any case; replies "ERR syntax error" otherwise.
bool parse_end(CommandContext& ctx, std::string_view text, End* end);
// "left" / "right", as Redis names a side when it rewrites a command for replicas.
std::string_view end_name(End end);

// Redis counts one change per element pushed, popped or trimmed (INFO rdb_changes_since_
// last_save, and a command with no change is not propagated); key_modified counts one.
// `changes` may be 0: WATCH is still invalidated, as Redis's signalModifiedKey does.
void key_changed(CommandContext& ctx, std::string_view key, int64_t changes);

// After elements were taken from the list at `key`: publishes `event` ("lpop", "rpop",
// "ltrim", "lrem"), deletes the key when the list is empty (a key never holds an empty list;
// "del" follows) and records `count` changes.
void elements_removed(CommandContext& ctx, std::string_view key, KeyEntry* entry, int64_t count,
                      std::string_view event);
// The pop event of a side: "lpop" / "rpop"; and the push event: "lpush" / "rpush".
inline std::string_view pop_event(End end) { return end == End::kHead ? "lpop" : "rpop"; }
inline std::string_view push_event(End end) { return end == End::kHead ? "lpush" : "rpush"; }

// Replies `count` elements starting at the head or the tail (the tail's elements in reverse
// order, as RPOP with a count does) and removes them. REQUIRES: count <= list size.
void reply_and_pop(CommandContext& ctx, ListValue& list, End end, size_t count);

// LMPOP/BLMPOP with data at `key`: replies [key, [elements]], pops them, and propagates the
// command as "LPOP|RPOP key n" (n the number actually popped), as Redis 7.0 does.
void pop_range_with_key(CommandContext& ctx, std::string_view key, KeyEntry* entry, End end, int64_t count);

// The arguments of LMPOP/BLMPOP after the timeout: numkeys key... LEFT|RIGHT [COUNT n].
struct MultiPopArgs {
  size_t first_key = 0;
  size_t key_count = 0;
  End end = End::kHead;
  int64_t count = 1;
};
bool parse_multi_pop(CommandContext& ctx, size_t numkeys_index, MultiPopArgs* out);

// LMOVE's core (RPOPLPUSH, and BLMOVE/BRPOPLPUSH with data): moves one element from the list at
// `source` to `destination` and replies it; null when the source is absent, WRONGTYPE when
// either key holds something else. Returns whether an element moved.
bool move_element(CommandContext& ctx, std::string_view source, std::string_view destination, End from, End to);

std::string int_to_string(int64_t value);

// Registration of the blocking commands (lists_blocking.cc).
void register_blocking_list_commands(CommandTable& table);

}  // namespace rd::lists
