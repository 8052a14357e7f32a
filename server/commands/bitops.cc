// Bit commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP (BITFIELD lives in
// bitfield.cc). The bit arithmetic is in storage/bitops.h; this file is argument parsing, key
// handling and replies, in Redis's order of checks.
#include "server/commands/bitops_common.h"

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/bitops.h"
#include "storage/numbers.h"

namespace rd {

bool parse_bit_offset(CommandContext& ctx, std::string_view text, int field_bits, uint64_t* offset) {
  constexpr std::string_view kError = "ERR bit offset is not an integer or out of range";
  // BITFIELD's "#N" means the N-th field of this width.
  const bool scaled = field_bits > 0 && !text.empty() && text[0] == '#';
  int64_t value = 0;
  if (!string_to_int64(text.substr(scaled ? 1 : 0), &value)) {
    ctx.reply.error(kError);
    return false;
  }
  // Wraps like Redis's multiplication would on overflow; negative results are refused below.
  if (scaled) value = static_cast<int64_t>(static_cast<uint64_t>(value) * static_cast<uint64_t>(field_bits));
  // Strings are limited to proto-max-bulk-len bytes, except for what our master sends.
  if (value < 0 ||
      (!ctx.client.has_flag(kClientMaster) && (value >> 3) >= ctx.server.proto_max_bulk_len.load())) {
    ctx.reply.error(kError);
    return false;
  }
  *offset = static_cast<uint64_t>(value);
  return true;
}

KeyEntry* string_for_bit_write(CommandContext& ctx, std::string_view key, uint64_t highest_bit, bool* grown) {
  const size_t needed = static_cast<size_t>(highest_bit >> 3) + 1;
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kString)) return nullptr;
  *grown = false;
  if (entry == nullptr) {
    entry = ctx.db().add(key, Value(std::string(needed, '\0')));
    ctx.notify(NotifyClass::kNew, "new", key);
    *grown = true;
  } else if (entry->value.str().size() < needed) {
    entry->value.str().resize(needed, '\0');
    *grown = true;
  }
  // Redis unshares the value for writing, which makes it "raw" even when nothing changes.
  entry->string_is_raw = true;
  return entry;
}

namespace {

void cmd_setbit(CommandContext& ctx) {
  constexpr std::string_view kBitError = "ERR bit is not an integer or out of range";
  uint64_t offset = 0;
  if (!parse_bit_offset(ctx, ctx.arg(2), 0, &offset)) return;
  int64_t on = 0;
  if (!parse_int_arg(ctx, ctx.arg(3), &on, kBitError)) return;
  if (on != 0 && on != 1) return ctx.reply.error(kBitError);
  bool grown = false;
  KeyEntry* entry = string_for_bit_write(ctx, ctx.arg(1), offset, &grown);
  if (entry == nullptr) return;
  auto* bytes = reinterpret_cast<unsigned char*>(entry->value.str().data());
  const int old = static_cast<int>(read_unsigned_field(bytes, entry->value.str().size(), offset, 1));
  // Unchanged bits are not propagated (nor counted as changes), like Redis.
  if (grown || old != on) {
    write_field(bytes, offset, 1, static_cast<uint64_t>(on));
    ctx.key_modified(ctx.arg(1));
    ctx.notify(NotifyClass::kString, "setbit", ctx.arg(1));
  }
  ctx.reply.integer(old);
}

void cmd_getbit(CommandContext& ctx) {
  uint64_t offset = 0;
  if (!parse_bit_offset(ctx, ctx.arg(2), 0, &offset)) return;
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kString)) return;
  const std::string& text = entry->value.str();
  ctx.reply.integer(static_cast<int64_t>(
      read_unsigned_field(reinterpret_cast<const unsigned char*>(text.data()), text.size(), offset, 1)));
}

// BYTE or BIT, the unit of BITCOUNT/BITPOS ranges.
bool parse_range_unit(CommandContext& ctx, std::string_view text, bool* in_bits) {
  if (equals_ignore_case(text, "bit")) {
    *in_bits = true;
  } else if (equals_ignore_case(text, "byte")) {
    *in_bits = false;
  } else {
    ctx.reply.error(kSyntaxError);
    return false;
  }
  return true;
}

