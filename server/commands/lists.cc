// List commands: pushes, pops, ranges, positions, LREM/LTRIM/LINSERT/LSET/LPOS, LMOVE and
// LMPOP. The blocking variants live in lists_blocking.cc and share the helpers defined here.
//
// Argument checks happen in Redis 7.0's order (e.g. LRANGE parses its indexes before looking
// at the key, LINDEX after), since that order decides which error a client sees.
#include <algorithm>
#include <memory>

#include "server/commands/families.h"
#include "server/commands/lists_common.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace lists {

bool parse_end(CommandContext& ctx, std::string_view text, End* end) {
  if (equals_ignore_case(text, "left")) {
    *end = End::kHead;
  } else if (equals_ignore_case(text, "right")) {
    *end = End::kTail;
  } else {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  return true;
}

std::string_view end_name(End end) { return end == End::kHead ? "left" : "right"; }

void key_changed(CommandContext& ctx, std::string_view key, int64_t changes) {
  ctx.key_modified(key);
  ctx.add_dirty(changes - 1);
}

void elements_removed(CommandContext& ctx, std::string_view key, KeyEntry* entry, int64_t count,
                      std::string_view event) {
  ctx.notify(NotifyClass::kList, event, key);
  if (entry->value.list().empty()) {
    ctx.db().erase(key);
    ctx.notify(NotifyClass::kGeneric, "del", key);
  }
  key_changed(ctx, key, count);
}

void reply_and_pop(CommandContext& ctx, ListValue& list, End end, size_t count) {
  ctx.reply.array(count);
  if (count == 0) return;
  if (end == End::kHead) {
    ListValue::Cursor c = list.cursor_at_head();
    for (size_t i = 0; i < count; i++, c.next()) ctx.reply.bulk(c.value());
    list.erase_front(count);
  } else {
    ListValue::Cursor c = list.cursor_at_tail();
    for (size_t i = 0; i < count; i++, c.prev()) ctx.reply.bulk(c.value());
    list.erase_back(count);
  }
}

void pop_range_with_key(CommandContext& ctx, std::string_view key, KeyEntry* entry, End end, int64_t count) {
  ListValue& list = entry->value.list();
  const size_t popped = std::min(static_cast<size_t>(count), list.size());
  ctx.reply.array(2);
  ctx.reply.bulk(key);
  reply_and_pop(ctx, list, end, popped);
  elements_removed(ctx, key, entry, static_cast<int64_t>(popped), pop_event(end));
  ctx.propagate_as({end == End::kHead ? "LPOP" : "RPOP", key, int_to_string(static_cast<int64_t>(popped))});
}

bool parse_multi_pop(CommandContext& ctx, size_t numkeys_index, MultiPopArgs* out) {
  int64_t numkeys = 0;
  if (!string_to_int64(ctx.arg(numkeys_index), &numkeys) || numkeys < 1) {
    ctx.reply.error("ERR numkeys should be greater than 0");
    return false;
  }
  // The side comes right after the keys; more keys than arguments is a syntax error.
  if (static_cast<uint64_t>(numkeys) >= ctx.argc() - numkeys_index - 1) {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  const size_t end_index = numkeys_index + static_cast<size_t>(numkeys) + 1;
  if (!parse_end(ctx, ctx.arg(end_index), &out->end)) return false;
  int64_t count = -1;
  for (size_t i = end_index + 1; i < ctx.argc(); i++) {
    const bool has_value = i + 1 < ctx.argc();
    if (count == -1 && has_value && equals_ignore_case(ctx.arg(i), "count")) {
      if (!string_to_int64(ctx.arg(++i), &count) || count < 1) {
        ctx.reply.error("ERR count should be greater than 0");
        return false;
      }
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  out->first_key = numkeys_index + 1;
  out->key_count = static_cast<size_t>(numkeys);
  out->count = count == -1 ? 1 : count;
  return true;
}

bool move_element(CommandContext& ctx, std::string_view source, std::string_view destination, End from, End to) {
  KeyEntry* src = ctx.lookup_write(source);
  if (src == nullptr) {
    ctx.reply.null();
    return false;
  }
  if (!ctx.check_type(src, ValueType::kList)) return false;
  KeyEntry* dst = ctx.lookup_write(destination);
  if (dst != nullptr && !ctx.check_type(dst, ValueType::kList)) return false;

  ListValue& source_list = src->value.list();
  // A copy: the element's bytes live in the chunk the pop may free.
  std::string element(from == End::kHead ? source_list.front() : source_list.back());
  if (from == End::kHead) {
    source_list.pop_front();
  } else {
    source_list.pop_back();
  }
  const bool created = dst == nullptr;
  if (created) dst = ctx.db().set(destination, Value(std::make_unique<ListValue>()));
  ListValue& destination_list = dst->value.list();
  if (to == End::kHead) {
    destination_list.push_front(element);
  } else {
    destination_list.push_back(element);
  }
  ctx.reply.bulk(element);
  // Redis's order: the push into the destination, then the pop from the source.
  if (created) ctx.notify(NotifyClass::kNew, "new", destination);
  ctx.notify(NotifyClass::kList, push_event(to), destination);
  ctx.notify(NotifyClass::kList, pop_event(from), source);
  // Same key: the element went back in, so the list is never empty here.
  if (source_list.empty()) {
    ctx.db().erase(source);
    ctx.notify(NotifyClass::kGeneric, "del", source);
  }
  key_changed(ctx, source, 1);
  key_changed(ctx, destination, 0);
  ctx.signal_ready(destination);
  return true;
}

std::string int_to_string(int64_t value) {
  char buf[kInt64BufSize];
  return std::string(buf, format_int64(value, buf));
}

}  // namespace lists

namespace {

using lists::End;

// Resolves a Redis list index (negative: from the tail) to a position; false when outside.
bool resolve_index(int64_t index, size_t size, size_t* position) {
  const int64_t length = static_cast<int64_t>(size);
  if (index < 0) index += length;
  if (index < 0 || index >= length) return false;
  *position = static_cast<size_t>(index);
  return true;
}

// The part of a list [start, end] selects, Redis style: negative indexes count from the tail,
// out-of-range bounds are clamped. False when the range is empty.
bool resolve_range(int64_t start, int64_t end, size_t size, size_t* first, size_t* count) {
  const int64_t length = static_cast<int64_t>(size);
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return false;
  if (end >= length) end = length - 1;
  *first = static_cast<size_t>(start);
  *count = static_cast<size_t>(end - start + 1);
  return true;
}

void push_generic(CommandContext& ctx, End end, bool only_if_exists) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kList)) return;
  if (entry == nullptr) {
    if (only_if_exists) return ctx.reply.integer(0);
    entry = ctx.db().set(key, Value(std::make_unique<ListValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
  }
  ListValue& list = entry->value.list();
  for (size_t i = 2; i < ctx.argc(); i++) {
    if (end == End::kHead) {
      list.push_front(ctx.arg(i));
    } else {
      list.push_back(ctx.arg(i));
    }
  }
  ctx.reply.integer(static_cast<int64_t>(list.size()));
  lists::key_changed(ctx, key, static_cast<int64_t>(ctx.argc() - 2));
  ctx.notify(NotifyClass::kList, lists::push_event(end), key);
  ctx.signal_ready(key);
}

void cmd_lpush(CommandContext& ctx) { push_generic(ctx, End::kHead, false); }
void cmd_rpush(CommandContext& ctx) { push_generic(ctx, End::kTail, false); }
void cmd_lpushx(CommandContext& ctx) { push_generic(ctx, End::kHead, true); }
void cmd_rpushx(CommandContext& ctx) { push_generic(ctx, End::kTail, true); }

void pop_generic(CommandContext& ctx, End end) {
  // The metadata's arity (-2) lets any number of arguments through; Redis takes at most a count.
  if (ctx.argc() > 3) return ctx.reply.error("ERR wrong number of arguments for '" + ctx.spec.name + "' command");
  const bool has_count = ctx.argc() == 3;
  int64_t count = 0;
  if (has_count && (!string_to_int64(ctx.arg(2), &count) || count < 0)) {
    return ctx.reply.error("ERR value is out of range, must be positive");
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return has_count ? ctx.reply.null_array() : ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kList)) return;
  ListValue& list = entry->value.list();
  if (!has_count) {
    if (end == End::kHead) {
      ctx.reply.bulk(list.front());
      list.pop_front();
    } else {
      ctx.reply.bulk(list.back());
      list.pop_back();
    }
    return lists::elements_removed(ctx, key, entry, 1, lists::pop_event(end));
  }
  if (count == 0) return ctx.reply.empty_array();
  const size_t popped = std::min(static_cast<size_t>(count), list.size());
  lists::reply_and_pop(ctx, list, end, popped);
  lists::elements_removed(ctx, key, entry, static_cast<int64_t>(popped), lists::pop_event(end));
}

void cmd_lpop(CommandContext& ctx) { pop_generic(ctx, End::kHead); }
void cmd_rpop(CommandContext& ctx) { pop_generic(ctx, End::kTail); }

void cmd_llen(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kList)) return;
  ctx.reply.integer(static_cast<int64_t>(entry->value.list().size()));
}

