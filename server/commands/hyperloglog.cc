// HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. The values are plain
// strings in Redis's HLL format (storage/hyperloglog.h), so GET/SET/DUMP/RESTORE and RDB files
// carry them unchanged between this server and Redis.
//
// PFCOUNT of one key stores the cardinality it computed in the header (Redis's cache), which
// changes the value: it runs under the exclusive lock, and like Redis it then counts as a
// change (WATCH, dirty) and is propagated.
#include <random>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/hyperloglog.h"

namespace rd {
namespace {

constexpr std::string_view kNotHllError = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr std::string_view kCorruptedError = "INVALIDOBJ Corrupted HLL object detected";

// Redis "unshares" an HLL before changing it in place, which makes it a raw string (OBJECT
// ENCODING reports "raw" afterwards, even when nothing changed).
void unshare(KeyEntry* entry) { entry->string_is_raw = true; }

// Replies the error and returns false unless `entry` holds a valid HLL string.
bool check_hll(CommandContext& ctx, KeyEntry* entry) {
  if (!ctx.check_type(entry, ValueType::kString)) return false;
  if (!hll::is_valid(entry->value.str())) {
    ctx.reply.error(kNotHllError);
    return false;
  }
  return true;
}

size_t sparse_max_bytes(CommandContext& ctx) {
  const int64_t limit = ctx.server.config.get_int("hll-sparse-max-bytes");
  return limit < 0 ? 0 : static_cast<size_t>(limit);
}

// A new empty HLL under `key` (a raw string, as Redis creates it).
KeyEntry* create_hll(CommandContext& ctx, std::string_view key) {
  KeyEntry* entry = ctx.db().add(key, Value(hll::create()));
  entry->string_is_raw = true;
  ctx.notify(NotifyClass::kNew, "new", key);
  return entry;
}

void cmd_pfadd(CommandContext& ctx) {
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  int64_t updated = 0;
  if (entry == nullptr) {
    entry = create_hll(ctx, key);
    updated++;
  } else if (!check_hll(ctx, entry)) {
    return;
  }
  unshare(entry);
  const size_t limit = sparse_max_bytes(ctx);
  std::string& value = entry->value.str();
  for (size_t i = 2; i < ctx.argc(); i++) {
    int result = hll::add(&value, ctx.arg(i), limit);
    if (result < 0) return ctx.reply.error(kCorruptedError);
    updated += result;
  }
  if (updated > 0) {
    hll::invalidate_cache(&value);
    ctx.key_modified(key);
    ctx.add_dirty(updated - 1);
    ctx.notify(NotifyClass::kString, "pfadd", key);
  }
  ctx.reply.integer(updated > 0 ? 1 : 0);
}

void cmd_pfcount(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    // The cardinality of the union: registers merged into a scratch array, nothing cached.
    std::vector<uint8_t> max(hll::kRegisters, 0);
    for (size_t i = 1; i < ctx.argc(); i++) {
      KeyEntry* entry = ctx.lookup_read(ctx.arg(i));
      if (entry == nullptr) continue;
      if (!check_hll(ctx, entry)) return;
      if (!hll::merge_into(entry->value.str(), max.data())) return ctx.reply.error(kCorruptedError);
    }
    return ctx.reply.integer(static_cast<int64_t>(hll::count_registers(max.data())));
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_read(key);
  if (entry == nullptr) return ctx.reply.integer(0);
  if (!check_hll(ctx, entry)) return;
  unshare(entry);
  std::string& value = entry->value.str();
  uint64_t card = 0;
  if (hll::cache_valid(value)) {
    card = hll::cached(value);
  } else {
    if (!hll::count(value, &card)) return ctx.reply.error(kCorruptedError);
    hll::set_cache(&value, card);
    ctx.key_modified(key);  // the value changed: WATCH, dirty, propagation (as Redis)
  }
  ctx.reply.integer(static_cast<int64_t>(card));
}

void cmd_pfmerge(CommandContext& ctx) {
  std::vector<uint8_t> max(hll::kRegisters, 0);
  bool use_dense = false;
  for (size_t i = 1; i < ctx.argc(); i++) {
    KeyEntry* entry = ctx.lookup_read(ctx.arg(i));
    if (entry == nullptr) continue;
    if (!check_hll(ctx, entry)) return;
    if (hll::encoding(entry->value.str()) == hll::kEncodingDense) use_dense = true;
    if (!hll::merge_into(entry->value.str(), max.data())) return ctx.reply.error(kCorruptedError);
  }
  std::string_view target = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(target);
  if (entry == nullptr) entry = create_hll(ctx, target);
  unshare(entry);
  std::string& value = entry->value.str();
  if (use_dense && !hll::to_dense(&value)) return ctx.reply.error(kCorruptedError);
  const size_t limit = sparse_max_bytes(ctx);
  for (size_t i = 0; i < hll::kRegisters; i++) {
    if (max[i] != 0) hll::set_register(&value, i, max[i], limit);
  }
  hll::invalidate_cache(&value);
  ctx.key_modified(target);
  ctx.notify(NotifyClass::kString, "pfadd", target);  // Redis reports a merge as a mass add
  ctx.reply.ok();
}

// PFDEBUG <subcommand> <key> (the arity, exactly 3, is checked by the dispatcher).
void cmd_pfdebug(CommandContext& ctx) {
  std::string_view sub = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.error("ERR The specified key does not exist");
  if (!check_hll(ctx, entry)) return;
  unshare(entry);
  std::string& value = entry->value.str();

  if (equals_ignore_case(sub, "getreg")) {
    if (hll::encoding(value) == hll::kEncodingSparse) {
      if (!hll::to_dense(&value)) return ctx.reply.error(kCorruptedError);
      ctx.add_dirty(1);  // the encoding changed: propagated (Redis does not signal WATCH)
    }
    const auto* registers = reinterpret_cast<const uint8_t*>(value.data()) + hll::kHeaderSize;
    ctx.reply.array(hll::kRegisters);
    for (size_t i = 0; i < hll::kRegisters; i++) ctx.reply.integer(hll::dense_get(registers, i));
    return;
  }
  if (equals_ignore_case(sub, "decode")) {
    if (hll::encoding(value) != hll::kEncodingSparse) return ctx.reply.error("ERR HLL encoding is not sparse");
    return ctx.reply.bulk(hll::decode_sparse(value));
  }
  if (equals_ignore_case(sub, "encoding")) {
    return ctx.reply.simple(hll::encoding(value) == hll::kEncodingDense ? "dense" : "sparse");
  }
  if (equals_ignore_case(sub, "todense")) {
    if (hll::encoding(value) == hll::kEncodingDense) return ctx.reply.integer(0);
    if (!hll::to_dense(&value)) return ctx.reply.error(kCorruptedError);
    ctx.add_dirty(1);
    return ctx.reply.integer(1);
  }
  ctx.reply.error("ERR Unknown PFDEBUG subcommand '" + std::string(sub) + "'");
}

// Our own checks of the representation (Redis runs its own and replies OK): dense register
// packing, and sparse and dense forms agreeing register by register and in their estimate.
std::string selftest() {
  std::mt19937_64 random(12345);
  std::vector<uint8_t> expected(hll::kRegisters);
  std::string dense(hll::kDenseRegisterBytes + 1, '\0');
  auto* registers = reinterpret_cast<uint8_t*>(dense.data());
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < hll::kRegisters; i++) {
      expected[i] = static_cast<uint8_t>(random() & 63);
      hll::dense_set(registers, i, expected[i]);
    }
    for (size_t i = 0; i < hll::kRegisters; i++) {
      if (hll::dense_get(registers, i) != expected[i]) return "TESTFAILED Register error at " + std::to_string(i);
    }
  }
  std::string sparse = hll::create();
  std::string full = hll::create();
  if (!hll::to_dense(&full)) return "TESTFAILED conversion of an empty HLL";
  for (int i = 0; i < 5000; i++) {
    const std::string element = "selftest:" + std::to_string(random());
    if (hll::add(&sparse, element, 1u << 20) < 0 || hll::add(&full, element, 1u << 20) < 0) {
      return "TESTFAILED add reported a corrupted HLL";
    }
  }
  std::vector<uint8_t> a(hll::kRegisters, 0);
  std::vector<uint8_t> b(hll::kRegisters, 0);
  if (!hll::merge_into(sparse, a.data()) || !hll::merge_into(full, b.data()) || a != b) {
    return "TESTFAILED sparse and dense registers differ";
  }
  uint64_t sparse_count = 0;
  uint64_t dense_count = 0;
  if (!hll::count(sparse, &sparse_count) || !hll::count(full, &dense_count) || sparse_count != dense_count) {
    return "TESTFAILED sparse and dense estimates differ";
  }
  const double error = std::abs(static_cast<double>(dense_count) - 5000.0) / 5000.0;
  if (error > 0.05) return "TESTFAILED estimate too far from the real cardinality";
  return "";
}

void cmd_pfselftest(CommandContext& ctx) {
  std::string failure = selftest();
  if (!failure.empty()) return ctx.reply.error(failure);
  ctx.reply.ok();
}

}  // namespace

void register_hyperloglog_commands(CommandTable& table) {
  table.add("pfadd", cmd_pfadd);
  table.add("pfcount", cmd_pfcount, LockMode::kExclusive);  // may update the cached cardinality
  table.add("pfmerge", cmd_pfmerge);
  table.add("pfdebug", cmd_pfdebug);
  table.add("pfselftest", cmd_pfselftest, LockMode::kNone);
}

}  // namespace rd
