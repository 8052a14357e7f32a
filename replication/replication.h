// Replication: the master side (replica list, backlog, full and partial resynchronization,
// WAIT) and the replica side (the link to our master), behind one object owned by Server.
// docs/replication.md describes the protocol as implemented.
//
// Files: replication.cc (roles, offsets and IDs, cron, INFO, ROLE), replication_master.cc
// (PSYNC/SYNC, REPLCONF, WAIT), replica_session.* (one attached replica), master_link.*
// (our link to a master), repl_buffer.* (the stream's bytes and the backlog), rdb_child.*
// (the forked snapshot), stream_encoder.* (commands to bytes).
//
// Locks, in the order they may be taken (never an earlier one while holding a later one):
//   control_mutex_ -> keyspace.mutex() -> state_mutex_ -> replicas_mutex_ -> ReplBuffer
// control_mutex_ serializes role changes (REPLICAOF, shutdown). Client locks are never taken
// under state_mutex_ or replicas_mutex_: clients to disconnect are collected, then killed.
// waiters_mutex_ (WAIT) is independent: it is taken alone, then client locks (wake-ups).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "replication/repl_buffer.h"
#include "replication/stream_encoder.h"
#include "replication/write_stream.h"
#include "storage/rdb.h"

namespace rd {

class Server;
class Client;
class CommandContext;
class Reply;
class Keyspace;
class MasterLink;
class ReplicaSession;

// The replica side's progress, published by the link thread for INFO and ROLE.
struct LinkStatus {
  enum State { kNone, kConnect, kConnecting, kHandshake, kTransfer, kConnected };
  std::atomic<int> state{kNone};
  std::atomic<int64_t> last_io_ms{0};        // unix ms of the last bytes from the master
  std::atomic<int64_t> down_since_ms{0};     // unix ms the link went down; 0: never was up
  std::atomic<int64_t> read_offset{0};       // stream offset of the last byte read
  std::atomic<int64_t> transfer_size{-1};    // RDB bytes announced; -1: "$EOF:" transfer
  std::atomic<int64_t> transfer_read{0};     // RDB bytes received so far
};

// What a connection told us with REPLCONF before PSYNC/SYNC.
struct ReplicaHandshake {
  int listening_port = 0;
  std::string announced_ip;
  bool capa_eof = false;     // understands the diskless "$EOF:<mark>" transfer
  bool capa_psync2 = false;  // understands "+CONTINUE <new replid>"
  bool rdb_only = false;     // wants the snapshot only (redis-cli --rdb)
  // REPLCONF rdb-filter-only: which parts of the snapshot it wants (redis-cli --functions-rdb).
  bool exclude_data = false;
  bool exclude_functions = false;
};

class Replication : private WriteConsumer {
 public:
  explicit Replication(Server& server);
  ~Replication() override;
  Replication(const Replication&) = delete;
  Replication& operator=(const Replication&) = delete;

  // ---- lifecycle (called by Server) ----
  // After the dataset is loaded: starts the link if `replicaof` is configured.
  void start();
  // Every 100 ms from the cron thread: pings, replica timeouts, backlog TTL, limits.
  void cron();
  // Before exit: stops the link thread and lets replica threads finish.
  void shutdown();
  // True while this server is a replica. Cheap: read on hot paths.
  bool is_replica() const { return replica_.load(std::memory_order_acquire); }
  // A replica whose link to its master is up (MASTERDOWN when not, with serve-stale-data no).
  bool master_link_up() const { return link_status_.state.load(std::memory_order_relaxed) == LinkStatus::kConnected; }
  // min-replicas-to-write: true when writes may go ahead (always on a replica, or when the
  // check is off); counts replicas online with an ACK within min-replicas-max-lag seconds.
  bool enough_good_replicas() const;
  // REPLICAOF inside EXEC is applied once the EXEC released the keyspace lock: the caller
  // (the dispatcher, lock released) applies it before the client's next command.
  bool role_change_pending() const { return role_change_pending_.load(std::memory_order_acquire); }
  void apply_deferred_role();
  // After CONFIG SET of `name`. Returns "" or an error text.
  std::string config_changed(std::string_view name);
  // INFO replication, and the sync_* counters of INFO stats. REQUIRES: keyspace lock held.
  void append_info(std::string* out);
  void append_stats(std::string* out);
  // master_repl_offset: the offset of the last byte of the replication stream.
  int64_t offset() const { return buffer_.end_offset(); }
  // Replication ID and offset to store in an RDB file, so a restarted replica can resume with
  // a partial resync. REQUIRES: keyspace lock held.
  RdbReplicationInfo rdb_info();
  // At startup, what an RDB file loaded from disk said (see rdb_info): a replica asks its
  // master to continue from there. REQUIRES: keyspace lock exclusive (the loader holds it).
  void restore_from_rdb(const RdbReplicationInfo& info);

  // ---- commands (server/commands/replication_cmds.cc) ----
  // REPLICAOF host port. Replies.
  void replicaof(CommandContext& ctx, const std::string& host, int port);
  // REPLICAOF NO ONE. Replies.
  void replicaof_no_one(CommandContext& ctx);
  // REPLCONF <option> <value> ... Replies (or not: ACK and GETACK have no reply).
  void replconf(CommandContext& ctx);
  // PSYNC <replid> <offset> / SYNC. REQUIRES: keyspace lock exclusive. On success the client
  // is flagged kClientReplica and its connection thread calls serve_replica().
  void psync(CommandContext& ctx, bool old_sync);
  // WAIT numreplicas timeout_ms (runs without the keyspace lock; may block this client only).
  void wait(CommandContext& ctx, int64_t replicas, int64_t timeout_ms);
  void role(Reply& reply);

