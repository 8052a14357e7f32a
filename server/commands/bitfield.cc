// BITFIELD and BITFIELD_RO: GET / SET / INCRBY on integer fields of 1..64 bits (u1..u63,
// i1..i64) at any bit offset of a string, with OVERFLOW WRAP|SAT|FAIL applying to the
// operations after it. Every operation is parsed (and every error reported) before any runs.
#include <algorithm>
#include <vector>

#include "server/command_context.h"
#include "server/commands/bitops_common.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/bitops.h"
#include "storage/numbers.h"

namespace rd {
namespace {

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  bool is_signed;
  int bits;
  uint64_t offset;
  int64_t value;  // SET's value or INCRBY's increment
  Overflow overflow;
};

// "i8", "u16"...: lowercase letter, then the width (i1..i64, u1..u63).
bool parse_field_type(CommandContext& ctx, std::string_view text, bool* is_signed, int* bits) {
  constexpr std::string_view kError =
      "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
  text = text.substr(0, text.find('\0'));  // Redis reads the width as a C string
  int64_t width = 0;
  if (text.empty() || (text[0] != 'i' && text[0] != 'u') || !string_to_int64(text.substr(1), &width) ||
      width < 1 || width > (text[0] == 'i' ? 64 : 63)) {
    ctx.reply.error(kError);
    return false;
  }
  *is_signed = text[0] == 'i';
  *bits = static_cast<int>(width);
  return true;
}

// Parses every operation; replies the first error and returns false.
bool parse_ops(CommandContext& ctx, std::vector<FieldOp>* ops) {
  Overflow overflow = Overflow::kWrap;
  for (size_t i = 2; i < ctx.argc(); i++) {
    const size_t remaining = ctx.argc() - i - 1;
    std::string_view name = ctx.arg(i);
    FieldOp op{};
    if (equals_ignore_case(name, "get") && remaining >= 2) {
      op.kind = FieldOp::kGet;
    } else if (equals_ignore_case(name, "set") && remaining >= 3) {
      op.kind = FieldOp::kSet;
    } else if (equals_ignore_case(name, "incrby") && remaining >= 3) {
      op.kind = FieldOp::kIncrBy;
    } else if (equals_ignore_case(name, "overflow") && remaining >= 1) {
      std::string_view mode = ctx.arg(++i);
      if (equals_ignore_case(mode, "wrap")) {
        overflow = Overflow::kWrap;
      } else if (equals_ignore_case(mode, "sat")) {
        overflow = Overflow::kSat;
      } else if (equals_ignore_case(mode, "fail")) {
        overflow = Overflow::kFail;
      } else {
        ctx.reply.error("ERR Invalid OVERFLOW type specified");
        return false;
      }
      continue;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
    if (!parse_field_type(ctx, ctx.arg(i + 1), &op.is_signed, &op.bits)) return false;
    if (!parse_bit_offset(ctx, ctx.arg(i + 2), op.bits, &op.offset)) return false;
    if (op.kind != FieldOp::kGet && !parse_int_arg(ctx, ctx.arg(i + 3), &op.value)) return false;
    op.overflow = overflow;
    ops->push_back(op);
    i += op.kind == FieldOp::kGet ? 2 : 3;
  }
  return true;
}

enum class WriteResult { kRefused, kUnchanged, kChanged };

// Runs a SET or INCRBY on `text`; replies its result (nil when OVERFLOW FAIL refused it).
WriteResult run_write(CommandContext& ctx, std::string& text, const FieldOp& op) {
  auto* bytes = reinterpret_cast<unsigned char*>(text.data());
  bool overflowed = false;
  uint64_t old_bits = 0;
  uint64_t new_bits = 0;
  int64_t reply = 0;
  if (op.is_signed) {
    const int64_t old = read_signed_field(bytes, text.size(), op.offset, op.bits);
    int64_t result = 0;
    if (op.kind == FieldOp::kIncrBy) {
      overflowed = signed_field_add(old, op.value, op.bits, op.overflow, &result);
      reply = result;
    } else {
      overflowed = signed_field_add(op.value, 0, op.bits, op.overflow, &result);
      reply = old;
    }
    old_bits = static_cast<uint64_t>(old);
    new_bits = static_cast<uint64_t>(result);
  } else {
    const uint64_t old = read_unsigned_field(bytes, text.size(), op.offset, op.bits);
    uint64_t result = 0;
    if (op.kind == FieldOp::kIncrBy) {
      overflowed = unsigned_field_add(old, op.value, op.bits, op.overflow, &result);
      reply = static_cast<int64_t>(result);
    } else {
      overflowed = unsigned_field_add(static_cast<uint64_t>(op.value), 0, op.bits, op.overflow, &result);
      reply = static_cast<int64_t>(old);
    }
    old_bits = old;
    new_bits = result;
  }
  if (overflowed && op.overflow == Overflow::kFail) {
    ctx.reply.null();
    return WriteResult::kRefused;
  }
  ctx.reply.integer(reply);
  write_field(bytes, op.offset, op.bits, new_bits);
  return old_bits != new_bits ? WriteResult::kChanged : WriteResult::kUnchanged;
}

void reply_get(CommandContext& ctx, std::string_view text, const FieldOp& op) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  if (op.is_signed) {
    ctx.reply.integer(read_signed_field(bytes, text.size(), op.offset, op.bits));
  } else {
    ctx.reply.integer(static_cast<int64_t>(read_unsigned_field(bytes, text.size(), op.offset, op.bits)));
  }
}

void bitfield_generic(CommandContext& ctx, bool read_only_command) {
  std::vector<FieldOp> ops;
  if (!parse_ops(ctx, &ops)) return;
  uint64_t highest_bit = 0;
  bool writes = false;
  for (const FieldOp& op : ops) {
    if (op.kind == FieldOp::kGet) continue;
    writes = true;
    highest_bit = std::max(highest_bit, op.offset + static_cast<uint64_t>(op.bits) - 1);
  }
  std::string_view key = ctx.arg(1);
  if (!writes) {
    KeyEntry* entry = ctx.lookup_read(key);
    if (entry != nullptr && !ctx.check_type(entry, ValueType::kString)) return;
    std::string_view text = entry == nullptr ? std::string_view() : std::string_view(entry->value.str());
    ctx.reply.array(ops.size());
    for (const FieldOp& op : ops) reply_get(ctx, text, op);
    return;
  }
  if (read_only_command) return ctx.reply.error("ERR BITFIELD_RO only supports the GET subcommand");
  bool grown = false;
  KeyEntry* entry = string_for_bit_write(ctx, key, highest_bit, &grown);
  if (entry == nullptr) return;
  std::string& text = entry->value.str();
  ctx.reply.array(ops.size());
  int64_t changes = 0;
  for (const FieldOp& op : ops) {
    if (op.kind == FieldOp::kGet) {
      reply_get(ctx, text, op);
      continue;
    }
    // Like Redis: a write counts when it changed the field or the string grew for it, and
    // only a command with changes is propagated (a created key whose writes all FAILed is
    // not).
    WriteResult result = run_write(ctx, text, op);
    if (result == WriteResult::kChanged || (result == WriteResult::kUnchanged && grown)) changes++;
  }
  if (changes == 0) return;
  ctx.key_modified(key);
  ctx.add_dirty(changes - 1);
  ctx.notify(NotifyClass::kString, "setbit", key);
}

void cmd_bitfield(CommandContext& ctx) { bitfield_generic(ctx, false); }
void cmd_bitfield_ro(CommandContext& ctx) { bitfield_generic(ctx, true); }

}  // namespace

void register_bitfield_commands(CommandTable& table) {
  table.add("bitfield", cmd_bitfield);
  table.add("bitfield_ro", cmd_bitfield_ro);
}

}  // namespace rd