void cmd_lindex(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kList)) return;
  int64_t index = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &index)) return;
  const ListValue& list = entry->value.list();
  size_t position = 0;
  if (!resolve_index(index, list.size(), &position)) return ctx.reply.null();
  ctx.reply.bulk(list.at(position));
}

void cmd_lset(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.error(kNoSuchKeyError);
  if (!ctx.check_type(entry, ValueType::kList)) return;
  int64_t index = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &index)) return;
  ListValue& list = entry->value.list();
  size_t position = 0;
  if (!resolve_index(index, list.size(), &position)) return ctx.reply.error(kOutOfRangeError);
  list.set(position, ctx.arg(3));
  lists::key_changed(ctx, key, 1);
  ctx.notify(NotifyClass::kList, "lset", key);
  ctx.reply.ok();
}

void cmd_linsert(CommandContext& ctx) {
  bool after = false;
  if (equals_ignore_case(ctx.arg(2), "after")) {
    after = true;
  } else if (!equals_ignore_case(ctx.arg(2), "before")) {
    return ctx.reply.error(kSyntaxError);
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kList)) return;
  ListValue& list = entry->value.list();
  size_t index = 0;
  ListValue::Cursor c = list.cursor_at_head();
  while (c.valid() && c.value() != ctx.arg(3)) {
    c.next();
    index++;
  }
  if (!c.valid()) return ctx.reply.integer(-1);
  list.insert(after ? index + 1 : index, ctx.arg(4));
  lists::key_changed(ctx, key, 1);
  ctx.notify(NotifyClass::kList, "linsert", key);
  ctx.reply.integer(static_cast<int64_t>(list.size()));
}

