// Stream commands on entries: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, and XINFO.
// Consumer groups are in streams_groups.cc, XREAD/XREADGROUP in streams_read.cc.
//
// Replies, errors and propagation follow Redis 7.0: XADD reaches replicas with the ID it
// generated ("*" and "<ms>-*" replaced), and approximate trims ("~", LIMIT) are rewritten as
// the exact trim they did ("=" and the resulting length, or the first remaining ID), so that
// a replica or the AOF ends with the same entries.
#include <memory>
#include <string>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/streams_common.h"
#include "server/config.h"
#include "server/server.h"

namespace rd {
namespace streams {

// ---- shared helpers ----

bool parse_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out) {
  if (parse_stream_id(text, missing_seq, false, nullptr, out)) return true;
  ctx.reply.error(kInvalidIdError);
  return false;
}

bool parse_strict_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out,
                     bool* seq_given) {
  if (parse_stream_id(text, missing_seq, true, seq_given, out)) return true;
  ctx.reply.error(kInvalidIdError);
  return false;
}

bool parse_interval_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out,
                       bool* exclusive) {
  *exclusive = text.size() > 1 && text[0] == '(';
  if (*exclusive) return parse_strict_id(ctx, text.substr(1), missing_seq, out);
  return parse_id(ctx, text, missing_seq, out);
}

void reply_entry(CommandContext& ctx, StreamValue::Iterator& it) {
  ctx.reply.array(2);
  reply_id(ctx, it.id());
  const std::vector<StreamField>& fields = it.fields();
  ctx.reply.array(fields.size() * 2);
  for (const StreamField& f : fields) {
    ctx.reply.bulk(f.field);
    ctx.reply.bulk(f.value);
  }
}

bool reply_single_entry(CommandContext& ctx, const StreamValue& stream, StreamId id) {
  StreamValue::Iterator it(stream, id, id, false);
  if (!it.next()) return false;
  reply_entry(ctx, it);
  return true;
}

size_t reply_range(CommandContext& ctx, const StreamValue& stream, StreamId start, StreamId end, size_t count,
                   bool reverse) {
  const size_t header = ctx.reply.begin_deferred();
  size_t emitted = 0;
  StreamValue::Iterator it(stream, start, end, reverse);
  while ((count == 0 || emitted < count) && it.next()) {
    reply_entry(ctx, it);
    emitted++;
  }
  ctx.reply.end_deferred_array(header, emitted);
  return emitted;
}

StreamValue* read_stream(CommandContext& ctx, std::string_view key, bool* wrong_type) {
  *wrong_type = false;
  KeyEntry* entry = ctx.lookup_read(key);
  if (entry == nullptr) return nullptr;
  if (!ctx.check_type(entry, ValueType::kStream)) {
    *wrong_type = true;
    return nullptr;
  }
  return &entry->value.stream();
}

StreamNodeLimits node_limits(CommandContext& ctx) {
  StreamNodeLimits limits;
  limits.max_bytes = ctx.server.config.get_int("stream-node-max-bytes");
  limits.max_entries = ctx.server.config.get_int("stream-node-max-entries");
  return limits;
}

std::string no_group_error(std::string_view key, std::string_view group) {
  std::string error = "NOGROUP No such consumer group '";
  error.append(group);
  error += "' for key name '";
  error.append(key);
  error += "'";
  return error;
}

void propagate_xclaim(CommandContext& ctx, std::string_view key, std::string_view group_name,
                      const StreamGroup& group, std::string_view id_arg, const StreamPending& nack) {
  ctx.propagate_as({"XCLAIM", std::string(key), std::string(group_name), nack.consumer->name, "0",
                    std::string(id_arg), "TIME", std::to_string(nack.delivery_time), "RETRYCOUNT",
                    std::to_string(nack.delivery_count), "FORCE", "JUSTID", "LASTID", group.last_id.str()});
}

void propagate_group_id(CommandContext& ctx, std::string_view key, std::string_view group_name,
                        const StreamGroup& group) {
  ctx.propagate_as({"XGROUP", "SETID", std::string(key), std::string(group_name), group.last_id.str(),
                    "ENTRIESREAD", std::to_string(group.entries_read)});
}

void propagate_consumer_creation(CommandContext& ctx, std::string_view key, std::string_view group_name,
                                 std::string_view consumer) {
  ctx.propagate_as({"XGROUP", "CREATECONSUMER", std::string(key), std::string(group_name), std::string(consumer)});
}

