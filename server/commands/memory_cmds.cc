// MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP. Sizes are estimates in Redis's
// accounting (storage/memory_usage.h) and, for the server as a whole, from the allocator
// (mallinfo2) and /proc: the replies have Redis's shapes and keys, the numbers are ours.
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

#include "server/command_context.h"
#include "server/command_meta.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/memory_usage.h"

namespace rd {
namespace {

void cmd_memory_usage(CommandContext& ctx) {
  int64_t samples = 5;
  for (size_t i = 3; i < ctx.argc(); i++) {
    if (equals_ignore_case(ctx.arg(i), "samples") && i + 1 < ctx.argc()) {
      if (!parse_int_arg(ctx, ctx.arg(++i), &samples)) return;
      if (samples < 0) return ctx.reply.error(kSyntaxError);
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  // Like Redis (dbFind), a key past its TTL but not yet deleted is still measured.
  KeyEntry* entry = ctx.db().find(ctx.arg(2));
  if (entry == nullptr) return ctx.reply.null();
  ctx.reply.integer(static_cast<int64_t>(
      estimate_memory_usage(entry->key(), entry->value, entry->string_is_raw, static_cast<size_t>(samples))));
}

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0;
  int64_t resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Redis reports these ratios as floats widened to doubles.
double ratio(int64_t a, int64_t b) {
  return static_cast<double>(static_cast<float>(b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b)));
}

// Redis's dict accounting for a database's tables: bucket array plus one entry per key.
int64_t table_overhead(size_t entries) {
  if (entries == 0) return 0;
  size_t buckets = 4;
  while (buckets < entries) buckets *= 2;
  return static_cast<int64_t>(buckets * 8 + entries * 24);
}

void cmd_memory_stats(CommandContext& ctx) {
  const int64_t used = ctx.server.used_memory();
  const int64_t rss = resident_bytes();
  const int64_t clients = static_cast<int64_t>(ctx.server.client_count()) * 20 * 1024;  // ~ query+reply buffers
  Keyspace& keyspace = ctx.server.keyspace;
  int64_t keys = 0;
  int64_t db_overhead = 0;
  int db_with_keys = 0;
  for (int i = 0; i < keyspace.db_count(); i++) {
    const Db& db = keyspace.db(i);
    if (db.size() == 0) continue;
    db_with_keys++;
    keys += static_cast<int64_t>(db.size());
    db_overhead += table_overhead(db.size()) + table_overhead(db.expires_count());
  }
  const int64_t overhead = clients + db_overhead;
  const int64_t dataset = std::max<int64_t>(0, used - overhead);

  Reply& r = ctx.reply;
  r.map(27 + static_cast<size_t>(db_with_keys));
  auto field = [&](std::string_view name, int64_t value) {
    r.bulk(name);
    r.integer(value);
  };
  auto real = [&](std::string_view name, double value) {
    r.bulk(name);
    r.dbl(value);
  };
  field("peak.allocated", used);
  field("total.allocated", used);
  field("startup.allocated", 0);
  field("replication.backlog", 0);
  field("clients.slaves", 0);
  field("clients.normal", clients);
  field("cluster.links", 0);
  field("aof.buffer", 0);
  field("lua.caches", 0);
  field("functions.caches", 0);
  for (int i = 0; i < keyspace.db_count(); i++) {
    const Db& db = keyspace.db(i);
    if (db.size() == 0) continue;
    r.bulk("db." + std::to_string(i));
    r.map(3);
    field("overhead.hashtable.main", table_overhead(db.size()));
    field("overhead.hashtable.expires", table_overhead(db.expires_count()));
    field("overhead.hashtable.slot-to-keys", 0);
  }
  field("overhead.total", overhead);
  field("keys.count", keys);
  field("keys.bytes-per-key", keys == 0 ? 0 : used / keys);
  field("dataset.bytes", dataset);
  real("dataset.percentage", ratio(dataset * 100, used));
  real("peak.percentage", ratio(100, 1));
  field("allocator.allocated", used);
  field("allocator.active", used);
  field("allocator.resident", rss);
  real("allocator-fragmentation.ratio", ratio(1, 1));
  field("allocator-fragmentation.bytes", 0);
  real("allocator-rss.ratio", ratio(rss, used));
  field("allocator-rss.bytes", rss - used);
  real("rss-overhead.ratio", ratio(1, 1));
  field("rss-overhead.bytes", 0);
  real("fragmentation", ratio(rss, used));
  field("fragmentation.bytes", rss - used);
}

void cmd_memory_doctor(CommandContext& ctx) {
  // Redis has nothing to say below 5 MB of data.
  if (ctx.server.used_memory() < 5 * 1024 * 1024) {
    return ctx.reply.verbatim(
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
        "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I "
        "will be back to our programming as soon as I finished rebooting.\n");
  }
  ctx.reply.verbatim(
      "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this "
      "base.\n");
}

// glibc's own report (XML) stands in for jemalloc's statistics.
void cmd_memory_malloc_stats(CommandContext& ctx) {
  char* text = nullptr;
  size_t length = 0;
  FILE* out = open_memstream(&text, &length);
  if (out == nullptr) return ctx.reply.verbatim("Stats not supported for the current allocator");
  malloc_info(0, out);
  std::fclose(out);
  ctx.reply.verbatim(std::string_view(text, length));
  std::free(text);
}

void cmd_memory_purge(CommandContext& ctx) {
  malloc_trim(0);
  ctx.reply.ok();
}

void cmd_memory_help(CommandContext& ctx) { ctx.reply.raw(help_reply("memory")); }

}  // namespace

void register_memory_commands(CommandTable& table) {
  table.add("memory|usage", cmd_memory_usage);
  table.add("memory|stats", cmd_memory_stats, LockMode::kShared);  // counts keys
  table.add("memory|doctor", cmd_memory_doctor);
  table.add("memory|malloc-stats", cmd_memory_malloc_stats);
  table.add("memory|purge", cmd_memory_purge);
  table.add("memory|help", cmd_memory_help);
}

}  // namespace rd
