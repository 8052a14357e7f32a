#include "server/info.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>

#include "server/command_context.h"
#include "server/eviction.h"
#include "server/scripting/scripting.h"
#include "server/server.h"
#include "server/version.h"

namespace rd {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string bytes_to_human(int64_t bytes) {
  char buf[64];
  double value = static_cast<double>(bytes);
  const char* units = "BKMGTP";
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    unit++;
  }
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%lldB", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f%c", value, units[unit]);
  }
  return buf;
}

int64_t resident_memory() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0;
  int64_t pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

void server_section(Server& server, std::string* out) {
  utsname names{};
  uname(&names);
  int64_t now_ms = unix_time_ms();
  int64_t uptime = (now_ms - server.start_time_ms) / 1000;
  char exe[4096] = {0};
  ssize_t exe_length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (exe_length > 0) exe[exe_length] = '\0';
  info_field(out, "redis_version", kRedisVersion);
  info_field(out, "redis_git_sha1", "00000000");
  info_field(out, "redis_git_dirty", 0);
  info_field(out, "redis_build_id", "0");
  info_field(out, "redis_mode", "standalone");
  info_field(out, "os", std::string(names.sysname) + " " + names.release + " " + names.machine);
  info_field(out, "arch_bits", 64);
  info_field(out, "monotonic_clock", "POSIX clock_gettime");
  info_field(out, "multiplexing_api", "thread-per-connection");
  info_field(out, "atomicvar_api", "c11-builtin");
  info_field(out, "gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                                     std::to_string(__GNUC_PATCHLEVEL__));
  info_field(out, "process_id", static_cast<int64_t>(getpid()));
  info_field(out, "process_supervised", "no");
  info_field(out, "run_id", server.run_id);
  info_field(out, "tcp_port", server.config.get_int("port"));
  info_field(out, "server_time_usec", unix_time_us());
  info_field(out, "uptime_in_seconds", uptime);
  info_field(out, "uptime_in_days", uptime / 86400);
  info_field(out, "hz", server.config.get_int("hz"));
  info_field(out, "configured_hz", server.config.get_int("hz"));
  info_field(out, "lru_clock", static_cast<int64_t>(access_clock_now()));
  info_field(out, "executable", exe);
  info_field(out, "config_file", server.config.get("config-file-path"));
  info_field(out, "io_threads_active", 0);
  info_field(out, "server_name", "rd-server");
  info_field(out, "server_version", kServerVersion);
}

void clients_section(Server& server, std::string* out) {
  const size_t blocked = server.blocking.blocked_count() + static_cast<size_t>(server.paused_clients());
  size_t pubsub = 0;
  size_t max_input = 0;
  size_t max_output = 0;
  for (const auto& client : server.clients()) {
    if (client->has_flag(kClientPubSub)) pubsub++;
    max_input = std::max(max_input, client->query_buffer_size.load(std::memory_order_relaxed));
    max_output = std::max(max_output, client->output_buffer_size.load(std::memory_order_relaxed));
  }
  (void)pubsub;
  info_field(out, "connected_clients", static_cast<int64_t>(server.client_count()));
  info_field(out, "cluster_connections", 0);
  info_field(out, "maxclients", server.maxclients.load());
  info_field(out, "client_recent_max_input_buffer", static_cast<int64_t>(max_input));
  info_field(out, "client_recent_max_output_buffer", static_cast<int64_t>(max_output));
  info_field(out, "blocked_clients", static_cast<int64_t>(blocked));
  info_field(out, "tracking_clients", server.tracking.stats().clients);
  info_field(out, "clients_in_timeout_table", static_cast<int64_t>(blocked));
}

void memory_section(Server& server, std::string* out) {
  int64_t used = server.used_memory();
  int64_t rss = resident_memory();
  Eviction& eviction = *server.eviction;
  const int64_t maxmemory = eviction.maxmemory();
  const int64_t peak = eviction.peak_memory(used);
  const int64_t startup = eviction.startup_memory();
  const int64_t overhead = std::min(used, startup);
  const int64_t dataset = used - overhead;
  const int64_t net = used - startup;
  char peak_perc[32];
  std::snprintf(peak_perc, sizeof(peak_perc), "%.2f%%", peak > 0 ? static_cast<double>(used) * 100 / static_cast<double>(peak) : 0.0);
  char dataset_perc[32];
  std::snprintf(dataset_perc, sizeof(dataset_perc), "%.2f%%", net > 0 ? static_cast<double>(dataset) * 100 / static_cast<double>(net) : 0.0);
  long pages = sysconf(_SC_PHYS_PAGES);
  int64_t total = static_cast<int64_t>(pages) * sysconf(_SC_PAGESIZE);
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.2f", used > 0 ? static_cast<double>(rss) / static_cast<double>(used) : 0.0);
  info_field(out, "used_memory", used);
  info_field(out, "used_memory_human", bytes_to_human(used));
  info_field(out, "used_memory_rss", rss);
  info_field(out, "used_memory_rss_human", bytes_to_human(rss));
  info_field(out, "used_memory_peak", peak);
  info_field(out, "used_memory_peak_human", bytes_to_human(peak));
  info_field(out, "used_memory_peak_perc", peak_perc);
  info_field(out, "used_memory_overhead", overhead);
  info_field(out, "used_memory_startup", startup);
  info_field(out, "used_memory_dataset", dataset);
  info_field(out, "used_memory_dataset_perc", dataset_perc);
  info_field(out, "total_system_memory", total);
  info_field(out, "total_system_memory_human", bytes_to_human(total));
  // The Lua state belongs to scripts, which hold the keyspace lock exclusively: INFO's shared
  // lock keeps them apart.
  info_field(out, "used_memory_lua", static_cast<int64_t>(server.scripting->eval().lua_memory()));
  info_field(out, "used_memory_scripts", static_cast<int64_t>(server.scripting->eval().scripts_memory()));
  info_field(out, "number_of_cached_scripts", static_cast<int64_t>(server.scripting->eval().script_count()));
  info_field(out, "maxmemory", maxmemory);
  info_field(out, "maxmemory_human", bytes_to_human(maxmemory));
  info_field(out, "maxmemory_policy", server.config.get("maxmemory-policy"));
  info_field(out, "mem_fragmentation_ratio", ratio);
  info_field(out, "mem_fragmentation_bytes", rss - used);
  info_field(out, "mem_not_counted_for_evict", eviction.not_counted_memory());
  info_field(out, "mem_replication_backlog", 0);
  info_field(out, "mem_clients_slaves", 0);
  info_field(out, "mem_clients_normal", 0);
  info_field(out, "mem_aof_buffer", 0);
  info_field(out, "mem_allocator", "libc");
  info_field(out, "active_defrag_running", 0);
  info_field(out, "lazyfree_pending_objects", 0);
  info_field(out, "lazyfreed_objects", static_cast<int64_t>(server.stats.lazyfreed_objects.load()));
}

void stats_section(Server& server, std::string* out) {
  const ServerStats& s = server.stats;
  auto load = [](const std::atomic<uint64_t>& v) { return static_cast<int64_t>(v.load(std::memory_order_relaxed)); };
  info_field(out, "total_connections_received", load(s.total_connections_received));
  info_field(out, "total_commands_processed", load(s.total_commands_processed));
  info_field(out, "instantaneous_ops_per_sec", server.instantaneous_ops_per_sec());
  info_field(out, "total_net_input_bytes", load(s.net_input_bytes));
  info_field(out, "total_net_output_bytes", load(s.net_output_bytes));
  info_field(out, "total_net_repl_input_bytes", 0);
  info_field(out, "total_net_repl_output_bytes", 0);
  info_field(out, "instantaneous_input_kbps", "0.00");
  info_field(out, "instantaneous_output_kbps", "0.00");
  info_field(out, "instantaneous_input_repl_kbps", "0.00");
  info_field(out, "instantaneous_output_repl_kbps", "0.00");
  info_field(out, "rejected_connections", load(s.rejected_connections));
  server.replication->append_stats(out);
  info_field(out, "expired_keys", load(s.expired_keys));
  info_field(out, "expired_stale_perc", "0.00");
  info_field(out, "expired_time_cap_reached_count", 0);
  info_field(out, "expire_cycle_cpu_milliseconds", load(s.expire_cycle_cpu_ms));
  info_field(out, "evicted_keys", load(s.evicted_keys));
  info_field(out, "evicted_clients", 0);
  info_field(out, "total_eviction_exceeded_time", server.eviction->total_exceeded_ms());
  info_field(out, "current_eviction_exceeded_time", server.eviction->current_exceeded_ms());
  info_field(out, "keyspace_hits", load(s.keyspace_hits));
  info_field(out, "keyspace_misses", load(s.keyspace_misses));
  info_field(out, "pubsub_channels", server.pubsub_channel_count());
  info_field(out, "pubsub_patterns", server.pubsub_pattern_count());
  info_field(out, "pubsubshard_channels", server.pubsub.channel_count(ChannelSpace::kShard));
  info_field(out, "latest_fork_usec", 0);
  info_field(out, "total_forks", 0);
  info_field(out, "migrate_cached_sockets", 0);
  info_field(out, "slave_expires_tracked_keys", 0);
  info_field(out, "active_defrag_hits", 0);
  info_field(out, "active_defrag_misses", 0);
  info_field(out, "active_defrag_key_hits", 0);
  info_field(out, "active_defrag_key_misses", 0);
  info_field(out, "total_active_defrag_time", 0);
  info_field(out, "current_active_defrag_time", 0);
  const TrackingStats tracking = server.tracking.stats();
  info_field(out, "tracking_total_keys", tracking.keys);
  info_field(out, "tracking_total_items", tracking.items);
  info_field(out, "tracking_total_prefixes", tracking.prefixes);
  info_field(out, "unexpected_error_replies", load(s.unexpected_error_replies));
  info_field(out, "total_error_replies", load(s.total_error_replies));
  info_field(out, "dump_payload_sanitizations", 0);
  info_field(out, "total_reads_processed", 0);
  info_field(out, "total_writes_processed", 0);
  info_field(out, "io_threaded_reads_processed", 0);
  info_field(out, "io_threaded_writes_processed", 0);
}

void cpu_section(std::string* out) {
  rusage self{};
  rusage children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  auto seconds = [](const timeval& tv) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(tv.tv_sec), static_cast<long>(tv.tv_usec));
    return std::string(buf);
  };
  info_field(out, "used_cpu_sys", seconds(self.ru_stime));
  info_field(out, "used_cpu_user", seconds(self.ru_utime));
  info_field(out, "used_cpu_sys_children", seconds(children.ru_stime));
  info_field(out, "used_cpu_user_children", seconds(children.ru_utime));
}