StreamConsumer* lookup_or_create_consumer(CommandContext& ctx, std::string_view key, StreamGroup& group,
                                          std::string_view name, bool* created) {
  if (created != nullptr) *created = false;
  StreamConsumer* consumer = group.find_consumer(name);
  if (consumer != nullptr) {
    consumer->seen_time = ctx.now_ms;
    return consumer;
  }
  consumer = group.add_consumer(name, ctx.now_ms);
  ctx.add_dirty(1);
  ctx.notify(NotifyClass::kStream, "xgroup-createconsumer", key);
  if (created != nullptr) *created = true;
  return consumer;
}

}  // namespace streams

namespace {

using streams::parse_strict_id;
using streams::reply_id;

// Redis compares option words as C strings: an argument is cut at its first NUL byte.
std::string_view c_string(std::string_view text) {
  const size_t nul = text.find('\0');
  return nul == std::string_view::npos ? text : text.substr(0, nul);
}

bool word_is(std::string_view arg, std::string_view word) { return equals_ignore_case(c_string(arg), word); }

// ---- XADD / XTRIM arguments ----

struct AddTrimArgs {
  StreamTrimArgs trim;
  size_t trim_arg = 0;  // position of the MAXLEN/MINID value
  bool id_given = false;
  bool seq_given = true;
  StreamId id;
  bool no_mkstream = false;
  size_t id_pos = 0;  // XADD: position of the ID ("*" included)
};

// Redis 7.0's streamParseAddOrTrimArgsOrReply. False after replying an error.
bool parse_add_or_trim(CommandContext& ctx, bool xadd, AddTrimArgs* out) {
  using Strategy = StreamTrimArgs::Strategy;
  StreamTrimArgs& trim = out->trim;
  bool limit_given = false;
  size_t i = 2;
  const size_t argc = ctx.argc();
  for (; i < argc; i++) {
    const size_t more = argc - 1 - i;
    std::string_view opt = c_string(ctx.arg(i));
    if (xadd && opt == "*") break;
    if (equals_ignore_case(opt, "maxlen") && more > 0) {
      if (trim.strategy != Strategy::kNone) {
        ctx.reply.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return false;
      }
      trim.approx = false;
      std::string_view next = c_string(ctx.arg(i + 1));
      if (more >= 2 && next == "~") {
        trim.approx = true;
        i++;
      } else if (more >= 2 && next == "=") {
        i++;
      }
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &trim.maxlen)) return false;
      if (trim.maxlen < 0) {
        ctx.reply.error("ERR The MAXLEN argument must be >= 0.");
        return false;
      }
      i++;
      trim.strategy = Strategy::kMaxLen;
      out->trim_arg = i;
    } else if (equals_ignore_case(opt, "minid") && more > 0) {
      if (trim.strategy != Strategy::kNone) {
        ctx.reply.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return false;
      }
      trim.approx = false;
      std::string_view next = c_string(ctx.arg(i + 1));
      if (more >= 2 && next == "~") {
        trim.approx = true;
        i++;
      } else if (more >= 2 && next == "=") {
        i++;
      }
      if (!parse_strict_id(ctx, ctx.arg(i + 1), 0, &trim.minid)) return false;
      i++;
      trim.strategy = Strategy::kMinId;
      out->trim_arg = i;
    } else if (equals_ignore_case(opt, "limit") && more > 0) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &trim.limit)) return false;
      if (trim.limit < 0) {
        ctx.reply.error("ERR The LIMIT argument must be >= 0.");
        return false;
      }
      limit_given = true;
      i++;
    } else if (xadd && equals_ignore_case(opt, "nomkstream")) {
      out->no_mkstream = true;
    } else if (xadd) {
      if (!parse_strict_id(ctx, ctx.arg(i), 0, &out->id, &out->seq_given)) return false;
      out->id_given = true;
      break;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  out->id_pos = i;
  if (trim.limit != 0 && trim.strategy == Strategy::kNone) {
    ctx.reply.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return false;
  }
  if (!xadd && trim.strategy == Strategy::kNone) {
    ctx.reply.error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return false;
  }
  if (ctx.client.has_flag(kClientMaster)) {
    trim.limit = 0;  // the master (or the AOF) rewrote the trim as an exact one
  } else if (limit_given) {
    if (!trim.approx) {
      ctx.reply.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return false;
    }
  } else if (trim.approx) {
    const int64_t entries = ctx.server.config.get_int("stream-node-max-entries");
    trim.limit = entries > 0 && entries <= 10000 ? 100 * entries : 10000;
  } else {
    trim.limit = 0;
  }
  return true;
}

