// XREAD and XREADGROUP, with and without BLOCK.
//
// Served at once when some stream has entries past the given ID (for a group with ">": past
// the group's last delivered ID; any other ID reads the consumer's own pending history).
// Otherwise, with BLOCK, the client waits (ctx.block) on every stream key; an XADD signals the
// key and the dispatcher re-runs the command with ctx.retrying_blocked() set, which serves
// the client from that key alone, as Redis 7.0 does: XREAD from the ID it blocked with ("$"
// was resolved to the stream's last ID when it blocked: the blocked command keeps the
// resolved IDs), XREADGROUP from the group's last delivered ID at that time, up to COUNT (or
// 1000 without one) entries. A group destroyed meanwhile (XGROUP DESTROY also signals the
// key) answers -NOGROUP; a stream deleted or replaced by another type answers XREADGROUP
// -UNBLOCKED (the dispatcher re-runs waiters registered with a vanish type when their key
// goes), while XREAD keeps waiting. Inside MULTI, BLOCK answers a null array at once; a
// script is refused BLOCK outright, as in Redis.
//
// XREADGROUP changes the group (PEL, last ID, consumers) and reaches replicas as what it did:
// an XCLAIM per delivered entry (or, with NOACK, XGROUP SETID), and XGROUP CREATECONSUMER for
// a consumer NOACK created.
#include <string>
#include <vector>

#include "server/commands/streams_common.h"
#include "server/scripting/scripting.h"
#include "storage/numbers.h"
#include "server/server.h"

namespace rd::streams {
namespace {

constexpr int64_t kBlockedDefaultCount = 1000;

std::string_view c_string(std::string_view text) {
  const size_t nul = text.find('\0');
  return nul == std::string_view::npos ? text : text.substr(0, nul);
}

bool word_is(std::string_view arg, std::string_view word) { return equals_ignore_case(c_string(arg), word); }

struct ReadArgs {
  bool group_mode = false;  // XREADGROUP
  bool block = false;
  int64_t deadline_ms = 0;  // 0: forever
  int64_t count = 0;
  bool noack = false;
  bool has_group = false;
  std::string_view group;
  std::string_view consumer;
  size_t streams_arg = 0;
  size_t streams_count = 0;

