// Introspection and cluster-mode stubs: SLOWLOG, LATENCY, TOUCH, and CLUSTER / READONLY /
// READWRITE / ASKING, which a non-cluster Redis 7.0 answers with one error. (MEMORY lives in
// memory_cmds.cc, LOLWUT in lolwut.cc, LCS in lcs.cc.)
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "server/command_context.h"
#include "server/command_meta.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

// Redis's reply when a container command's handler rejects its arguments.
void subcommand_syntax_error(CommandContext& ctx) {
  std::string command(ctx.arg(0));
  for (char& c : command) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view sub = ctx.arg(1);
  sub = sub.substr(0, std::min<size_t>(128, sub.find('\0')));  // printed with "%.128s"
  ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" + std::string(sub) + "'. Try " +
                  command + " HELP.");
}

// ---- SLOWLOG ----

void cmd_slowlog_get(CommandContext& ctx) {
  if (ctx.argc() > 3) return subcommand_syntax_error(ctx);
  int64_t count = 10;
  if (ctx.argc() == 3 && (!string_to_int64(ctx.arg(2), &count) || count < -1)) {
    return ctx.reply.error("ERR count should be greater than or equal to -1");
  }
  std::vector<SlowLog::Entry> entries = ctx.server.slowlog.newest(count);
  ctx.reply.array(entries.size());
  for (const SlowLog::Entry& entry : entries) {
    ctx.reply.array(6);
    ctx.reply.integer(entry.id);
    ctx.reply.integer(entry.unix_time);
    ctx.reply.integer(entry.duration_us);
    ctx.reply.array(entry.args.size());
    for (const std::string& arg : entry.args) ctx.reply.bulk(arg);
    ctx.reply.bulk(entry.client_address);
    ctx.reply.bulk(entry.client_name);
  }
}

void cmd_slowlog_len(CommandContext& ctx) { ctx.reply.integer(static_cast<int64_t>(ctx.server.slowlog.size())); }

void cmd_slowlog_reset(CommandContext& ctx) {
  ctx.server.slowlog.reset();
  ctx.reply.ok();
}

void cmd_slowlog_help(CommandContext& ctx) { ctx.reply.raw(help_reply("slowlog")); }

// ---- LATENCY ----

void cmd_latency_latest(CommandContext& ctx) {
  auto events = ctx.server.latency.snapshot();
  ctx.reply.array(events.size());
  for (const auto& [name, series] : events) {
    ctx.reply.array(4);
    ctx.reply.bulk(name);
    ctx.reply.integer(series.latest().unix_time);
    ctx.reply.integer(series.latest().latency_ms);
    ctx.reply.integer(series.max_ms);
  }
}

void cmd_latency_history(CommandContext& ctx) {
  LatencyMonitor::Series series;
  if (!ctx.server.latency.find(ctx.arg(2), &series)) return ctx.reply.empty_array();
  std::vector<LatencyMonitor::Sample> samples = series.history();
  ctx.reply.array(samples.size());
  for (const LatencyMonitor::Sample& sample : samples) {
    ctx.reply.array(2);
    ctx.reply.integer(sample.unix_time);
    ctx.reply.integer(sample.latency_ms);
  }
}

void cmd_latency_reset(CommandContext& ctx) {
  std::vector<std::string_view> events(ctx.argv.begin() + 2, ctx.argv.end());
  ctx.reply.integer(static_cast<int64_t>(ctx.server.latency.reset(events)));
}

std::string int_text(int64_t value) { return std::to_string(value); }