// An approximate trim is propagated as the exact one it amounted to: "~" becomes "=" and the
// threshold the resulting length (MAXLEN) or first ID, tombstones included (MINID).
void rewrite_trim(const AddTrimArgs& args, const StreamValue& stream, std::vector<std::string>* argv) {
  std::string threshold = args.trim.strategy == StreamTrimArgs::Strategy::kMaxLen
                              ? std::to_string(stream.length())
                              : stream.edge_id(true, false).str();
  (*argv)[args.trim_arg - 1].assign(1, '=');
  (*argv)[args.trim_arg].swap(threshold);
}

std::vector<std::string> owned_args(const CommandContext& ctx) {
  return std::vector<std::string>(ctx.argv.begin(), ctx.argv.end());
}

// ---- XADD ----

void cmd_xadd(CommandContext& ctx) {
  AddTrimArgs args;
  if (!parse_add_or_trim(ctx, true, &args)) return;
  const auto argc = static_cast<int64_t>(ctx.argc());
  const auto field_pos = static_cast<int64_t>(args.id_pos) + 1;
  if (argc - field_pos < 2 || (argc - field_pos) % 2 == 1) {
    return ctx.reply.error("ERR wrong number of arguments for 'xadd' command");
  }
  if (args.id_given && args.seq_given && args.id.is_zero()) {
    return ctx.reply.error("ERR The ID specified in XADD must be greater than 0-0");
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kStream)) return;
  if (entry == nullptr) {
    if (args.no_mkstream) return ctx.reply.null();
    entry = ctx.db().add(key, Value(std::make_unique<StreamValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
  }
  StreamValue& stream = entry->value.stream();
  if (stream.last_id() == StreamId::max()) {
    return ctx.reply.error("ERR The stream has exhausted the last possible ID, unable to add more items");
  }
  constexpr std::string_view kTooSmall =
      "ERR The ID specified in XADD is equal or smaller than the target stream top item";
  StreamId id;
  if (!args.id_given) {
    stream.next_id(static_cast<uint64_t>(ctx.now_ms), &id);
  } else if (args.seq_given) {
    id = args.id;
  } else if (stream.last_id().ms == args.id.ms) {
    if (stream.last_id().seq == UINT64_MAX) return ctx.reply.error(kTooSmall);
    id = stream.last_id();
    id.seq++;
  } else {
    id = args.id;
  }
  if (id <= stream.last_id()) return ctx.reply.error(kTooSmall);
  const size_t pairs = static_cast<size_t>((argc - field_pos) / 2);
  const std::string_view* fields = ctx.argv.data() + field_pos;
  size_t total = 0;
  for (size_t i = 0; i < pairs * 2; i++) total += fields[i].size();
  if (total > (size_t{1} << 30)) return ctx.reply.error("ERR Elements are too large to be stored");
  stream.append(id, fields, pairs, streams::node_limits(ctx));
  reply_id(ctx, id);
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kStream, "xadd", key);

  std::vector<std::string> rewritten;
  if (args.trim.strategy != StreamTrimArgs::Strategy::kNone) {
    if (stream.trim(args.trim) > 0) ctx.notify(NotifyClass::kStream, "xtrim", key);
    if (args.trim.approx) {
      rewritten = owned_args(ctx);
      rewrite_trim(args, stream, &rewritten);
    }
  }
  if (!args.id_given || !args.seq_given) {
    if (rewritten.empty()) rewritten = owned_args(ctx);
    rewritten[args.id_pos] = id.str();
  }
  if (!rewritten.empty()) ctx.propagate_as(std::move(rewritten));
  ctx.signal_ready(key);
}

// ---- XTRIM ----

void cmd_xtrim(CommandContext& ctx) {
  AddTrimArgs args;
  if (!parse_add_or_trim(ctx, false, &args)) return;
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kStream)) return;
  StreamValue& stream = entry->value.stream();
  const int64_t deleted = stream.trim(args.trim);
  if (deleted > 0) {
    ctx.notify(NotifyClass::kStream, "xtrim", key);
    if (args.trim.approx) {
      std::vector<std::string> rewritten = owned_args(ctx);
      rewrite_trim(args, stream, &rewritten);
      ctx.propagate_as(std::move(rewritten));
    }
    ctx.key_modified(key);
    ctx.add_dirty(deleted - 1);
  }
  ctx.reply.integer(deleted);
}

