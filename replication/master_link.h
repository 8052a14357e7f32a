// Our link to a master (replica side): one thread that connects, performs the handshake,
// synchronizes and then applies the master's stream, reconnecting with backoff when the link
// drops.
//
// Handshake, exactly as a Redis 7.0 replica does it (each step waits for the master's reply):
//   PING                                   -> +PONG (or -NOAUTH: authentication follows)
//   [AUTH [masteruser] masterauth]
//   REPLCONF listening-port <port>
//   [REPLCONF ip-address <replica-announce-ip>]
//   REPLCONF capa eof capa psync2          -> one reply each, read in order
//   PSYNC <replid> <offset+1> | PSYNC ? -1 -> +FULLRESYNC <replid> <offset> | +CONTINUE [<replid>]
//
// Full sync: "$<len>\r\n" + len bytes, or "$EOF:<40-byte mark>\r\n" + image + mark (newlines
// before the header are keep-alives). The image is loaded straight from the socket into a
// fresh keyspace while clients keep reading the old data; only a complete, valid image
// replaces it (one exclusive-lock swap). Then the stream is applied.
//
// The stream: each command runs through the dispatcher as the master client (flag
// kClientMaster: no replies, writes allowed on a read-only replica, no expiry of its own).
// Our offset advances by the bytes of each command once it has run, except inside MULTI where
// it moves only when EXEC has run, so a link that drops mid-transaction resumes before MULTI.
// The same bytes are forwarded to our own replicas (Replication::proxy), atomically with the
// command's effects (see Replication::on_command). REPLCONF GETACK * is answered with
// REPLCONF ACK <offset of the bytes before the GETACK>; an ACK is also sent every second.
//
// Thread-safety: everything here belongs to the link thread, except stop() and the
// atomics. stop() may be called from any thread (REPLICAOF, shutdown).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "server/fd.h"

namespace rd {

class Server;
class Client;
class Replication;
class LinkReader;
class RequestParser;

class MasterLink {
 public:
  MasterLink(Server& server, Replication& replication, std::string host, int port);
  ~MasterLink();  // stops and joins the thread
  MasterLink(const MasterLink&) = delete;
  MasterLink& operator=(const MasterLink&) = delete;

  void start();
  // Closes the link and joins the thread. Idempotent.
  void stop();

  // ---- the link thread only (called from the dispatcher while it applies a command) ----
  // REPLCONF GETACK: answer once the current command has run.
  void request_ack() { ack_requested_ = true; }
  // Forwards the bytes of the commands applied so far (see Replication::on_command).
  void feed_pending();

 private:
  enum class Psync { kFull, kContinue, kRetry };

  void run();
  // One connection: connect, handshake, sync, apply until the link drops. True when the
  // link was established (the next attempt starts without delay).
  bool session();
  UniqueFd connect_to_master();
  bool handshake(int fd, LinkReader& in);
  Psync psync(int fd, LinkReader& in, std::string* replid, int64_t* offset);
  bool receive_snapshot(LinkReader& in, const std::string& replid, int64_t offset, int* stream_db);
  void apply_stream(UniqueFd socket, LinkReader& in, int db);
  // Runs every complete command in the input. False on a protocol error.
  bool apply_pending(Client& master, LinkReader& in, RequestParser& parser);
  bool send_ack(int fd);
  void set_live_fd(int fd);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void sleep_for_ms(int64_t ms);

  Server& server_;
  Replication& replication_;
  const std::string host_;
  const int port_;
  int64_t timeout_ms_ = 60000;  // repl-timeout, read when a session starts

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;                 // guards live_fd_ and the sleep
  std::condition_variable wake_up_;
  int live_fd_ = -1;                 // the socket stop() shuts down. Guarded by mutex_

  // ---- link thread only ----
  std::string unforwarded_;  // bytes of applied commands not yet forwarded to our replicas
  bool ack_requested_ = false;
  int64_t last_ack_ms_ = 0;
};

}  // namespace rd