// A small column chart of an event's samples, oldest on the left (our own rendering: Redis
// draws a similar ASCII sparkline).
std::string latency_graph(std::string_view event, const LatencyMonitor::Series& series) {
  std::vector<LatencyMonitor::Sample> samples = series.history();
  if (samples.size() > 80) samples.erase(samples.begin(), samples.end() - 80);
  int64_t high = 0;
  int64_t low = INT64_MAX;
  for (const auto& s : samples) {
    high = std::max(high, s.latency_ms);
    low = std::min(low, s.latency_ms);
  }
  std::string out = std::string(event) + " - high " + int_text(high) + " ms, low " + int_text(low) +
                    " ms (all time high " + int_text(series.max_ms) + " ms)\n" + std::string(80, '-') + "\n";
  constexpr int kRows = 4;
  for (int row = kRows; row >= 1; row--) {
    for (const auto& s : samples) {
      // Each column is as tall as its share of the highest sample.
      const int64_t height = high == 0 ? 0 : (s.latency_ms * kRows + high - 1) / high;
      out.push_back(height > row ? '|' : height == row ? '#' : ' ');
    }
    out.push_back('\n');
  }
  // The age of each sample, one character per column: seconds (s), minutes (m), hours (h).
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& s : samples) {
    const int64_t age = now - s.unix_time;
    out.push_back(age < 60 ? 's' : age < 3600 ? 'm' : 'h');
  }
  out.push_back('\n');
  return out;
}

void cmd_latency_graph(CommandContext& ctx) {
  LatencyMonitor::Series series;
  if (!ctx.server.latency.find(ctx.arg(2), &series)) {
    std::string_view event = ctx.arg(2);
    return ctx.reply.error("ERR No samples available for event '" + std::string(event.substr(0, event.find('\0'))) +
                           "'");
  }
  ctx.reply.verbatim(latency_graph(ctx.arg(2), series));
}

std::string latency_doctor(const LatencyMonitor& monitor) {
  if (!monitor.enabled()) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may "
           "use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in "
           "a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
  }
  auto events = monitor.snapshot();
  if (events.empty()) {
    return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest "
           "bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
  }
  std::string out =
      "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you "
      "Dave?\n\n";
  int index = 1;
  bool command_events = false;
  for (const auto& [name, series] : events) {
    std::vector<LatencyMonitor::Sample> samples = series.history();
    int64_t sum = 0;
    for (const auto& s : samples) sum += s.latency_ms;
    const int64_t average = samples.empty() ? 0 : sum / static_cast<int64_t>(samples.size());
    int64_t deviation = 0;
    for (const auto& s : samples) deviation += s.latency_ms > average ? s.latency_ms - average : average - s.latency_ms;
    if (!samples.empty()) deviation /= static_cast<int64_t>(samples.size());
    // The mean time between spikes, over the span the samples cover.
    char period[32];
    std::snprintf(period, sizeof(period), "%.2f",
                  samples.empty() ? 0.0
                                  : static_cast<double>(samples.back().unix_time - samples.front().unix_time) /
                                        static_cast<double>(samples.size()));
    out += int_text(index++) + ". " + name + ": " + int_text(static_cast<int64_t>(samples.size())) +
           " latency spikes (average " + int_text(average) + "ms, mean deviation " + int_text(deviation) +
           "ms, period " + period + " sec). Worst all time event " + int_text(series.max_ms) + "ms.\n";
    if (name == "command" || name == "fast-command") command_events = true;
  }
  out += "\nI have a few advices for you:\n\n";
  if (command_events) {
    out += "- Check your Slow Log to understand what are the commands you are running which are too slow to "
           "execute. Please check https://redis.io/commands/slowlog for more information.\n"
           "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. "
           "If you have very large objects that are often deleted, expired, or evicted, try to fragment those "
           "objects into multiple smaller objects.\n";
  } else {
    out += "- Check the events above with LATENCY HISTORY <event> and LATENCY GRAPH <event>.\n";
  }
  return out;
}

void cmd_latency_doctor(CommandContext& ctx) { ctx.reply.verbatim(latency_doctor(ctx.server.latency)); }

// The key Redis prints for a histogram bucket: the highest value (ns) its HDR histogram
// (2 significant digits) treats as equal to 1024 * 2^k ns, in microseconds.
int64_t histogram_bucket_us(int k) { return ((int64_t{1024} << k) + (int64_t{8} << k) - 1) / 1000; }