// ---- XLEN / XRANGE / XREVRANGE ----

void cmd_xlen(CommandContext& ctx) {
  bool wrong_type = false;
  StreamValue* stream = streams::read_stream(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  ctx.reply.integer(stream == nullptr ? 0 : static_cast<int64_t>(stream->length()));
}

void range_generic(CommandContext& ctx, bool reverse) {
  std::string_view start_arg = reverse ? ctx.arg(3) : ctx.arg(2);
  std::string_view end_arg = reverse ? ctx.arg(2) : ctx.arg(3);
  StreamId start, end;
  bool start_ex = false, end_ex = false;
  if (!streams::parse_interval_id(ctx, start_arg, 0, &start, &start_ex)) return;
  if (start_ex && !start.increment()) return ctx.reply.error("ERR invalid start ID for the interval");
  if (!streams::parse_interval_id(ctx, end_arg, UINT64_MAX, &end, &end_ex)) return;
  if (end_ex && !end.decrement()) return ctx.reply.error("ERR invalid end ID for the interval");
  int64_t count = -1;
  for (size_t j = 4; j < ctx.argc(); j++) {
    if (equals_ignore_case(c_string(ctx.arg(j)), "count") && j + 1 < ctx.argc()) {
      if (!parse_int_arg(ctx, ctx.arg(j + 1), &count)) return;
      if (count < 0) count = 0;
      j++;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  bool wrong_type = false;
  StreamValue* stream = streams::read_stream(ctx, ctx.arg(1), &wrong_type);
  if (wrong_type) return;
  if (stream == nullptr) return ctx.reply.empty_array();
  if (count == 0) return ctx.reply.null_array();
  streams::reply_range(ctx, *stream, start, end, count == -1 ? 0 : static_cast<size_t>(count), reverse);
}

void cmd_xrange(CommandContext& ctx) { range_generic(ctx, false); }
void cmd_xrevrange(CommandContext& ctx) { range_generic(ctx, true); }

// ---- XDEL ----

void cmd_xdel(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kStream)) return;
  StreamValue& stream = entry->value.stream();
  std::vector<StreamId> ids(ctx.argc() - 2);
  for (size_t j = 2; j < ctx.argc(); j++) {
    if (!parse_strict_id(ctx, ctx.arg(j), 0, &ids[j - 2])) return;
  }
  int64_t deleted = 0;
  bool first_entry = false;
  for (StreamId id : ids) {
    if (!stream.erase(id)) continue;
    if (id == stream.first_id()) first_entry = true;
    if (id > stream.max_deleted_id()) stream.set_max_deleted_id(id);
    deleted++;
  }
  if (deleted > 0) {
    if (stream.length() == 0) {
      stream.set_first_id(StreamId{});
    } else if (first_entry) {
      stream.set_first_id(stream.edge_id(true, true));
    }
    ctx.key_modified(key);
    ctx.notify(NotifyClass::kStream, "xdel", key);
    ctx.add_dirty(deleted - 1);
  }
  ctx.reply.integer(deleted);
}

// ---- XSETID ----

void cmd_xsetid(CommandContext& ctx) {
  StreamId id, max_deleted;
  int64_t entries_added = -1;
  if (!parse_strict_id(ctx, ctx.arg(2), 0, &id)) return;
  for (size_t i = 3; i < ctx.argc(); i += 2) {
    const bool more = i + 1 < ctx.argc();
    if (word_is(ctx.arg(i), "entriesadded") && more) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &entries_added)) return;
      if (entries_added < 0) return ctx.reply.error("ERR entries_added must be positive");
    } else if (word_is(ctx.arg(i), "maxdeletedid") && more) {
      if (!parse_strict_id(ctx, ctx.arg(i + 1), 0, &max_deleted)) return;
      if (id < max_deleted) {
        return ctx.reply.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      }
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry == nullptr) return ctx.reply.error(kNoSuchKeyError);
  if (!ctx.check_type(entry, ValueType::kStream)) return;
  StreamValue& stream = entry->value.stream();
  if (stream.length() > 0) {
    if (id < stream.edge_id(false, true)) {
      return ctx.reply.error("ERR The ID specified in XSETID is smaller than the target stream top item");
    }
    if (entries_added != -1 && stream.length() > static_cast<uint64_t>(entries_added)) {
      return ctx.reply.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  stream.set_last_id(id);
  if (entries_added != -1) stream.set_entries_added(static_cast<uint64_t>(entries_added));
  if (!max_deleted.is_zero()) stream.set_max_deleted_id(max_deleted);
  ctx.reply.ok();
  ctx.key_modified(key);
  ctx.notify(NotifyClass::kStream, "xsetid", key);
}

// ---- XINFO ----

void subcommand_syntax_error(CommandContext& ctx) {
  std::string command(ctx.arg(0));
  for (char& c : command) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string error = "ERR unknown subcommand or wrong number of arguments for '";
  error.append(ctx.arg(1).substr(0, 128));
  error += "'. Try " + command + " HELP.";
  ctx.reply.error(error);
}

void reply_lag(CommandContext& ctx, const StreamValue& stream, const StreamGroup& group) {
  int64_t lag = 0;
  if (stream.group_lag(group, &lag)) {
    ctx.reply.integer(lag);
  } else {
    ctx.reply.null();
  }
}

void reply_entries_read(CommandContext& ctx, const StreamGroup& group) {
  if (group.entries_read != kStreamEntriesReadInvalid) {
    ctx.reply.integer(group.entries_read);
  } else {
    ctx.reply.null();
  }
}

StreamValue* info_stream(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(2));
  if (entry == nullptr) {
    ctx.reply.error(kNoSuchKeyError);
    return nullptr;
  }
  if (!ctx.check_type(entry, ValueType::kStream)) return nullptr;
  return &entry->value.stream();
}

