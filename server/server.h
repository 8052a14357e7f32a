// The server: owns the keyspace, the command table, the clients and every subsystem, and
// runs the dispatcher (server/dispatch.cc) that takes a parsed command to its reply.
//
// Threads: one accept thread per listening socket, one thread per client connection
// (server/connection.cc), one cron thread (active expiry, statistics, housekeeping) and one
// signal thread. There is no other global state: everything hangs off this object.
//
// Lock order (never take an earlier lock while holding a later one):
//   keyspace.mutex()  ->  tracking  ->  clients_mutex_ | pubsub | write stream | config | Client locks
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/reply.h"
#include "replication/replication.h"
#include "replication/write_stream.h"
#include "server/blocking.h"
#include "server/client.h"
#include "server/command_table.h"
#include "server/config.h"
#include "server/keyspace_lock.h"
#include "server/monitor.h"
#include "server/notify.h"
#include "server/persistence.h"
#include "server/latency_monitor.h"
#include "server/pubsub.h"
#include "server/slowlog.h"
#include "server/tracking.h"
#include "server/watch.h"
#include "storage/db.h"

namespace rd {

class Acl;
class CommandContext;
class Eviction;
class Scripting;

// Counters for INFO stats. Relaxed atomics: exact totals, no ordering needs.
struct ServerStats {
  std::atomic<uint64_t> total_connections_received{0};
  std::atomic<uint64_t> total_commands_processed{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<uint64_t> expired_keys{0};
  std::atomic<uint64_t> evicted_keys{0};
  std::atomic<uint64_t> keyspace_hits{0};
  std::atomic<uint64_t> keyspace_misses{0};
  std::atomic<uint64_t> net_input_bytes{0};
  std::atomic<uint64_t> net_output_bytes{0};
  std::atomic<uint64_t> total_error_replies{0};
  std::atomic<uint64_t> unexpected_error_replies{0};
  std::atomic<uint64_t> pubsub_messages{0};
  std::atomic<uint64_t> expire_cycle_cpu_ms{0};
  std::atomic<uint64_t> lazyfreed_objects{0};  // UNLINK / async flushes (see lazy_free_effort)
};

// What the connection loop does after a command.
enum class ExecStatus { kDone, kBlocked, kClose };

class Server {
 public:
  explicit Server(Config& config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Config& config;
  Keyspace keyspace;
  CommandTable commands;
  ServerStats stats;
  WatchRegistry watches;      // Guarded by keyspace.mutex()
  BlockingRegistry blocking;  // Guarded by keyspace.mutex()
  WriteStream write_stream;  // Guarded by keyspace.mutex()
  PubSub pubsub;
  Monitors monitors;
  Tracking tracking;  // CLIENT TRACKING: client-side caching invalidations (server/tracking.h)
  SlowLog slowlog;
  LatencyMonitor latency;
  // Created in the constructor, destroyed with the server; never null.
  std::unique_ptr<Persistence> persistence;
  std::unique_ptr<Replication> replication;
  std::unique_ptr<Scripting> scripting;  // EVAL / FUNCTION (server/scripting/)
  std::unique_ptr<Eviction> eviction;    // maxmemory: limit, policies, OOM (server/eviction.h)
  std::unique_ptr<Acl> acl;              // users, AUTH, permissions, ACL LOG (server/acl.h)

  const int64_t start_time_ms;
  std::string config_file;  // absolute path of the config file given at startup, or ""

  const std::string run_id;

  // ---- configuration read on hot paths, refreshed by apply_config() ----
  std::atomic<int64_t> maxclients{10000};
  std::atomic<int64_t> idle_timeout_s{0};
  std::atomic<int64_t> proto_max_bulk_len{512LL * 1024 * 1024};
  std::atomic<int64_t> query_buffer_limit{1024LL * 1024 * 1024};
  // min-replicas-to-write / min-replicas-max-lag (NOREPLICAS) and replica-serve-stale-data
  // (MASTERDOWN), read by every write.
  std::atomic<int64_t> min_replicas_to_write{0};
  std::atomic<int64_t> min_replicas_max_lag{10};
  std::atomic<bool> replica_serve_stale_data{true};
  // DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call noscript commands (tests use DEBUG PROTOCOL).
  std::atomic<bool> scripts_may_run_noscript{false};
  std::atomic<bool> auth_required{false};
  std::atomic<bool> active_expire_enabled{true};
  std::atomic<int64_t> pubsub_hard_limit{32LL * 1024 * 1024};
  // notify-keyspace-events as NotifyClass bits; 0 unless K or E is set (server/notify.h).
  std::atomic<uint32_t> notify_keyspace_events{0};
  std::atomic<int> config_generation{0};
  // Encoding thresholds of collections (hash-max-listpack-entries, ...), read per command.
  EncodingLimits encoding_limits() const {
    EncodingLimits limits;
    limits.hash_max_listpack_entries = hash_max_listpack_entries_.load(std::memory_order_relaxed);
    limits.hash_max_listpack_value = hash_max_listpack_value_.load(std::memory_order_relaxed);
    limits.set_max_intset_entries = set_max_intset_entries_.load(std::memory_order_relaxed);
    limits.zset_max_listpack_entries = zset_max_listpack_entries_.load(std::memory_order_relaxed);
    limits.zset_max_listpack_value = zset_max_listpack_value_.load(std::memory_order_relaxed);
    limits.list_max_listpack_size = list_max_listpack_size_.load(std::memory_order_relaxed);
    return limits;
  }  // bumps on every CONFIG SET (clients re-read limits)
  // Re-reads `name` (or everything when empty) from config into the cached fields above.
  void apply_config(std::string_view name = {});
  // After CONFIG SET stored `name`: applies it; returns "" or why it cannot take effect.
  std::string config_changed(std::string_view name);
  // CONFIG SET port/bind: listens on the new addresses, then closes the old listeners (kept
  // when the new ones fail). Returns "" or the error for CONFIG SET.
  std::string rebind(int port, const std::string& bind);
  // DEBUG RELOAD: save and load the dataset back. Returns "" or the error reply text.
  std::string debug_reload(CommandContext& ctx) { return persistence->debug_reload(ctx); }

  // ---- dispatch (server/dispatch.cc) ----
  // Runs one parsed command for `client`, appending its reply to client.output.
  ExecStatus execute(Client& client, const std::vector<std::string_view>& argv);
  // The same, reusing the keyspace lock `batch` holds (a connection's pipelined batch). The
  // lock is held or released on return as the next command's needs decide (see
  // server/keyspace_lock.h); it is never held when this returns kBlocked or kClose.
  ExecStatus execute(Client& client, const std::vector<std::string_view>& argv, KeyspaceLock& batch);
  // Runs one queued command inside EXEC; its propagation joins the EXEC's (MULTI...EXEC).
  // REQUIRES: keyspace lock exclusive.
  void execute_in_transaction(CommandContext& exec, const CommandSpec& spec,
                              const std::vector<std::string_view>& argv);
  // The same for a command a script runs: with the script's own client (its db) and reply
  // writer; its propagation joins `exec`'s. REQUIRES: keyspace lock exclusive.
  void execute_nested(CommandContext& exec, Client& client, Reply& reply, const CommandSpec& spec,
                      const std::vector<std::string_view>& argv);
  // Ends `client`'s transaction: queue, MULTI flag, WATCHed keys (server/commands/transactions.cc).
  // REQUIRES: keyspace lock exclusive.
  void discard_transaction(Client& client);
  // Called by a blocked client's thread when woken or timed out: finishes the command.
  void finish_blocked(Client& client, bool timed_out);
  // Serves clients blocked on keys signalled ready. REQUIRES: keyspace lock exclusive.
  void serve_blocked_clients();
  // Deletes an expired key as the master does: stats, WATCH, invalidation (client tracking),
  // propagation of DEL, "expired" notification. `caller`: the client whose command found it
  // (defaults to ctx's; none for active expiry). REQUIRES: keyspace lock exclusive.
  void expire_key(CommandContext* ctx, int db, std::string_view key, const Client* caller = nullptr);
  // A key changed outside a command's own writes (expiry, eviction): client tracking.
  // REQUIRES: keyspace lock exclusive.
  void key_changed(std::string_view key, const Client* caller) {
    if (tracking.armed()) [[unlikely]] tracking.invalidate(key, 0, caller);
  }
  // Every key changed at once (FLUSHDB, FLUSHALL, a dataset loaded): tracking clients are told.
  void all_keys_changed() { tracking.invalidate_all(); }
  // DEBUG PAUSE-CRON: the cron thread skips its periodic work meanwhile.
  void pause_cron(bool paused) { cron_paused_.store(paused, std::memory_order_relaxed); }
  // Keyspace notification outside a command (see CommandContext::notify).
  void notify(NotifyClass cls, std::string_view event, std::string_view key, int db) {
    const uint32_t flags = notify_keyspace_events.load(std::memory_order_relaxed);
    if ((flags & notify_bit(cls)) != 0) [[unlikely]] publish_keyspace_event(*this, flags, event, key, db);
  }

  // ---- clients (server/clients.cc) ----
  std::shared_ptr<Client> add_client(UniqueFd socket, std::string peer, std::string local);
  void remove_client(Client& client);
  std::vector<std::shared_ptr<Client>> clients() const;
  std::shared_ptr<Client> find_client(uint64_t id) const;
  size_t client_count() const;
  // Releases everything a departing client holds (WATCH, blocking, subscriptions).
  void release_client_state(Client& client);

  // ---- lifecycle (server/server.cc) ----
  // Binds, starts the background threads and accepts until shutdown; returns the exit code.
  int run();
  // Asks the server to exit (SIGTERM, SHUTDOWN). Safe from any thread.
  void request_shutdown(int exit_code = 0);
  // Work before exiting on SHUTDOWN/SIGTERM (saving when configured). False: abort the
  // shutdown (SHUTDOWN replies an error).
  bool prepare_shutdown(bool force_save, bool force_nosave);
  bool shutting_down() const { return shutting_down_.load(std::memory_order_acquire); }

  // CLIENT PAUSE: until `until_ms`, hold commands of normal clients (all, or only writes).
  void pause_clients(int64_t until_ms, bool all) {
    pause_all_.store(all, std::memory_order_relaxed);
    pause_until_ms_.store(until_ms, std::memory_order_release);
  }

  // Clients whose command waits for a CLIENT PAUSE to end (INFO blocked_clients).
  int64_t paused_clients() const { return paused_clients_.load(std::memory_order_relaxed); }

  // True while a CLIENT PAUSE is in effect (nothing is evicted meanwhile).
  bool clients_paused() const {
    const int64_t until = pause_until_ms_.load(std::memory_order_acquire);
    return until != 0 && unix_time_ms() < until;
  }

  // ---- statistics ----
  // Counts an error reply by its code (the first word): INFO errorstats.
  void count_error(std::string_view message);
  // A command replied `reply` (RESP, starting with '-'): its failed_calls, total_error_replies
  // and the error's code in INFO errorstats.
  void count_error_reply(const CommandSpec& spec, std::string_view reply);
  std::map<std::string, uint64_t> error_stats() const;
  void reset_stats();
  int64_t instantaneous_ops_per_sec() const { return ops_per_sec_.load(std::memory_order_relaxed); }
  int64_t pubsub_channel_count() const { return pubsub.channel_count(); }
  int64_t pubsub_pattern_count() const { return pubsub.pattern_count(); }

  bool is_replica() const { return replication->is_replica(); }
  uint64_t random64();
  void log(char level, std::string_view message);
  int64_t used_memory() const;

 private:
  // What dispatch tells execute about the command it ran or refused.
  struct DispatchNotes {
    size_t reply_start = 0;       // where the reply begins in client.output (past pushes sent before it)
    bool client_command = false;  // a CLIENT subcommand: a CLIENT CACHING setting survives it
  };
  ExecStatus dispatch(Client& client, const std::vector<std::string_view>& argv, KeyspaceLock& batch,
                      DispatchNotes* notes);
  // CLIENT PAUSE: holds the command while a pause covers it (`may_write`: a write or
  // may-replicate command, or an EXEC that queued one; PAUSE ALL holds everything).
  void wait_while_paused(Client& client, bool may_write);
  // Client tracking: `caller` read the keys of `spec` / `argv` (a read-only command; with
  // `script_read`, the EVAL/FCALL whose script ran one). Checks the caller's tracking mode.
  void remember_read_keys(Client& caller, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                          bool script_read = false);
  void cron_loop();
  void active_expire_cycle();
  void sample_ops_per_second();
  void close_idle_clients();
  // A listening socket and the thread accepting on it.
  struct Listener {
    UniqueFd fd;
    std::thread acceptor;
  };
  void accept_loop(int listen_fd);
  // Binds and listens on `port` at every address of `bind` (redis.conf syntax; "-addr" may
  // fail). Returns "" or the reason the first mandatory address failed.
  std::string open_listeners(int port, const std::string& bind, std::vector<UniqueFd>* out);
  void start_acceptors(std::vector<UniqueFd> fds);
  void stop_acceptors(std::vector<std::unique_ptr<Listener>> listeners);
  void spawn_connection(UniqueFd socket);
  void reap_finished_threads();

  mutable std::mutex clients_mutex_;
  std::map<uint64_t, std::shared_ptr<Client>> clients_;  // Protected by clients_mutex_
  std::atomic<uint64_t> next_client_id_{1};

  std::mutex threads_mutex_;
  std::map<uint64_t, std::thread> threads_;   // Protected by threads_mutex_
  std::vector<uint64_t> finished_threads_;    // Protected by threads_mutex_

  std::atomic<bool> shutting_down_{false};
  std::atomic<int> exit_code_{0};
  std::mutex shutdown_mutex_;
  std::condition_variable shutdown_cv_;

  std::mutex random_mutex_;
  std::mt19937_64 random_;  // Protected by random_mutex_

  std::mutex log_mutex_;
  mutable std::mutex error_stats_mutex_;
  std::map<std::string, uint64_t> error_stats_;  // Protected by error_stats_mutex_
  std::atomic<int64_t> ops_per_sec_{0};
  std::atomic<int64_t> pause_until_ms_{0};
  std::atomic<size_t> hash_max_listpack_entries_{512};
  std::atomic<size_t> hash_max_listpack_value_{64};
  std::atomic<size_t> set_max_intset_entries_{512};
  std::atomic<size_t> zset_max_listpack_entries_{128};
  std::atomic<size_t> zset_max_listpack_value_{64};
  std::atomic<int64_t> list_max_listpack_size_{-2};
  std::atomic<bool> pause_all_{false};
  std::atomic<bool> cron_paused_{false};
  std::atomic<int64_t> paused_clients_{0};
  uint64_t last_ops_sample_ = 0;     // cron thread only
  int64_t last_ops_sample_us_ = 0;   // cron thread only
  std::mutex listeners_mutex_;
  std::vector<std::unique_ptr<Listener>> listeners_;  // Guarded by listeners_mutex_
  // What listeners_ listen on. Guarded by rebind_mutex_ (after startup).
  std::mutex rebind_mutex_;
  int listening_port_ = 0;
  std::string listening_bind_;
};

}  // namespace rd