void add_command_stats(const CommandSpec& spec, std::string* out) {
  uint64_t calls = spec.stats.calls.load(std::memory_order_relaxed);
  uint64_t rejected = spec.stats.rejected_calls.load(std::memory_order_relaxed);
  uint64_t failed = spec.stats.failed_calls.load(std::memory_order_relaxed);
  if (calls > 0 || rejected > 0 || failed > 0) {
    uint64_t usec = spec.stats.usec.load(std::memory_order_relaxed);
    char line[256];
    std::snprintf(line, sizeof(line), "calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu",
                  static_cast<unsigned long long>(calls), static_cast<unsigned long long>(usec),
                  calls > 0 ? static_cast<double>(usec) / static_cast<double>(calls) : 0.0,
                  static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(failed));
    info_field(out, "cmdstat_" + spec.name, line);
  }
  for (const auto& [name, sub] : spec.subcommands) add_command_stats(*sub, out);
}

void commandstats_section(Server& server, std::string* out) {
  for (const CommandSpec* spec : server.commands.all()) add_command_stats(*spec, out);
}

void errorstats_section(Server& server, std::string* out) {
  for (const auto& [code, count] : server.error_stats()) {
    info_field(out, "errorstat_" + code, "count=" + std::to_string(count));
  }
}

