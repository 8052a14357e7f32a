// One connected client and the state its connection thread keeps.
//
// Ownership and locking:
//  - Fields under "connection thread only" are touched only by the client's own thread (or,
//    while the client is blocked, by a thread holding the keyspace lock exclusively: see
//    BlockedState).
//  - Fields other threads read (CLIENT LIST, INFO) are atomics or guarded by info_mutex_.
//  - The async outbox (pub/sub messages, MONITOR lines) is guarded by async_mutex_; any thread
//    may append to it and wake the connection thread through its eventfd.
//  - The push queue (out-of-band messages: client-side caching invalidations) is guarded by
//    async_mutex_ too; see push() for how it reaches a connection idle in recv().
//  - Tracking state (flags kClientTracking*, tracking_redirect, tracking_prefixes) is changed
//    under the Tracking registry's mutex; the flags and the redirect are atomics so that
//    CLIENT LIST can read them.
#pragma once

#include <atomic>
#include <memory>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/request_parser.h"
#include "server/acl_client.h"
#include "server/blocking.h"
#include "server/fd.h"

namespace rd {

struct CommandSpec;

enum ClientFlag : uint32_t {
  kClientMaster = 1u << 0,    // the link to our master (replica side)
  kClientReplica = 1u << 1,   // a replica attached to us
  kClientMonitor = 1u << 2,
  kClientPubSub = 1u << 3,    // has subscriptions (RESP2 subscribed context)
  kClientMulti = 1u << 4,     // inside MULTI
  kClientBlocked = 1u << 5,
  kClientCloseAfterReply = 1u << 6,
  kClientReadonlyReplica = 1u << 7,
  kClientNoEvict = 1u << 8,
  // CLIENT TRACKING (server/tracking.h)
  kClientTracking = 1u << 9,
  kClientTrackingBrokenRedir = 1u << 10,  // the REDIRECT target went away
  kClientTrackingBcast = 1u << 11,
  kClientTrackingOptin = 1u << 12,
  kClientTrackingOptout = 1u << 13,
  kClientTrackingNoloop = 1u << 14,
  kClientScript = 1u << 15,    // the client scripts run their redis.call commands as
};

// CLIENT REPLY: whether replies are sent.
// kSkip: the next command's reply is dropped; kSkipping: this command's reply is dropped.
enum class ReplyMode { kOn, kOff, kSkip, kSkipping };

// A command queued inside MULTI: the arguments are owned copies.
struct QueuedCommand {
  const CommandSpec* spec;
  std::vector<std::string> args;
  uint32_t flags;  // the command's flags when queued (a script's derived from its own)
};

struct WatchedKey {
  int db;
  std::string key;
  bool expired_when_watched;  // Redis ignores the later expiry of an already-expired key
};

class Client {
 public:
  Client(uint64_t id, UniqueFd socket, std::string peer_address, std::string local_address);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const uint64_t id;
  const std::string peer_address;   // "127.0.0.1:52311"
  const std::string local_address;  // "127.0.0.1:6379"
  const int64_t created_ms;
  int fd() const { return socket_.get(); }

  // ---- connection thread only ----
  std::string output;         // replies of the current batch
  RequestParser parser;
  bool authenticated = false;
  AclClientState acl;  // the ACL user it runs as (see server/acl_client.h for its locking)
  ReplyMode reply_mode = ReplyMode::kOn;
  std::vector<QueuedCommand> multi_queue;
  bool multi_dirty = false;         // a queued command failed to queue: EXEC aborts
  std::vector<WatchedKey> watched;  // keys WATCHed (the registry holds the reverse map)
  // An EXEC refused while a script held the keyspace lock (BUSY) ended the transaction but
  // could not unregister its WATCHes: done by the next WATCH/UNWATCH/EXEC/DISCARD.
  bool unwatch_pending = false;
  // Leaves MULTI: drops the queued commands and the transaction's flags (not its WATCHes,
  // which the registry holds under the keyspace lock).
  void end_multi() {
    multi_queue.clear();
    multi_dirty = false;
    multi_count.store(0, std::memory_order_relaxed);
    clear_flag(kClientMulti);
  }
  std::set<std::string, std::less<>> channels;  // SUBSCRIBE
  std::set<std::string, std::less<>> patterns;  // PSUBSCRIBE
  std::set<std::string, std::less<>> shard_channels;  // SSUBSCRIBE (their own namespace)
  int64_t wait_target_offset = 0;  // replication offset after this client's last write (WAIT)
  // Kernel receive time (unix ns, SO_TIMESTAMPNS) of the last bytes read; 0 when unknown.
  // Blocked clients queue in this order: two commands sent one after the other to different
  // connections may run in the other order (threads), but are served in the order sent.
  int64_t input_arrival_ns = 0;
  // Set while a blocking command waits (guarded by the keyspace lock while registered).
  std::unique_ptr<BlockedState> blocked_state;
  // CLIENT CACHING YES/NO: applies to the next command (or the transaction it starts).
  bool tracking_caching = false;