  std::string_view key(const CommandContext& ctx, size_t i) const { return ctx.arg(streams_arg + i); }
  std::string_view id(const CommandContext& ctx, size_t i) const { return ctx.arg(streams_arg + streams_count + i); }
};

bool from_script(const CommandContext& ctx) {
  return ctx.server.scripting != nullptr && &ctx.client == &ctx.server.scripting->script_client();
}

// A BLOCK argument: milliseconds, 0 forever. Like Redis 7.0, a deadline past the int64 range
// never fires.
bool parse_block(CommandContext& ctx, std::string_view text, int64_t* deadline_ms) {
  int64_t ms = 0;
  if (!string_to_int64(text, &ms)) {
    ctx.reply.error("ERR timeout is not an integer or out of range");
    return false;
  }
  if (ms < 0) {
    ctx.reply.error("ERR timeout is negative");
    return false;
  }
  *deadline_ms = ms == 0 || ms > INT64_MAX - ctx.now_ms ? 0 : ctx.now_ms + ms;
  return true;
}

bool parse_read_args(CommandContext& ctx, bool group_mode, ReadArgs* a) {
  a->group_mode = group_mode;
  const size_t argc = ctx.argc();
  for (size_t i = 1; i < argc; i++) {
    const size_t more = argc - i - 1;
    std::string_view opt = ctx.arg(i);
    if (word_is(opt, "block") && more > 0) {
      if (from_script(ctx)) {
        std::string error = "ERR ";
        error.append(c_string(ctx.arg(0)));
        error += " command is not allowed with BLOCK option from scripts";
        ctx.reply.error(error);
        return false;
      }
      i++;
      if (!parse_block(ctx, ctx.arg(i), &a->deadline_ms)) return false;
      a->block = true;
    } else if (word_is(opt, "count") && more > 0) {
      i++;
      if (!parse_int_arg(ctx, ctx.arg(i), &a->count)) return false;
      if (a->count < 0) a->count = 0;
    } else if (word_is(opt, "streams") && more > 0) {
      a->streams_arg = i + 1;
      a->streams_count = argc - a->streams_arg;
      if (a->streams_count % 2 != 0) {
        // Redis 7.0 says XREAD and '$' for XREADGROUP too.
        ctx.reply.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
        return false;
      }
      a->streams_count /= 2;
      break;
    } else if (word_is(opt, "group") && more >= 2) {
      if (!group_mode) {
        ctx.reply.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      a->group = ctx.arg(i + 1);
      a->consumer = ctx.arg(i + 2);
      a->has_group = true;
      i += 2;
    } else if (word_is(opt, "noack")) {
      if (!group_mode) {
        ctx.reply.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      a->noack = true;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  if (a->streams_arg == 0) {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  if (group_mode && !a->has_group) {
    ctx.reply.error("ERR Missing GROUP option for XREADGROUP");
    return false;
  }
  return true;
}

// Entries after `start` delivered to `consumer` of `group` (Redis's streamReplyWithRange with
// a group): each one enters the PEL (unless NOACK) and is propagated as an XCLAIM; the group's
// last ID and read counter follow.
void reply_group_entries(CommandContext& ctx, std::string_view key, const ReadArgs& a, StreamValue& stream,
                         StreamGroup& group, StreamConsumer& consumer, StreamId start, size_t count) {
  const size_t header = ctx.reply.begin_deferred();
  size_t emitted = 0;
  bool propagate_last_id = false;
  StreamValue::Iterator it(stream, start, StreamId::max(), false);
  while (it.next()) {
    const StreamId id = it.id();
    if (id > group.last_id) {
      stream.group_delivered(group, id);
      if (a.noack) propagate_last_id = true;
    }
    reply_entry(ctx, it);
    if (!a.noack) {
      StreamPending& nack = group.assign_pending(id, &consumer);
      nack.delivery_time = ctx.now_ms;
      nack.delivery_count = 1;
      propagate_xclaim(ctx, key, a.group, group, id.str(), nack);
    }
    emitted++;
    if (count != 0 && emitted == count) break;
  }
  if (propagate_last_id) propagate_group_id(ctx, key, a.group, group);
  ctx.reply.end_deferred_array(header, emitted);
}

// A consumer's own pending entries after `start` (XREADGROUP with an ID other than ">"):
// entries since deleted come as [id, nil]; the others count one more delivery.
void reply_history(CommandContext& ctx, const StreamValue& stream, StreamConsumer& consumer, StreamId start,
                   size_t count) {
  const size_t header = ctx.reply.begin_deferred();
  size_t emitted = 0;
  for (auto it = consumer.pel.lower_bound(start); it != consumer.pel.end() && (count == 0 || emitted < count); ++it) {
    if (reply_single_entry(ctx, stream, it->first)) {
      it->second->delivery_time = ctx.now_ms;
      it->second->delivery_count++;
    } else {
      ctx.reply.array(2);
      reply_id(ctx, it->first);
      ctx.reply.null_array();
    }
    emitted++;
  }
  ctx.reply.end_deferred_array(header, emitted);
}

StreamConsumer& group_consumer(CommandContext& ctx, std::string_view key, const ReadArgs& a, StreamGroup& group) {
  bool created = false;
  StreamConsumer* consumer = lookup_or_create_consumer(ctx, key, group, a.consumer, &created);
  if (created && a.noack) propagate_consumer_creation(ctx, key, a.group, a.consumer);
  return *consumer;
}

void finish_propagation(CommandContext& ctx) {
  // Only what the group reads did is propagated, never the command itself.
  if (!ctx.has_rewrite()) ctx.no_propagate();
}

// A waiter re-run because `ctx.ready_key()` was signalled: serve it from that key alone, or
// keep it waiting.
void serve_blocked(CommandContext& ctx, const ReadArgs& a) {
  std::vector<std::string> keys;
  size_t index = a.streams_count;
  for (size_t i = 0; i < a.streams_count; i++) {
    keys.emplace_back(a.key(ctx, i));
    if (index == a.streams_count && a.key(ctx, i) == ctx.ready_key()) index = i;
  }
  KeyEntry* entry = index == a.streams_count ? nullptr : ctx.lookup_write(a.key(ctx, index));
  if (entry == nullptr || !entry->value.is(ValueType::kStream)) {
    // Redis 7.0: a group reader whose stream was deleted or replaced is told so.
    if (a.group_mode) return ctx.reply.error("UNBLOCKED the stream key no longer exists");
    return ctx.block(std::move(keys), 0, TimeoutReply::kNullArray);
  }
  std::string_view key = a.key(ctx, index);
  StreamValue& stream = entry->value.stream();
  StreamGroup* group = nullptr;
  StreamId gt;
  if (a.group_mode) {
    group = stream.find_group(a.group);
    if (group == nullptr) {
      return ctx.reply.error("NOGROUP the consumer group this client was blocked on no longer exists");
    }
    gt = group->last_id;
  } else if (!parse_stream_id(a.id(ctx, index), 0, true, nullptr, &gt)) {
    gt = StreamId{};
  }
  if (!(stream.last_id() > gt)) return ctx.block(std::move(keys), 0, TimeoutReply::kNullArray);
  StreamId start = gt;
  start.increment();
  const auto count = static_cast<size_t>(a.count != 0 ? a.count : kBlockedDefaultCount);
  if (ctx.reply.protocol() == 2) {
    ctx.reply.array(1);
    ctx.reply.array(2);
  } else {
    ctx.reply.map(1);
  }
  ctx.reply.bulk(key);
  if (group != nullptr) {
    StreamConsumer& consumer = group_consumer(ctx, key, a, *group);
    reply_group_entries(ctx, key, a, stream, *group, consumer, start, count);
    ctx.add_dirty(1);
    finish_propagation(ctx);
  } else {
    reply_range(ctx, stream, start, StreamId::max(), count, false);
  }
}

void read_generic(CommandContext& ctx, bool group_mode) {
  ReadArgs a;
  if (!parse_read_args(ctx, group_mode, &a)) return;
  if (ctx.retrying_blocked()) return serve_blocked(ctx, a);
  const size_t n = a.streams_count;
  std::vector<StreamId> ids(n);
  std::vector<StreamGroup*> groups(n, nullptr);
  bool resolved_dollar = false;
  for (size_t i = 0; i < n; i++) {
    std::string_view key = a.key(ctx, i);
    KeyEntry* entry = ctx.lookup_read(key);
    if (entry != nullptr && !ctx.check_type(entry, ValueType::kStream)) return;
    StreamValue* stream = entry == nullptr ? nullptr : &entry->value.stream();
    if (group_mode) {
      groups[i] = stream == nullptr ? nullptr : stream->find_group(a.group);
      if (groups[i] == nullptr) {
        std::string error = "NOGROUP No such key '";
        error.append(key);
        error += "' or consumer group '";
        error.append(a.group);
        error += "' in XREADGROUP with GROUP option";
        return ctx.reply.error(error);
      }
    }
    std::string_view id_arg = c_string(a.id(ctx, i));
    if (id_arg == "$") {
      if (group_mode) {
        return ctx.reply.error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
            "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return "
            "an empty result set.");
      }
      ids[i] = stream == nullptr ? StreamId{} : stream->last_id();
      resolved_dollar = true;
      continue;
    }
    if (id_arg == ">") {
      if (!group_mode) {
        return ctx.reply.error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> "
            "option.");
      }
      ids[i] = StreamId::max();
      continue;
    }
    if (!parse_strict_id(ctx, a.id(ctx, i), 0, &ids[i])) return;
  }

  size_t served = 0;
  size_t header = 0;
  for (size_t i = 0; i < n; i++) {
    std::string_view key = a.key(ctx, i);
    KeyEntry* entry = ctx.lookup_read(key);
    if (entry == nullptr) continue;
    StreamValue& stream = entry->value.stream();
    StreamId gt = ids[i];
    bool serve = false;
    bool history = false;
    if (group_mode) {
      if (gt != StreamId::max()) {
        serve = history = true;
      } else if (stream.length() > 0 && stream.edge_id(false, true) > groups[i]->last_id) {
        serve = true;
        gt = groups[i]->last_id;
      }
    } else if (stream.length() > 0 && stream.edge_id(false, true) > gt) {
      serve = true;
    }
    if (!serve) continue;
    if (served++ == 0) header = ctx.reply.begin_deferred();
    StreamId start = gt;
    start.increment();
    if (ctx.reply.protocol() == 2) ctx.reply.array(2);
    ctx.reply.bulk(key);
    const auto count = static_cast<size_t>(a.count);
    if (group_mode) {
      StreamConsumer& consumer = group_consumer(ctx, key, a, *groups[i]);
      if (history) {
        reply_history(ctx, stream, consumer, start, count);
      } else {
        reply_group_entries(ctx, key, a, stream, *groups[i], consumer, start, count);
      }
      ctx.add_dirty(1);
    } else {
      reply_range(ctx, stream, start, StreamId::max(), count, false);
    }
  }
  if (group_mode) finish_propagation(ctx);
  if (served > 0) {
    if (ctx.reply.protocol() == 2) {
      ctx.reply.end_deferred_array(header, served);
    } else {
      ctx.reply.end_deferred_map(header, served);
    }
    return;
  }
  if (!a.block || !ctx.may_block()) return ctx.reply.null_array();
  std::vector<std::string> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; i++) keys.emplace_back(a.key(ctx, i));
  if (resolved_dollar) {
    // The waiter must read from the IDs "$" meant now, not from the stream's last ID later.
    std::vector<std::string> args(ctx.argv.begin(), ctx.argv.end());
    for (size_t i = 0; i < n; i++) {
      if (c_string(a.id(ctx, i)) == "$") args[a.streams_arg + n + i] = ids[i].str();
    }
    ctx.set_block_args(std::move(args));
  }
  if (group_mode) ctx.set_block_vanish_type(ValueType::kStream);
  ctx.block(std::move(keys), a.deadline_ms, TimeoutReply::kNullArray);
}

void cmd_xread(CommandContext& ctx) { read_generic(ctx, false); }
void cmd_xreadgroup(CommandContext& ctx) { read_generic(ctx, true); }

}  // namespace

void register_read_commands(CommandTable& table) {
  // XREAD is read-only, but blocking needs the exclusive lock (the dispatcher registers
  // waiters only there), like every other blocking command.
  table.add("xread", cmd_xread, LockMode::kExclusive);
  table.add("xreadgroup", cmd_xreadgroup);
}

}  // namespace rd::streams