void cmd_lrange(CommandContext& ctx) {
  int64_t start = 0;
  int64_t end = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &start) || !parse_int_arg(ctx, ctx.arg(3), &end)) return;
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.empty_array();
  if (!ctx.check_type(entry, ValueType::kList)) return;
  const ListValue& list = entry->value.list();
  size_t first = 0;
  size_t count = 0;
  if (!resolve_range(start, end, list.size(), &first, &count)) return ctx.reply.empty_array();
  ctx.reply.array(count);
  ListValue::Cursor c = list.cursor_at(first);
  for (size_t i = 0; i < count; i++, c.next()) ctx.reply.bulk(c.value());
}

void cmd_ltrim(CommandContext& ctx) {
  int64_t start = 0;
  int64_t end = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &start) || !parse_int_arg(ctx, ctx.arg(3), &end)) return;
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.ok();
  if (!ctx.check_type(entry, ValueType::kList)) return;
  ListValue& list = entry->value.list();
  const size_t size = list.size();
  size_t first = 0;
  size_t count = 0;
  if (!resolve_range(start, end, size, &first, &count)) {
    first = size;  // nothing kept
    count = 0;
  }
  const size_t trimmed_tail = size - first - count;
  list.erase_back(trimmed_tail);
  list.erase_front(first);
  lists::elements_removed(ctx, key, entry, static_cast<int64_t>(first + trimmed_tail), "ltrim");
  ctx.reply.ok();
}

void cmd_lrem(CommandContext& ctx) {
  int64_t count = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &count)) return;
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kList)) return;
  // INT64_MIN has no positive counterpart; it removes every match like 0 (as in Redis).
  const size_t limit = count == INT64_MIN ? 0 : static_cast<size_t>(count < 0 ? -count : count);
  const size_t removed = entry->value.list().remove(ctx.arg(3), limit, count < 0);
  if (removed > 0) lists::elements_removed(ctx, key, entry, static_cast<int64_t>(removed), "lrem");
  ctx.reply.integer(static_cast<int64_t>(removed));
}

struct LposOptions {
  int64_t rank = 1;    // 1: first match; negative: from the tail
  int64_t count = -1;  // -1: reply one position; 0: every match
  int64_t maxlen = 0;  // 0: scan the whole list
};