  // ---- read by other threads ----
  std::atomic<int> db{0};
  std::atomic<int> protocol{2};
  std::atomic<uint32_t> flags{0};
  std::atomic<int64_t> last_interaction_ms{0};
  std::atomic<const CommandSpec*> last_command{nullptr};
  std::atomic<size_t> multi_count{0};
  std::atomic<size_t> subscription_count{0};
  std::atomic<size_t> pattern_count{0};
  std::atomic<size_t> shard_subscription_count{0};
  std::atomic<size_t> query_buffer_size{0};
  std::atomic<size_t> output_buffer_size{0};
  std::atomic<bool> dirty_cas{false};  // a WATCHed key was touched (set under the keyspace lock)
  std::atomic<uint64_t> tracking_redirect{0};  // CLIENT TRACKING REDIRECT id (0: none)
  std::set<std::string> tracking_prefixes;     // BCAST prefixes. Guarded by Tracking's mutex

  bool has_flag(ClientFlag flag) const { return (flags.load(std::memory_order_relaxed) & flag) != 0; }
  void set_flag(ClientFlag flag) { flags.fetch_or(flag, std::memory_order_relaxed); }
  void clear_flag(ClientFlag flag) { flags.fetch_and(~flag, std::memory_order_relaxed); }

  std::string name() const;
  void set_name(std::string name);
  std::string lib_name() const;
  std::string lib_version() const;
  void set_lib(std::string name, std::string version);

  // ---- cross-thread control ----
  // Asks the connection thread to close: shuts the socket down so blocking calls return.
  void kill();
  bool killed() const { return killed_.load(std::memory_order_acquire); }

  // Async delivery (pub/sub, MONITOR). Returns false when the outbox passed its hard limit and
  // the client was killed instead.
  bool deliver(std::string_view bytes, size_t hard_limit);
  // Moves whatever the outbox holds into `out` (connection thread).
  void take_outbox(std::string* out);
  size_t outbox_size() const;
  // True when the outbox holds bytes (cheap: checked before every flush).
  bool has_outbox() const { return outbox_nonempty_.load(std::memory_order_acquire); }
  // Wakes the connection thread if it waits in poll() (blocked command, async mode).
  void wake();
  // The eventfd the connection thread polls; created on first use by the connection thread.
  int wake_fd();
  // Clears pending wake-ups (connection thread).
  void drain_wake();

  // Pushes: out-of-band messages from other threads (invalidations) that, unlike the
  // outbox, are written AFTER the replies the client has pending, so an invalidation never
  // reaches the client before a reply it makes stale. When the connection thread is idle in
  // recv() (between enter_idle() and leave_idle()) the pushing thread writes them itself,
  // without blocking: a reader blocked in recv() cannot be woken any other way. Bytes a full
  // socket did not take wait as the "lead", written before anything else.
  // Returns false when the queue passed `hard_limit` (0: none) and the client was killed.
  // `written` counts the bytes written here (INFO total_net_output_bytes); may be null.
  bool push(std::string_view bytes, size_t hard_limit, std::atomic<uint64_t>* written);
  bool has_pushes() const { return pushes_pending_.load(std::memory_order_seq_cst); }
  // The bytes of a message partly written by another thread (connection thread, first).
  void take_push_lead(std::string* out);
  // Appends the lead and the queued pushes to `out` (connection thread).
  void take_pushes(std::string* out);
  // Connection thread, around a blocking recv(): enter_idle() returns false when pushes are
  // queued (flush them, then call it again); leave_idle() waits for a pushing thread that is
  // writing to the socket.
  bool enter_idle();
  void leave_idle();

 private:
  UniqueFd socket_;
  std::atomic<bool> killed_{false};

  mutable std::mutex info_mutex_;
  std::string name_;         // Protected by info_mutex_
  std::string lib_name_;     // Protected by info_mutex_
  std::string lib_version_;  // Protected by info_mutex_

  mutable std::mutex async_mutex_;
  std::string outbox_;  // Protected by async_mutex_
  std::atomic<bool> outbox_nonempty_{false};
  UniqueFd wake_fd_;    // Protected by async_mutex_ (created once, then only read)
  std::string pushes_;      // Protected by async_mutex_
  std::string push_lead_;   // Protected by async_mutex_
  std::atomic<bool> pushes_pending_{false};  // pushes_ or push_lead_ non-empty
  // kIoIdle: the connection thread waits in recv() with nothing pending; kIoPusher: another
  // thread holds the right to write to the socket (only ever granted while kIoIdle).
  static constexpr uint32_t kIoIdle = 1;
  static constexpr uint32_t kIoPusher = 2;
  std::atomic<uint32_t> io_state_{0};
  void write_pushes_if_idle(std::atomic<uint64_t>* written);
};

int64_t unix_time_ms();
int64_t unix_time_us();
int64_t monotonic_us();

}  // namespace rd
