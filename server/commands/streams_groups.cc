// Consumer groups: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK,
// XPENDING, XCLAIM and XAUTOCLAIM.
//
// As in Redis 7.0, claims reach replicas as one idempotent "XCLAIM key group consumer 0 id TIME
// t RETRYCOUNT n FORCE JUSTID LASTID id" per entry (several wrapped in MULTI/EXEC); a claim
// of an entry deleted from the stream drops it from the PEL and is propagated the same way.
// The group commands count as changes (dirty) without touching WATCHed keys, except when
// MKSTREAM creates the key.
#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "server/commands/streams_common.h"
#include "server/server.h"

namespace rd::streams {
namespace {

std::string_view c_string(std::string_view text) {
  const size_t nul = text.find('\0');
  return nul == std::string_view::npos ? text : text.substr(0, nul);
}

bool word_is(std::string_view arg, std::string_view word) { return equals_ignore_case(c_string(arg), word); }

void subcommand_syntax_error(CommandContext& ctx) {
  std::string command(ctx.arg(0));
  for (char& c : command) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string error = "ERR unknown subcommand or wrong number of arguments for '";
  error.append(ctx.arg(1).substr(0, 128));
  error += "'. Try " + command + " HELP.";
  ctx.reply.error(error);
}

std::string no_key_or_group(std::string_view key, std::string_view group) {
  std::string error = "NOGROUP No such key '";
  error.append(key);
  error += "' or consumer group '";
  error.append(group);
  error += "'";
  return error;
}

// ---- XGROUP ----

// The common part of XGROUP's subcommands (Redis's xgroupCommand): options, key and group.
struct GroupTarget {
  StreamValue* stream = nullptr;
  StreamGroup* group = nullptr;
  bool mkstream = false;
  int64_t entries_read = kStreamEntriesReadInvalid;
};

bool resolve_target(CommandContext& ctx, GroupTarget* t) {
  std::string_view sub = c_string(ctx.arg(1));
  const bool create = equals_ignore_case(sub, "create");
  const bool setid = equals_ignore_case(sub, "setid");
  if (create || setid) {
    size_t i = 5;
    while (i < ctx.argc()) {
      if (create && word_is(ctx.arg(i), "mkstream")) {
        t->mkstream = true;
        i++;
      } else if (word_is(ctx.arg(i), "entriesread") && i + 1 < ctx.argc()) {
        if (!parse_int_arg(ctx, ctx.arg(i + 1), &t->entries_read)) return false;
        if (t->entries_read < 0 && t->entries_read != kStreamEntriesReadInvalid) {
          ctx.reply.error("ERR value for ENTRIESREAD must be positive or -1");
          return false;
        }
        i += 2;
      } else {
        subcommand_syntax_error(ctx);
        return false;
      }
    }
  }
  std::string_view key = ctx.arg(2);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr) {
    if (!ctx.check_type(entry, ValueType::kStream)) return false;
    t->stream = &entry->value.stream();
  }
  if (t->mkstream) return true;
  if (t->stream == nullptr) {
    ctx.reply.error(
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the "
        "MKSTREAM option to create an empty stream automatically.");
    return false;
  }
  t->group = t->stream->find_group(ctx.arg(3));
  if (t->group == nullptr && !create && !equals_ignore_case(sub, "destroy")) {
    ctx.reply.error(no_group_error(key, ctx.arg(3)));
    return false;
  }
  return true;
}

void cmd_xgroup_create(CommandContext& ctx) {
  GroupTarget t;
  if (!resolve_target(ctx, &t)) return;
  if (ctx.argc() > 8) return subcommand_syntax_error(ctx);
  std::string_view key = ctx.arg(2);
  StreamId id;
  if (ctx.arg(4) == "$") {
    if (t.stream != nullptr) id = t.stream->last_id();
  } else if (!parse_strict_id(ctx, ctx.arg(4), 0, &id)) {
    return;
  }
  if (t.stream == nullptr) {
    KeyEntry* entry = ctx.db().add(key, Value(std::make_unique<StreamValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
    t.stream = &entry->value.stream();
    ctx.key_signalled(ctx.db_index(), key);  // Redis signals the key; dirty counts once, below
  }
  if (t.stream->add_group(ctx.arg(3), id, t.entries_read) == nullptr) {
    return ctx.reply.error("BUSYGROUP Consumer Group name already exists");
  }
  ctx.reply.ok();
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-create", key);
}

void cmd_xgroup_setid(CommandContext& ctx) {
  GroupTarget t;
  if (!resolve_target(ctx, &t)) return;
  if (ctx.argc() != 5 && ctx.argc() != 7) return subcommand_syntax_error(ctx);
  StreamId id;
  if (ctx.arg(4) == "$") {
    id = t.stream->last_id();
  } else if (!parse_id(ctx, ctx.arg(4), 0, &id)) {
    return;
  }
  t.group->last_id = id;
  t.group->entries_read = t.entries_read;
  ctx.reply.ok();
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-setid", ctx.arg(2));
}

void cmd_xgroup_destroy(CommandContext& ctx) {
  GroupTarget t;
  if (!resolve_target(ctx, &t)) return;
  if (t.group == nullptr) return ctx.reply.integer(0);
  t.stream->delete_group(ctx.arg(3));
  ctx.reply.integer(1);
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-destroy", ctx.arg(2));
  ctx.signal_ready(ctx.arg(2));  // XREADGROUP clients blocked on it get -NOGROUP
}

void cmd_xgroup_createconsumer(CommandContext& ctx) {
  GroupTarget t;
  if (!resolve_target(ctx, &t)) return;
  if (t.group->add_consumer(ctx.arg(4), ctx.now_ms) == nullptr) return ctx.reply.integer(0);
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-createconsumer", ctx.arg(2));
  ctx.reply.integer(1);
}

void cmd_xgroup_delconsumer(CommandContext& ctx) {
  GroupTarget t;
  if (!resolve_target(ctx, &t)) return;
  if (t.group->find_consumer(ctx.arg(4)) == nullptr) return ctx.reply.integer(0);
  const size_t pending = t.group->delete_consumer(ctx.arg(4));
  ctx.reply.integer(static_cast<int64_t>(pending));
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-delconsumer", ctx.arg(2));
}

void cmd_xgroup_help(CommandContext& ctx) { ctx.reply.raw(help_reply("xgroup")); }

// ---- XACK ----

void cmd_xack(CommandContext& ctx) {
  bool wrong_type = false;
  StreamValue* stream = read_stream(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  StreamGroup* group = stream == nullptr ? nullptr : stream->find_group(ctx.arg(2));
  if (group == nullptr) return ctx.reply.integer(0);
  std::vector<StreamId> ids(ctx.argc() - 3);
  for (size_t j = 3; j < ctx.argc(); j++) {
    if (!parse_strict_id(ctx, ctx.arg(j), 0, &ids[j - 3])) return;
  }
  int64_t acknowledged = 0;
  for (StreamId id : ids) {
    if (group->remove_pending(id)) acknowledged++;
  }
  ctx.add_dirty(acknowledged);
  ctx.reply.integer(acknowledged);
}

// ---- XPENDING ----

void cmd_xpending(CommandContext& ctx) {
  const size_t argc = ctx.argc();
  const bool summary = argc == 3;
  if (argc != 3 && (argc < 6 || argc > 9)) return ctx.reply.error(kSyntaxError);
  StreamId start, end;
  int64_t count = 0;
  int64_t min_idle = 0;
  std::string_view consumer_name;
  bool has_consumer = false;
  if (argc >= 6) {
    size_t at = 3;
    if (word_is(ctx.arg(3), "idle")) {
      if (!parse_int_arg(ctx, ctx.arg(4), &min_idle)) return;
      if (argc < 8) return ctx.reply.error(kSyntaxError);
      at += 2;
    }
    if (!parse_int_arg(ctx, ctx.arg(at + 2), &count)) return;
    if (count < 0) count = 0;
    bool start_ex = false, end_ex = false;
    if (!parse_interval_id(ctx, ctx.arg(at), 0, &start, &start_ex)) return;
    if (start_ex && !start.increment()) return ctx.reply.error("ERR invalid start ID for the interval");
    if (!parse_interval_id(ctx, ctx.arg(at + 1), UINT64_MAX, &end, &end_ex)) return;
    if (end_ex && !end.decrement()) return ctx.reply.error("ERR invalid end ID for the interval");
    if (at + 3 < argc) {
      consumer_name = ctx.arg(at + 3);
      has_consumer = true;
    }
  }
  bool wrong_type = false;
  StreamValue* stream = read_stream(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  StreamGroup* group = stream == nullptr ? nullptr : stream->find_group(ctx.arg(2));
  if (group == nullptr) return ctx.reply.error(no_key_or_group(ctx.arg(1), ctx.arg(2)));

  if (summary) {
    ctx.reply.array(4);
    ctx.reply.integer(static_cast<int64_t>(group->pel.size()));
    if (group->pel.empty()) {
      ctx.reply.null();
      ctx.reply.null();
      ctx.reply.null_array();
      return;
    }
    reply_id(ctx, group->pel.begin()->first);
    reply_id(ctx, group->pel.rbegin()->first);
    size_t with_pending = 0;
    for (const auto& [name, consumer] : group->consumers) with_pending += consumer->pel.empty() ? 0 : 1;
    ctx.reply.array(with_pending);
    for (const auto& [name, consumer] : group->consumers) {
      if (consumer->pel.empty()) continue;
      ctx.reply.array(2);
      ctx.reply.bulk(name);
      ctx.reply.bulk_int(static_cast<int64_t>(consumer->pel.size()));
    }
    return;
  }

  StreamConsumer* consumer = nullptr;
  if (has_consumer) {
    consumer = group->find_consumer(consumer_name);
    if (consumer == nullptr) return ctx.reply.empty_array();
  }
  const size_t header = ctx.reply.begin_deferred();
  size_t emitted = 0;
  auto emit = [&](StreamId id, const StreamPending& nack) {
    if (min_idle != 0 && ctx.now_ms - nack.delivery_time < min_idle) return;
    emitted++;
    count--;
    ctx.reply.array(4);
    reply_id(ctx, id);
    ctx.reply.bulk(nack.consumer->name);
    ctx.reply.integer(std::max<int64_t>(0, ctx.now_ms - nack.delivery_time));
    ctx.reply.integer(static_cast<int64_t>(nack.delivery_count));
  };
  if (consumer != nullptr) {
    for (auto it = consumer->pel.lower_bound(start); count > 0 && it != consumer->pel.end() && it->first <= end;
         ++it) {
      emit(it->first, *it->second);
    }
  } else {
    for (auto it = group->pel.lower_bound(start); count > 0 && it != group->pel.end() && it->first <= end; ++it) {
      emit(it->first, it->second);
    }
  }
  ctx.reply.end_deferred_array(header, emitted);
}

// ---- XCLAIM ----

void cmd_xclaim(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  std::string_view group_name = ctx.arg(2);
  bool wrong_type = false;
  StreamValue* stream = read_stream(ctx, key, &wrong_type);
  if (wrong_type) return;
  StreamGroup* group = stream == nullptr ? nullptr : stream->find_group(group_name);
  if (group == nullptr) return ctx.reply.error(no_key_or_group(key, group_name));
  int64_t min_idle = 0;
  if (!parse_int_arg(ctx, ctx.arg(4), &min_idle, "ERR Invalid min-idle-time argument for XCLAIM")) return;
  if (min_idle < 0) min_idle = 0;
  std::vector<StreamId> ids;
  size_t j = 5;
  for (; j < ctx.argc(); j++) {
    StreamId id;
    if (!parse_stream_id(ctx.arg(j), 0, true, nullptr, &id)) break;
    ids.push_back(id);
  }
  const int64_t now = ctx.now_ms;
  int64_t retry_count = -1;
  int64_t delivery_time = -1;
  bool force = false;
  bool justid = false;
  StreamId last_id;
  for (; j < ctx.argc(); j++) {
    const bool more = j + 1 < ctx.argc();
    std::string_view opt = ctx.arg(j);
    if (word_is(opt, "force")) {
      force = true;
    } else if (word_is(opt, "justid")) {
      justid = true;
    } else if (word_is(opt, "idle") && more) {
      if (!parse_int_arg(ctx, ctx.arg(++j), &delivery_time, "ERR Invalid IDLE option argument for XCLAIM")) return;
      delivery_time = now - delivery_time;
    } else if (word_is(opt, "time") && more) {
      if (!parse_int_arg(ctx, ctx.arg(++j), &delivery_time, "ERR Invalid TIME option argument for XCLAIM")) return;
    } else if (word_is(opt, "retrycount") && more) {
      if (!parse_int_arg(ctx, ctx.arg(++j), &retry_count, "ERR Invalid RETRYCOUNT option argument for XCLAIM")) {
        return;
      }
    } else if (word_is(opt, "lastid") && more) {
      if (!parse_strict_id(ctx, ctx.arg(++j), 0, &last_id)) return;
    } else {
      std::string error = "ERR Unrecognized XCLAIM option '";
      error.append(c_string(opt));
      error += "'";
      return ctx.reply.error(error);
    }
  }
  bool propagate_last_id = false;
  if (last_id > group->last_id) {
    group->last_id = last_id;
    propagate_last_id = true;
  }
  if (delivery_time != -1) {
    if (delivery_time < 0 || delivery_time > now) delivery_time = now;
  } else {
    delivery_time = now;
  }
  StreamConsumer* consumer = nullptr;
  const size_t header = ctx.reply.begin_deferred();
  size_t emitted = 0;
  for (size_t i = 0; i < ids.size(); i++) {
    const StreamId id = ids[i];
    std::string_view id_arg = ctx.arg(5 + i);
    auto found = group->pel.find(id);
    if (!stream->contains(id)) {
      if (found != group->pel.end()) {
        // The entry is gone: drop it from the PEL, and make replicas do the same.
        propagate_xclaim(ctx, key, group_name, *group, id_arg, found->second);
        propagate_last_id = false;
        ctx.add_dirty(1);
        group->remove_pending(id);
      }
      continue;
    }
    StreamPending* nack = found == group->pel.end() ? nullptr : &found->second;
    bool created = false;
    if (force && nack == nullptr) {
      nack = &group->pel[id];  // no consumer yet; a new NACK counts one delivery
      nack->delivery_time = now;
      nack->delivery_count = 1;
      created = true;
    }
    if (nack == nullptr) continue;
    if (!created && nack->consumer != nullptr && min_idle != 0 && now - nack->delivery_time < min_idle) continue;
    if (consumer == nullptr) consumer = lookup_or_create_consumer(ctx, key, *group, ctx.arg(3));
    nack->delivery_time = delivery_time;
    if (retry_count >= 0) {
      nack->delivery_count = static_cast<uint64_t>(retry_count);
    } else if (!justid) {
      nack->delivery_count++;
    }
    if (nack->consumer != consumer) group->assign_pending(id, consumer);
    if (justid) {
      reply_id(ctx, id);
    } else if (!reply_single_entry(ctx, *stream, id)) {
      ctx.reply.null();
    }
    emitted++;
    propagate_xclaim(ctx, key, group_name, *group, id_arg, *nack);
    propagate_last_id = false;
    ctx.add_dirty(1);
  }
  if (propagate_last_id) {
    propagate_group_id(ctx, key, group_name, *group);
    ctx.add_dirty(1);
  }
  ctx.reply.end_deferred_array(header, emitted);
  if (!ctx.has_rewrite()) ctx.no_propagate();
}

// ---- XAUTOCLAIM ----

void cmd_xautoclaim(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  std::string_view group_name = ctx.arg(2);
  constexpr int64_t kAttemptsFactor = 10;
  int64_t min_idle = 0;
  if (!parse_int_arg(ctx, ctx.arg(4), &min_idle, "ERR Invalid min-idle-time argument for XAUTOCLAIM")) return;
  if (min_idle < 0) min_idle = 0;
  StreamId start;
  bool start_ex = false;
  if (!parse_interval_id(ctx, ctx.arg(5), 0, &start, &start_ex)) return;
  if (start_ex && !start.increment()) return ctx.reply.error("ERR invalid start ID for the interval");
  int64_t count = 100;
  bool justid = false;
  for (size_t j = 6; j < ctx.argc(); j++) {
    const bool more = j + 1 < ctx.argc();
    if (word_is(ctx.arg(j), "count") && more) {
      constexpr std::string_view kCountError = "ERR COUNT must be > 0";
      if (!parse_int_arg(ctx, ctx.arg(j + 1), &count, kCountError)) return;
      if (count < 1 || count > LONG_MAX / static_cast<int64_t>(sizeof(StreamId))) return ctx.reply.error(kCountError);
      j++;
    } else if (word_is(ctx.arg(j), "justid")) {
      justid = true;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  bool wrong_type = false;
  StreamValue* stream = read_stream(ctx, key, &wrong_type);
  if (wrong_type) return;
  StreamGroup* group = stream == nullptr ? nullptr : stream->find_group(group_name);
  if (group == nullptr) return ctx.reply.error(no_key_or_group(key, group_name));
  // Redis allocates COUNT stream IDs up front; past the address space that fails.
  if (count > (int64_t{1} << 47) / static_cast<int64_t>(sizeof(StreamId))) {
    return ctx.reply.error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
  }

  int64_t attempts = count * kAttemptsFactor;
  const int64_t now = ctx.now_ms;
  StreamConsumer* consumer = nullptr;
  std::vector<StreamId> deleted;
  ctx.reply.array(3);
  // The cursor comes first in the reply but is known last: build the entries aside.
  std::string entries;
  Reply entries_reply(&entries, ctx.reply.protocol());
  size_t emitted = 0;
  auto it = group->pel.lower_bound(start);
  while (attempts-- > 0 && count > 0 && it != group->pel.end()) {
    const StreamId id = it->first;
    StreamPending& nack = it->second;
    if (!stream->contains(id)) {
      propagate_xclaim(ctx, key, group_name, *group, id.str(), nack);
      ctx.add_dirty(1);
      ++it;
      group->remove_pending(id);
      deleted.push_back(id);
      count--;
      continue;
    }
    if (min_idle != 0 && now - nack.delivery_time < min_idle) {
      ++it;
      continue;
    }
    if (consumer == nullptr) consumer = lookup_or_create_consumer(ctx, key, *group, ctx.arg(3));
    nack.delivery_time = now;
    if (!justid) nack.delivery_count++;
    if (nack.consumer != consumer) group->assign_pending(id, consumer);
    if (justid) {
      entries_reply.bulk(id.str());
    } else {
      StreamValue::Iterator entry(*stream, id, id, false);
      entry.next();
      entries_reply.array(2);
      entries_reply.bulk(id.str());
      const std::vector<StreamField>& fields = entry.fields();
      entries_reply.array(fields.size() * 2);
      for (const StreamField& f : fields) {
        entries_reply.bulk(f.field);
        entries_reply.bulk(f.value);
      }
    }
    emitted++;
    count--;
    propagate_xclaim(ctx, key, group_name, *group, id.str(), nack);
    ctx.add_dirty(1);
    ++it;
  }
  reply_id(ctx, it == group->pel.end() ? StreamId{} : it->first);
  ctx.reply.array(emitted);
  ctx.reply.raw(entries);
  ctx.reply.array(deleted.size());
  for (StreamId id : deleted) reply_id(ctx, id);
  if (!ctx.has_rewrite()) ctx.no_propagate();
}

}  // namespace

void register_group_commands(CommandTable& table) {
  table.add("xgroup|create", cmd_xgroup_create);
  table.add("xgroup|setid", cmd_xgroup_setid);
  table.add("xgroup|destroy", cmd_xgroup_destroy);
  table.add("xgroup|createconsumer", cmd_xgroup_createconsumer);
  table.add("xgroup|delconsumer", cmd_xgroup_delconsumer);
  table.add("xgroup|help", cmd_xgroup_help);
  table.add("xack", cmd_xack);
  table.add("xpending", cmd_xpending);
  table.add("xclaim", cmd_xclaim);
  table.add("xautoclaim", cmd_xautoclaim);
}

}  // namespace rd::streams