bool parse_lpos_options(CommandContext& ctx, LposOptions* options) {
  for (size_t i = 3; i < ctx.argc(); i++) {
    std::string_view option = ctx.arg(i);
    const bool has_value = i + 1 < ctx.argc();
    if (has_value && equals_ignore_case(option, "rank")) {
      if (!parse_int_arg(ctx, ctx.arg(++i), &options->rank)) return false;
      if (options->rank == 0) {
        ctx.reply.error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative "
            "to start from the end of the list");
        return false;
      }
    } else if (has_value && equals_ignore_case(option, "count")) {
      if (!string_to_int64(ctx.arg(++i), &options->count) || options->count < 0) {
        ctx.reply.error("ERR COUNT can't be negative");
        return false;
      }
    } else if (has_value && equals_ignore_case(option, "maxlen")) {
      if (!string_to_int64(ctx.arg(++i), &options->maxlen) || options->maxlen < 0) {
        ctx.reply.error("ERR MAXLEN can't be negative");
        return false;
      }
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

void cmd_lpos(CommandContext& ctx) {
  LposOptions options;
  if (!parse_lpos_options(ctx, &options)) return;
  const bool from_tail = options.rank < 0;
  // Redis negates RANK; INT64_MIN stays negative there, so every match qualifies and a COUNT
  // never stops the scan.
  const bool rank_overflow = options.rank == INT64_MIN;
  const int64_t rank = rank_overflow ? 1 : (from_tail ? -options.rank : options.rank);
  const bool want_array = options.count != -1;
  const int64_t count = rank_overflow ? 0 : options.count;

  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return want_array ? ctx.reply.empty_array() : ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kList)) return;
  const ListValue& list = entry->value.list();
  std::string_view element = ctx.arg(2);

  const size_t deferred = want_array ? ctx.reply.begin_deferred() : 0;
  size_t replied = 0;
  int64_t matches = 0;
  const size_t size = list.size();
  const size_t limit = options.maxlen == 0 ? size : std::min(size, static_cast<size_t>(options.maxlen));
  ListValue::Cursor c = from_tail ? list.cursor_at_tail() : list.cursor_at_head();
  for (size_t scanned = 0; scanned < limit; scanned++) {
    if (c.value() == element && ++matches >= rank) {
      const int64_t position = static_cast<int64_t>(from_tail ? size - 1 - scanned : scanned);
      if (!want_array) return ctx.reply.integer(position);
      ctx.reply.integer(position);
      replied++;
      if (count != 0 && matches - rank + 1 >= count) break;
    }
    if (from_tail) {
      c.prev();
    } else {
      c.next();
    }
  }
  if (want_array) {
    ctx.reply.end_deferred_array(deferred, replied);
  } else {
    ctx.reply.null();
  }
}

void lmove_generic(CommandContext& ctx, size_t from_index, size_t to_index) {
  End from = End::kHead;
  End to = End::kHead;
  if (!lists::parse_end(ctx, ctx.arg(from_index), &from) || !lists::parse_end(ctx, ctx.arg(to_index), &to)) return;
  lists::move_element(ctx, ctx.arg(1), ctx.arg(2), from, to);
}

void cmd_lmove(CommandContext& ctx) { lmove_generic(ctx, 3, 4); }

void cmd_rpoplpush(CommandContext& ctx) { lists::move_element(ctx, ctx.arg(1), ctx.arg(2), End::kTail, End::kHead); }

void cmd_lmpop(CommandContext& ctx) {
  lists::MultiPopArgs args;
  if (!lists::parse_multi_pop(ctx, 1, &args)) return;
  for (size_t i = args.first_key; i < args.first_key + args.key_count; i++) {
    KeyEntry* entry = ctx.lookup_write(ctx.arg(i));
    if (entry == nullptr) continue;
    if (!ctx.check_type(entry, ValueType::kList)) return;
    return lists::pop_range_with_key(ctx, ctx.arg(i), entry, args.end, args.count);
  }
  ctx.reply.null_array();
}

}  // namespace

void register_list_commands(CommandTable& table) {
  table.add("lpush", cmd_lpush);
  table.add("rpush", cmd_rpush);
  table.add("lpushx", cmd_lpushx);
  table.add("rpushx", cmd_rpushx);
  table.add("lpop", cmd_lpop);
  table.add("rpop", cmd_rpop);
  table.add("llen", cmd_llen);
  table.add("lindex", cmd_lindex);
  table.add("lset", cmd_lset);
  table.add("linsert", cmd_linsert);
  table.add("lrange", cmd_lrange);
  table.add("ltrim", cmd_ltrim);
  table.add("lrem", cmd_lrem);
  table.add("lpos", cmd_lpos);
  table.add("lmove", cmd_lmove);
  table.add("rpoplpush", cmd_rpoplpush);
  table.add("lmpop", cmd_lmpop);
  lists::register_blocking_list_commands(table);
}

}  // namespace rd