  // ---- hooks ----
  // The connection thread of a client that PSYNC/SYNC turned into a replica: streams to it
  // until it goes away. `leftover`: bytes the client sent after PSYNC.
  void serve_replica(Client& client, std::string_view leftover);

 private:
  friend class MasterLink;
  friend class ReplicaSession;

  // WriteConsumer: one propagated command (under the exclusive keyspace lock).
  void on_command(int db, const std::string_view* args, size_t count) override;

  // ---- master side (replication_master.cc) ----
  bool try_partial_resync(CommandContext& ctx, const std::shared_ptr<Client>& client,
                          const ReplicaHandshake& handshake, std::string_view replid, int64_t next);
  void start_full_resync(CommandContext& ctx, const std::shared_ptr<Client>& client,
                         const ReplicaHandshake& handshake, bool old_sync);
  // Creates the backlog and starts consuming the write stream. REQUIRES: keyspace exclusive.
  void ensure_backlog_locked();
  bool backlog_active() const;
  void free_backlog();
  int64_t count_acked(int64_t offset) const;
  // Appends one REPLCONF GETACK * to the stream unless one is already its last command.
  void request_acks();
  void on_replica_ack();
  void remove_session(ReplicaSession* session);
  std::vector<std::shared_ptr<ReplicaSession>> sessions() const;
  // Disconnects every attached replica (they resync: our history changed or we follow
  // another master).
  void disconnect_replicas();
  ReplicaHandshake take_handshake(uint64_t client_id);
  void apply_output_limits();

  // ---- replica side (replication.cc, used by MasterLink) ----
  struct CachedMaster {
    bool valid = false;
    std::string replid;
    int64_t offset = 0;  // last byte processed
    int db = 0;          // the database the stream had selected
  };
  CachedMaster cached_master();
  // A full sync loaded `fresh`: it becomes the dataset, and our history is the master's.
  // False (nothing installed) when the image's FUNCTION libraries fail to load.
  bool install_full_sync(Keyspace& fresh, const std::vector<std::string>& function_libraries,
                         const std::string& replid, int64_t offset);
  // +CONTINUE <replid>: the master's history continues under a new ID.
  void adopt_master_replid(const std::string& replid);
  // The link is up with `master` as the master client / went down (its last selected db).
  void link_up(const std::shared_ptr<Client>& master);
  void link_down(int db);
  // Bytes the master sent and we processed: into our backlog for our own replicas.
  void proxy(std::string_view bytes) { buffer_.append(bytes); }

  // ---- roles (replication.cc) ----
  void become_replica(const std::string& host, int port);
  void become_master();
  // Recounts good_replicas_ (cron, replicas coming and going, CONFIG SET).
  void refresh_good_replicas();
  void stop_link();
  std::string new_replid();

  Server& server_;
  std::atomic<bool> replica_{false};
  ReplBuffer buffer_;
  StreamEncoder encoder_;  // Guarded by the keyspace lock
  std::string encoded_;    // scratch for encoder_. Guarded by the keyspace lock
  LinkStatus link_status_;
  // The link thread while it applies its master's stream (see on_command). Set and cleared by
  // that thread; the pointer is only followed from that same thread.
  std::atomic<std::thread::id> link_thread_id_{};
  std::atomic<MasterLink*> applying_link_{nullptr};

  std::mutex control_mutex_;
  std::unique_ptr<MasterLink> link_;  // Guarded by control_mutex_

  mutable std::mutex state_mutex_;
  std::string replid_;             // Guarded by state_mutex_
  std::string replid2_;            // Guarded by state_mutex_
  int64_t second_offset_ = -1;     // Guarded by state_mutex_
  std::string master_host_;        // Guarded by state_mutex_
  int master_port_ = 0;            // Guarded by state_mutex_
  CachedMaster cached_;            // Guarded by state_mutex_ (replica side)
  std::shared_ptr<Client> master_client_;  // while the link is up. Guarded by state_mutex_
  bool backlog_active_ = false;    // Guarded by state_mutex_; changes also need the keyspace lock
  int64_t last_getack_end_ = -1;   // Guarded by state_mutex_
  std::string deferred_role_;      // "host port" or "no one". Guarded by state_mutex_
  std::atomic<bool> role_change_pending_{false};  // deferred_role_ is set
  std::atomic<int> good_replicas_{0};

  mutable std::shared_mutex replicas_mutex_;
  std::vector<std::shared_ptr<ReplicaSession>> replicas_;  // Guarded by replicas_mutex_

  std::mutex handshakes_mutex_;
  std::map<uint64_t, ReplicaHandshake> handshakes_;  // by client id. Guarded by handshakes_mutex_

  std::mutex waiters_mutex_;
  std::vector<Client*> waiters_;  // clients blocked in WAIT. Guarded by waiters_mutex_

  std::atomic<uint64_t> sync_full_{0};
  std::atomic<uint64_t> sync_partial_ok_{0};
  std::atomic<uint64_t> sync_partial_err_{0};
  std::atomic<int64_t> no_replicas_since_ms_{0};
  int64_t last_ping_ms_ = 0;   // cron thread only
  int64_t last_second_ms_ = 0;  // cron thread only
};

}  // namespace rd