void cmd_xinfo_stream(CommandContext& ctx) {
  StreamValue* stream = info_stream(ctx);
  if (stream == nullptr) return;
  const StreamValue& s = *stream;
  bool full = false;
  int64_t count = 10;
  const size_t argc = ctx.argc();
  if (argc == 4 || argc == 6) {
    if (!word_is(ctx.arg(3), "full")) return subcommand_syntax_error(ctx);
    full = true;
    if (argc == 6) {
      if (!word_is(ctx.arg(4), "count")) return subcommand_syntax_error(ctx);
      if (!parse_int_arg(ctx, ctx.arg(5), &count)) return;
      if (count < 0) count = 10;
    }
  } else if (argc != 3) {
    return subcommand_syntax_error(ctx);
  }
  ctx.reply.map(full ? 9 : 10);
  ctx.reply.bulk("length");
  ctx.reply.integer(static_cast<int64_t>(s.length()));
  ctx.reply.bulk("radix-tree-keys");
  ctx.reply.integer(static_cast<int64_t>(s.node_count()));
  ctx.reply.bulk("radix-tree-nodes");
  ctx.reply.integer(static_cast<int64_t>(s.rax_node_count()));
  ctx.reply.bulk("last-generated-id");
  reply_id(ctx, s.last_id());
  ctx.reply.bulk("max-deleted-entry-id");
  reply_id(ctx, s.max_deleted_id());
  ctx.reply.bulk("entries-added");
  ctx.reply.integer(static_cast<int64_t>(s.entries_added()));
  ctx.reply.bulk("recorded-first-entry-id");
  reply_id(ctx, s.first_id());
  if (!full) {
    ctx.reply.bulk("groups");
    ctx.reply.integer(static_cast<int64_t>(s.groups().size()));
    for (bool last : {false, true}) {
      ctx.reply.bulk(last ? "last-entry" : "first-entry");
      StreamValue::Iterator it(s, StreamId{}, StreamId::max(), last);
      if (it.next()) {
        streams::reply_entry(ctx, it);
      } else {
        ctx.reply.null();
      }
    }
    return;
  }
  const auto limit = static_cast<size_t>(count);
  ctx.reply.bulk("entries");
  streams::reply_range(ctx, s, StreamId{}, StreamId::max(), limit, false);
  ctx.reply.bulk("groups");
  ctx.reply.array(s.groups().size());
  for (const auto& [name, group] : s.groups()) {
    ctx.reply.map(7);
    ctx.reply.bulk("name");
    ctx.reply.bulk(name);
    ctx.reply.bulk("last-delivered-id");
    reply_id(ctx, group->last_id);
    ctx.reply.bulk("entries-read");
    reply_entries_read(ctx, *group);
    ctx.reply.bulk("lag");
    reply_lag(ctx, s, *group);
    ctx.reply.bulk("pel-count");
    ctx.reply.integer(static_cast<int64_t>(group->pel.size()));
    ctx.reply.bulk("pending");
    size_t shown = limit == 0 ? group->pel.size() : std::min(limit, group->pel.size());
    ctx.reply.array(shown);
    for (auto it = group->pel.begin(); shown > 0; ++it, --shown) {
      ctx.reply.array(4);
      reply_id(ctx, it->first);
      ctx.reply.bulk(it->second.consumer->name);
      ctx.reply.integer(it->second.delivery_time);
      ctx.reply.integer(static_cast<int64_t>(it->second.delivery_count));
    }
    ctx.reply.bulk("consumers");
    ctx.reply.array(group->consumers.size());
    for (const auto& [cname, consumer] : group->consumers) {
      ctx.reply.map(4);
      ctx.reply.bulk("name");
      ctx.reply.bulk(cname);
      ctx.reply.bulk("seen-time");
      ctx.reply.integer(consumer->seen_time);
      ctx.reply.bulk("pel-count");
      ctx.reply.integer(static_cast<int64_t>(consumer->pel.size()));
      ctx.reply.bulk("pending");
      size_t own = limit == 0 ? consumer->pel.size() : std::min(limit, consumer->pel.size());
      ctx.reply.array(own);
      for (auto it = consumer->pel.begin(); own > 0; ++it, --own) {
        ctx.reply.array(3);
        reply_id(ctx, it->first);
        ctx.reply.integer(it->second->delivery_time);
        ctx.reply.integer(static_cast<int64_t>(it->second->delivery_count));
      }
    }
  }
}