void keyspace_section(Server& server, std::string* out) {
  const int64_t now = unix_time_ms();
  for (int i = 0; i < server.keyspace.db_count(); i++) {
    const Db& db = server.keyspace.db(i);
    if (db.size() == 0) continue;
    int64_t ttl_sum = 0;
    int64_t ttl_count = 0;
    if (db.expires_count() > 0 && db.size() <= 10000) {
      db.for_each([&](KeyEntry* e) {
        if (e->has_expire() && e->expire_at_ms > now) {
          ttl_sum += e->expire_at_ms - now;
          ttl_count++;
        }
      });
    }
    info_field(out, "db" + std::to_string(i),
               "keys=" + std::to_string(db.size()) + ",expires=" + std::to_string(db.expires_count()) +
                   ",avg_ttl=" + std::to_string(ttl_count > 0 ? ttl_sum / ttl_count : 0));
  }
}

}  // namespace

void info_field(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->push_back(':');
  out->append(value);
  out->append("\r\n");
}

void info_field(std::string* out, std::string_view name, int64_t value) {
  info_field(out, name, std::to_string(value));
}

std::string build_info(Server& server, const std::vector<std::string_view>& requested) {
  static const std::vector<std::string> kDefault = {"server", "clients", "memory", "persistence", "stats",
                                                    "replication", "cpu", "modules", "errorstats", "cluster",
                                                    "keyspace"};
  std::set<std::string> wanted;
  bool everything = false;
  for (std::string_view name : requested) {
    std::string lower = lowercase(name);
    if (lower == "all" || lower == "everything") {
      everything = true;
    } else if (lower == "default") {
      wanted.insert(kDefault.begin(), kDefault.end());
    } else {
      wanted.insert(lower);
    }
  }
  if (requested.empty()) wanted.insert(kDefault.begin(), kDefault.end());
  auto want = [&](const char* section) { return everything || wanted.count(section) > 0; };

  std::string out;
  auto section = [&](const char* title, const char* name, auto&& body) {
    if (!want(name)) return;
    if (!out.empty()) out += "\r\n";
    out += "# ";
    out += title;
    out += "\r\n";
    body();
  };
  section("Server", "server", [&] { server_section(server, &out); });
  section("Clients", "clients", [&] { clients_section(server, &out); });
  section("Memory", "memory", [&] { memory_section(server, &out); });
  section("Persistence", "persistence", [&] { server.persistence->append_info(&out); });
  section("Stats", "stats", [&] { stats_section(server, &out); });
  section("Replication", "replication", [&] { server.replication->append_info(&out); });
  section("CPU", "cpu", [&] { cpu_section(&out); });
  section("Modules", "modules", [] {});
  section("Commandstats", "commandstats", [&] { commandstats_section(server, &out); });
  section("Errorstats", "errorstats", [&] { errorstats_section(server, &out); });
  section("Cluster", "cluster", [&] { info_field(&out, "cluster_enabled", 0); });
  section("Keyspace", "keyspace", [&] { keyspace_section(server, &out); });
  return out;
}

}  // namespace rd