void cmd_bitcount(CommandContext& ctx) {
  // Redis 7.0 looks the key up before parsing the range: a missing key is 0 whatever follows.
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!ctx.check_type(entry, ValueType::kString)) return;
  const std::string& text = entry->value.str();
  BitRange range;
  if (ctx.argc() == 4 || ctx.argc() == 5) {
    if (!parse_int_arg(ctx, ctx.arg(2), &range.start) || !parse_int_arg(ctx, ctx.arg(3), &range.end)) return;
    if (ctx.argc() == 5 && !parse_range_unit(ctx, ctx.arg(4), &range.in_bits)) return;
  } else if (ctx.argc() != 2) {
    return ctx.reply.error(kSyntaxError);
  }
  ctx.reply.integer(bitcount_range(text, range));
}

void cmd_bitpos(CommandContext& ctx) {
  int64_t bit = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &bit)) return;
  if (bit != 0 && bit != 1) return ctx.reply.error("ERR The bit argument must be 1 or 0.");
  // A missing key is an endless run of zeros, whatever range follows.
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.integer(bit ? -1 : 0);
  if (!ctx.check_type(entry, ValueType::kString)) return;
  BitRange range;
  bool end_given = false;
  if (ctx.argc() >= 4 && ctx.argc() <= 6) {
    if (!parse_int_arg(ctx, ctx.arg(3), &range.start)) return;
    // Redis checks the unit before parsing the end.
    if (ctx.argc() == 6 && !parse_range_unit(ctx, ctx.arg(5), &range.in_bits)) return;
    if (ctx.argc() >= 5) {
      if (!parse_int_arg(ctx, ctx.arg(4), &range.end)) return;
      end_given = true;
    }
  } else if (ctx.argc() != 3) {
    return ctx.reply.error(kSyntaxError);
  }
  ctx.reply.integer(bitpos_range(entry->value.str(), static_cast<int>(bit), range, end_given));
}

void cmd_bitop(CommandContext& ctx) {
  std::string_view name = ctx.arg(1);
  BitOp op;
  if (equals_ignore_case(name, "and")) {
    op = BitOp::kAnd;
  } else if (equals_ignore_case(name, "or")) {
    op = BitOp::kOr;
  } else if (equals_ignore_case(name, "xor")) {
    op = BitOp::kXor;
  } else if (equals_ignore_case(name, "not")) {
    op = BitOp::kNot;
  } else {
    return ctx.reply.error(kSyntaxError);
  }
  if (op == BitOp::kNot && ctx.argc() != 4) {
    return ctx.reply.error("ERR BITOP NOT must be called with a single source key.");
  }
  std::vector<std::string_view> sources;
  sources.reserve(ctx.argc() - 3);
  for (size_t i = 3; i < ctx.argc(); i++) {
    KeyEntry* entry = ctx.lookup_read(ctx.arg(i));
    if (entry == nullptr) {
      sources.emplace_back();  // a missing key is an empty string
      continue;
    }
    if (!ctx.check_type(entry, ValueType::kString)) return;
    sources.emplace_back(entry->value.str());
  }
  std::string result = bitop(op, sources);
  const int64_t length = static_cast<int64_t>(result.size());
  std::string_view target = ctx.arg(2);
  KeyEntry* existing = ctx.lookup_write(target);
  if (length > 0) {
    // The sources are views into the keyspace: they are done with before `target` changes.
    KeyEntry* entry = ctx.db().set(target, Value(std::move(result)));
    entry->string_is_raw = true;  // Redis stores the result as a raw string object
    ctx.key_modified(target);
    if (existing == nullptr) ctx.notify(NotifyClass::kNew, "new", target);
    ctx.notify(NotifyClass::kString, "set", target);
  } else if (existing != nullptr) {
    ctx.db().erase(target);
    ctx.key_modified(target);
    ctx.notify(NotifyClass::kGeneric, "del", target);
  }
  ctx.reply.integer(length);
}

}  // namespace

void register_bitops_commands(CommandTable& table) {
  table.add("setbit", cmd_setbit);
  table.add("getbit", cmd_getbit);
  table.add("bitcount", cmd_bitcount);
  table.add("bitpos", cmd_bitpos);
  table.add("bitop", cmd_bitop);
}

}  // namespace rd
