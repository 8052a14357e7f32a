// One replica attached to us (master side), served by its own connection thread.
//
// PSYNC/SYNC creates the session under the exclusive keyspace lock: for a full resync it
// forks the snapshot child and registers the replica's position in the stream at the
// snapshot's offset, for a partial one at the offset the replica asked for. Then the
// connection thread (Replication::serve_replica) runs it:
//
//   1. full resync only: relay the child's RDB ("$EOF:<mark>\r\n" + image + mark through a
//      pipe, or "$<len>\r\n" + an unlinked temp file for replicas without capa eof or with
//      repl-diskless-sync no);
//   2. stream: copy the next chunk of the shared stream buffer and send it, sleep on the
//      client's eventfd when caught up, read REPLCONF ACKs as they come. After a diskless
//      transfer the stream starts only with the replica's first ACK (as Redis does: a replica
//      looks for the end mark in the last bytes it read, so nothing may follow it yet).
//
// Every command written while the RDB was produced waits in the shared buffer after the
// snapshot's offset, so the replica gets them in order, with no gap and no duplicate. A
// replica that stops reading only blocks its own thread: sends time out after repl-timeout,
// and the buffer cuts it off beyond client-output-buffer-limit replica.
//
// Thread-safety: run() and the transfer are the connection thread's; the fields other
// threads read (state, ack, addresses) are atomics or constant after construction.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "replication/rdb_child.h"
#include "replication/repl_buffer.h"
#include "replication/replication.h"
#include "server/fd.h"

namespace rd {

class Server;
class Client;

class ReplicaSession {
 public:
  enum class State { kWaitBgsave, kSendBulk, kOnline };

  ReplicaSession(Replication& replication, Server& server, std::shared_ptr<Client> client,
                 const ReplicaHandshake& handshake, bool old_sync);
  ~ReplicaSession();
  ReplicaSession(const ReplicaSession&) = delete;
  ReplicaSession& operator=(const ReplicaSession&) = delete;

  // Full resync: forks the child writing the snapshot and starts following the stream after
  // `offset`. REQUIRES: keyspace lock exclusive. False when the fork failed.
  bool start_full_sync(const RdbSaveOptions& options, bool diskless, int64_t offset);
  // Partial resync: follows the stream from byte `offset + 1` on. False when the backlog no
  // longer holds that byte.
  bool start_partial_sync(int64_t offset);

  // The connection thread: transfers the snapshot if any, then streams until the replica goes
  // away, is killed or cut off.
  void run(std::string_view leftover);

  // ---- read by other threads ----
  State state() const { return state_.load(std::memory_order_acquire); }
  const char* state_name() const;
  int64_t ack_offset() const { return ack_offset_.load(std::memory_order_relaxed); }
  int64_t ack_time_ms() const { return ack_time_ms_.load(std::memory_order_relaxed); }
  bool sends_acks() const { return !old_sync_; }
  bool rdb_only() const { return handshake_.rdb_only; }
  const std::string& ip() const { return ip_; }
  int port() const { return handshake_.listening_port; }
  // "ip:port" as Redis names a replica in its logs.
  std::string name() const;
  const std::shared_ptr<Client>& client() const { return client_; }
  pid_t child_pid() const { return child_.pid(); }
  // Updates the client's output-buffer size (CLIENT LIST omem) from the stream lag.
  void publish_lag();

 private:
  std::function<void()> cut_callback();
  bool transfer_snapshot();
  bool relay_pipe();
  bool send_temp_file();
  bool wait_for_child();
  void stream();
  // Reads what the replica sent (REPLCONF ACK). False when it hung up or sent garbage.
  bool read_input(bool block);
  bool handle_command(const std::vector<std::string_view>& args);
  bool send(std::string_view bytes);
  bool alive() const;

  Replication& replication_;
  Server& server_;
  const std::shared_ptr<Client> client_;
  const ReplicaHandshake handshake_;
  const bool old_sync_;  // SYNC (not PSYNC): no +FULLRESYNC line, no ACKs
  const std::string ip_;

  std::atomic<State> state_{State::kOnline};
  std::atomic<int64_t> ack_offset_{0};
  std::atomic<int64_t> ack_time_ms_;

  ReplBuffer::Reader* reader_ = nullptr;  // registered in Replication::buffer_
  RdbChild child_;
  UniqueFd rdb_fd_;        // pipe read end (diskless) or temp file (disk)
  bool diskless_ = false;
  bool waiting_first_ack_ = false;  // after a diskless transfer, until the replica's first ACK
  std::string input_;      // unparsed bytes from the replica
  int64_t last_input_check_ms_ = 0;
};

}  // namespace rd