void cmd_xinfo_groups(CommandContext& ctx) {
  StreamValue* stream = info_stream(ctx);
  if (stream == nullptr) return;
  ctx.reply.array(stream->groups().size());
  for (const auto& [name, group] : stream->groups()) {
    ctx.reply.map(6);
    ctx.reply.bulk("name");
    ctx.reply.bulk(name);
    ctx.reply.bulk("consumers");
    ctx.reply.integer(static_cast<int64_t>(group->consumers.size()));
    ctx.reply.bulk("pending");
    ctx.reply.integer(static_cast<int64_t>(group->pel.size()));
    ctx.reply.bulk("last-delivered-id");
    reply_id(ctx, group->last_id);
    ctx.reply.bulk("entries-read");
    reply_entries_read(ctx, *group);
    ctx.reply.bulk("lag");
    reply_lag(ctx, *stream, *group);
  }
}

void cmd_xinfo_consumers(CommandContext& ctx) {
  StreamValue* stream = info_stream(ctx);
  if (stream == nullptr) return;
  StreamGroup* group = stream->find_group(ctx.arg(3));
  if (group == nullptr) return ctx.reply.error(streams::no_group_error(ctx.arg(2), ctx.arg(3)));
  ctx.reply.array(group->consumers.size());
  for (const auto& [name, consumer] : group->consumers) {
    ctx.reply.map(3);
    ctx.reply.bulk("name");
    ctx.reply.bulk(name);
    ctx.reply.bulk("pending");
    ctx.reply.integer(static_cast<int64_t>(consumer->pel.size()));
    ctx.reply.bulk("idle");
    ctx.reply.integer(std::max<int64_t>(0, ctx.now_ms - consumer->seen_time));
  }
}

void cmd_xinfo_help(CommandContext& ctx) { ctx.reply.raw(help_reply("xinfo")); }

}  // namespace

void register_stream_commands(CommandTable& table) {
  table.add("xadd", cmd_xadd);
  table.add("xtrim", cmd_xtrim);
  table.add("xlen", cmd_xlen);
  table.add("xrange", cmd_xrange);
  table.add("xrevrange", cmd_xrevrange);
  table.add("xdel", cmd_xdel);
  table.add("xsetid", cmd_xsetid);
  table.add("xinfo|stream", cmd_xinfo_stream);
  table.add("xinfo|groups", cmd_xinfo_groups);
  table.add("xinfo|consumers", cmd_xinfo_consumers);
  table.add("xinfo|help", cmd_xinfo_help);
  streams::register_group_commands(table);
  streams::register_read_commands(table);
}

}  // namespace rd