// Our command statistics keep calls and total time, not a distribution: every call is put in
// the bucket of the average duration.
void reply_command_histogram(CommandContext& ctx, const CommandSpec& spec) {
  const uint64_t calls = spec.stats.calls.load(std::memory_order_relaxed);
  const uint64_t average_ns = calls == 0 ? 0 : spec.stats.usec.load(std::memory_order_relaxed) * 1000 / calls;
  int k = 0;
  while (k < 40 && (uint64_t{1024} << k) < average_ns) k++;
  ctx.reply.bulk(spec.name);
  ctx.reply.map(2);
  ctx.reply.bulk("calls");
  ctx.reply.integer(static_cast<int64_t>(calls));
  ctx.reply.bulk("histogram_usec");
  ctx.reply.map(1);
  ctx.reply.integer(histogram_bucket_us(k));
  ctx.reply.integer(static_cast<int64_t>(calls));
}

// A command and its subcommands that were called, in the order Redis lists them.
void collect_called(const CommandSpec& spec, std::vector<const CommandSpec*>* out) {
  if (spec.stats.calls.load(std::memory_order_relaxed) > 0) out->push_back(&spec);
  for (const auto& [name, sub] : spec.subcommands) {
    if (sub->stats.calls.load(std::memory_order_relaxed) > 0) out->push_back(sub.get());
  }
}

void cmd_latency_histogram(CommandContext& ctx) {
  std::vector<const CommandSpec*> specs;
  if (ctx.argc() == 2) {
    for (const CommandSpec* spec : ctx.server.commands.all()) collect_called(*spec, &specs);
  }
  for (size_t i = 2; i < ctx.argc(); i++) {
    // "config|get" names a subcommand; unknown names are skipped.
    std::string_view name = ctx.arg(i);
    const size_t bar = name.find('|');
    const CommandSpec* spec = ctx.server.commands.find(name.substr(0, bar));
    if (spec != nullptr && bar != std::string_view::npos) {
      std::string sub(name.substr(bar + 1));
      for (char& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = spec->subcommands.find(sub);
      spec = it == spec->subcommands.end() ? nullptr : it->second.get();
    }
    if (spec != nullptr) collect_called(*spec, &specs);
  }
  ctx.reply.map(specs.size());
  for (const CommandSpec* spec : specs) reply_command_histogram(ctx, *spec);
}

void cmd_latency_help(CommandContext& ctx) { ctx.reply.raw(help_reply("latency")); }

// ---- keys ----

void cmd_touch(CommandContext& ctx) {
  int64_t touched = 0;
  for (size_t i = 1; i < ctx.argc(); i++) {
    if (ctx.lookup_read(ctx.arg(i)) != nullptr) touched++;
  }
  ctx.reply.integer(touched);
}

// ---- cluster mode (disabled) ----

void cmd_cluster_disabled(CommandContext& ctx) { ctx.reply.error("ERR This instance has cluster support disabled"); }

}  // namespace

void register_introspection_commands(CommandTable& table) {
  table.add("slowlog|get", cmd_slowlog_get);
  table.add("slowlog|len", cmd_slowlog_len);
  table.add("slowlog|reset", cmd_slowlog_reset);
  table.add("slowlog|help", cmd_slowlog_help);
  table.add("latency|latest", cmd_latency_latest);
  table.add("latency|history", cmd_latency_history);
  table.add("latency|reset", cmd_latency_reset);
  table.add("latency|graph", cmd_latency_graph);
  table.add("latency|doctor", cmd_latency_doctor);
  table.add("latency|histogram", cmd_latency_histogram);
  table.add("latency|help", cmd_latency_help);
  table.add("touch", cmd_touch);
  // Every CLUSTER subcommand (HELP included) gives the same answer without cluster support.
  for (const CommandMeta& meta : command_meta()) {
    if (std::string_view(meta.parent) == "cluster") table.add(meta.name, cmd_cluster_disabled);
  }
  table.add("readonly", cmd_cluster_disabled);
  table.add("readwrite", cmd_cluster_disabled);
  table.add("asking", cmd_cluster_disabled);
}

}  // namespace rd
