// Blocking list commands: BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH.
//
// With data they behave like their plain forms and reach replicas/AOF as those (BLPOP as
// "LPOP key", BLMPOP as "LPOP key n", BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH). Without data
// they park the client (ctx.block); a later push re-runs the command on the pusher's thread
// with ctx.retrying_blocked() set, and then, like Redis 7.0, the waiter is served only from
// the key that woke it, and a key that now holds another type keeps it waiting instead of
// failing. Inside MULTI they answer at once with a null. On timeout every one of them
// replies a null array (Redis 7.0 does so even for BLMOVE/BRPOPLPUSH).
#include <cmath>
#include <vector>

#include "server/commands/lists_common.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

using lists::End;

// A blocking command's timeout in seconds (float) as an absolute deadline in unix ms; 0 means
// forever. Redis rounds seconds*1000 up to whole ms and casts, so anything in (-1ms, 0] is 0
// (forever), 0.0001 is 1ms, and values too large for int64 come out negative.
bool parse_timeout(CommandContext& ctx, std::string_view text, int64_t* deadline_ms) {
  long double seconds = 0;
  if (!string_to_long_double(text, &seconds)) {
    ctx.reply.error("ERR timeout is not a float or out of range");
    return false;
  }
  const long double ms = std::ceil(seconds * 1000.0L);
  if (!(ms > -1.0L) || ms >= 0x1p63L) {
    ctx.reply.error("ERR timeout is negative");
    return false;
  }
  const int64_t timeout = static_cast<int64_t>(ms);
  if (timeout == 0) {
    *deadline_ms = 0;
  } else if (timeout > INT64_MAX - ctx.now_ms) {
    *deadline_ms = 0;  // Redis's deadline overflows and then never fires: wait forever
  } else {
    *deadline_ms = ctx.now_ms + timeout;
  }
  return true;
}

std::vector<std::string> key_list(const CommandContext& ctx, size_t first, size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (size_t i = first; i < first + count; i++) keys.emplace_back(ctx.arg(i));
  return keys;
}

// Looks at the key at argument `position` for a blocking pop. Returns the list entry when there
// is data; nullptr when the key is absent or (for a waiter being served) not a list. A key of
// another type on a first run replies WRONGTYPE and sets *failed.
KeyEntry* poppable(CommandContext& ctx, size_t position, bool* failed) {
  KeyEntry* entry = ctx.lookup_write(ctx.arg(position));
  if (entry == nullptr) return nullptr;
  if (entry->value.is(ValueType::kList)) return entry;
  if (!ctx.retrying_blocked()) {
    ctx.check_type(entry, ValueType::kList);
    *failed = true;
  }
  return nullptr;
}

struct Found {
  size_t position = 0;  // argument position of the key
  KeyEntry* entry = nullptr;
};

// The first of the keys at arguments [first, first + count) that holds data, in argument order;
// for a waiter being served only the signalled key is considered. entry is nullptr when there is
// nothing (or *failed, WRONGTYPE replied).
Found find_data(CommandContext& ctx, size_t first, size_t count, bool* failed) {
  for (size_t i = first; i < first + count; i++) {
    if (ctx.retrying_blocked() && ctx.arg(i) != ctx.ready_key()) continue;
    KeyEntry* entry = poppable(ctx, i, failed);
    if (entry != nullptr || *failed) return {i, entry};
    if (ctx.retrying_blocked()) break;  // the signalled key is empty or of another type
  }
  return {};
}

void block_on(CommandContext& ctx, size_t first_key, size_t key_count, int64_t deadline) {
  ctx.block(key_list(ctx, first_key, key_count), deadline, TimeoutReply::kNullArray);
}

