// Helpers shared by the stream command files: streams.cc (XADD, XRANGE, XDEL, XTRIM, XSETID,
// XLEN, XINFO), streams_groups.cc (XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and
// streams_read.cc (XREAD, XREADGROUP and their blocking forms).
#pragma once

#include <string>
#include <string_view>

#include "server/command_context.h"
#include "server/command_table.h"
#include "storage/stream.h"

namespace rd::streams {

inline constexpr std::string_view kInvalidIdError = "ERR Invalid stream ID specified as stream command argument";

void register_group_commands(CommandTable& table);
void register_read_commands(CommandTable& table);

// An ID argument (Redis's streamParseIDOrReply): "-" and "+" allowed, "<ms>" takes
// missing_seq. Replies the error and returns false when invalid.
bool parse_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out);
// The strict form (streamParseStrictIDOrReply): "-" and "+" rejected. With seq_given
// non-null, "<ms>-*" is accepted (*seq_given false then).
bool parse_strict_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out,
                     bool* seq_given = nullptr);
// A range bound: "(" before an ID makes it exclusive (strict form after the parenthesis).
bool parse_interval_id(CommandContext& ctx, std::string_view text, uint64_t missing_seq, StreamId* out,
                       bool* exclusive);

inline void reply_id(CommandContext& ctx, StreamId id) { ctx.reply.bulk(id.str()); }

// [id, [field, value, ...]] for the entry the iterator is on.
void reply_entry(CommandContext& ctx, StreamValue::Iterator& it);
// The entry `id` alone, as above; false (nothing replied) when there is no live entry.
bool reply_single_entry(CommandContext& ctx, const StreamValue& stream, StreamId id);
// Entries of [start, end] (count 0: all), as an array. Returns how many.
size_t reply_range(CommandContext& ctx, const StreamValue& stream, StreamId start, StreamId end, size_t count,
                   bool reverse);

// The stream at `key` for reading (lookupKeyRead). nullptr when absent, or after replying
// WRONGTYPE (then *wrong_type is set).
StreamValue* read_stream(CommandContext& ctx, std::string_view key, bool* wrong_type);

// stream-node-max-bytes / stream-node-max-entries, as configured now.
StreamNodeLimits node_limits(CommandContext& ctx);

// Redis's "-NOGROUP No such consumer group '<group>' for key name '<key>'".
std::string no_group_error(std::string_view key, std::string_view group);

// Propagation helpers (Redis 7.0's streamPropagateXCLAIM / streamPropagateGroupID /
// streamPropagateConsumerCreation): each adds one command to this command's rewrite.
void propagate_xclaim(CommandContext& ctx, std::string_view key, std::string_view group_name,
                      const StreamGroup& group, std::string_view id_arg, const StreamPending& nack);
void propagate_group_id(CommandContext& ctx, std::string_view key, std::string_view group_name,
                        const StreamGroup& group);
void propagate_consumer_creation(CommandContext& ctx, std::string_view key, std::string_view group_name,
                                 std::string_view consumer);

// The consumer `name` of `group`, its seen time refreshed; created when missing (dirty,
// "xgroup-createconsumer" event). *created tells which.
StreamConsumer* lookup_or_create_consumer(CommandContext& ctx, std::string_view key, StreamGroup& group,
                                          std::string_view name, bool* created = nullptr);

}  // namespace rd::streams