void blocking_pop(CommandContext& ctx, End end) {
  int64_t deadline = 0;
  if (!parse_timeout(ctx, ctx.arg(ctx.argc() - 1), &deadline)) return;
  const size_t key_count = ctx.argc() - 2;
  bool failed = false;
  Found found = find_data(ctx, 1, key_count, &failed);
  if (failed) return;
  if (found.entry != nullptr) {
    std::string_view key = ctx.arg(found.position);
    ListValue& list = found.entry->value.list();
    ctx.reply.array(2);
    ctx.reply.bulk(key);
    if (end == End::kHead) {
      ctx.reply.bulk(list.front());
      list.pop_front();
    } else {
      ctx.reply.bulk(list.back());
      list.pop_back();
    }
    lists::elements_removed(ctx, key, found.entry, 1, lists::pop_event(end));
    ctx.propagate_as({end == End::kHead ? "LPOP" : "RPOP", key});
    return;
  }
  if (!ctx.may_block()) return ctx.reply.null_array();
  block_on(ctx, 1, key_count, deadline);
}

void cmd_blpop(CommandContext& ctx) { blocking_pop(ctx, End::kHead); }
void cmd_brpop(CommandContext& ctx) { blocking_pop(ctx, End::kTail); }

void cmd_blmpop(CommandContext& ctx) {
  lists::MultiPopArgs args;
  if (!lists::parse_multi_pop(ctx, 2, &args)) return;
  int64_t deadline = 0;
  if (!parse_timeout(ctx, ctx.arg(1), &deadline)) return;
  bool failed = false;
  Found found = find_data(ctx, args.first_key, args.key_count, &failed);
  if (failed) return;
  if (found.entry != nullptr) {
    return lists::pop_range_with_key(ctx, ctx.arg(found.position), found.entry, args.end, args.count);
  }
  if (!ctx.may_block()) return ctx.reply.null_array();
  block_on(ctx, args.first_key, args.key_count, deadline);
}

enum class MoveCommand { kBlmove, kBrpoplpush };

// BLMOVE and BRPOPLPUSH once their arguments are parsed.
void blocking_move(CommandContext& ctx, MoveCommand command, End from, End to, int64_t deadline) {
  bool failed = false;
  KeyEntry* source = poppable(ctx, 1, &failed);
  if (failed) return;
  if (source == nullptr) {
    if (!ctx.may_block()) return ctx.reply.null();
    return block_on(ctx, 1, 1, deadline);
  }
  if (!lists::move_element(ctx, ctx.arg(1), ctx.arg(2), from, to)) return;
  if (command == MoveCommand::kBrpoplpush) {
    ctx.propagate_as({"RPOPLPUSH", ctx.arg(1), ctx.arg(2)});
  } else if (ctx.retrying_blocked()) {
    // Redis names the sides itself when it serves a waiter, and keeps the client's spelling
    // when BLMOVE finds data at once.
    ctx.propagate_as({"LMOVE", ctx.arg(1), ctx.arg(2), lists::end_name(from), lists::end_name(to)});
  } else {
    ctx.propagate_as({"LMOVE", ctx.arg(1), ctx.arg(2), ctx.arg(3), ctx.arg(4)});
  }
}

void cmd_blmove(CommandContext& ctx) {
  End from = End::kHead;
  End to = End::kHead;
  if (!lists::parse_end(ctx, ctx.arg(3), &from) || !lists::parse_end(ctx, ctx.arg(4), &to)) return;
  int64_t deadline = 0;
  if (!parse_timeout(ctx, ctx.arg(5), &deadline)) return;
  blocking_move(ctx, MoveCommand::kBlmove, from, to, deadline);
}

void cmd_brpoplpush(CommandContext& ctx) {
  int64_t deadline = 0;
  if (!parse_timeout(ctx, ctx.arg(3), &deadline)) return;
  blocking_move(ctx, MoveCommand::kBrpoplpush, End::kTail, End::kHead, deadline);
}

}  // namespace

namespace lists {

void register_blocking_list_commands(CommandTable& table) {
  table.add("blpop", cmd_blpop);
  table.add("brpop", cmd_brpop);
  table.add("blmpop", cmd_blmpop);
  table.add("blmove", cmd_blmove);
  table.add("brpoplpush", cmd_brpoplpush);
}

}  // namespace lists
}  // namespace rd
