// What a command handler sees: its arguments, its client, the reply writer, and the keyspace
// operations that carry Redis's generic semantics (expiry on access, WATCH invalidation,
// dirty counting, propagation to replicas/AOF, waking blocked clients).
//
// The dispatcher holds the keyspace lock the command's flags ask for (shared for readonly,
// exclusive for write) for the whole handler; handlers never lock the keyspace themselves.
//
// Writing a handler:
//   void cmd_get(CommandContext& ctx) {
//     KeyEntry* e = ctx.lookup_read(ctx.arg(1));
//     if (e == nullptr) return ctx.reply.null();
//     if (!ctx.check_type(e, ValueType::kString)) return;  // replied WRONGTYPE
//     ctx.reply.bulk(e->value.str());
//   }
// A write handler calls ctx.key_modified(key) for every key it changes (WATCH + dirty), and
// ctx.signal_ready(key) when it adds elements a blocked client might pop. A command that made
// changes is propagated verbatim unless it calls propagate_as()/no_propagate().
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/reply.h"
#include "server/blocking.h"
#include "server/notify.h"
#include "storage/db.h"

namespace rd {

class Server;
class Client;
struct CommandSpec;

inline constexpr std::string_view kWrongTypeError =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kNotIntegerError = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloatError = "ERR value is not a valid float";
inline constexpr std::string_view kNoSuchKeyError = "ERR no such key";
inline constexpr std::string_view kOutOfRangeError = "ERR index out of range";

// One command to hand to the write stream.
struct Propagation {
  int db;
  std::vector<std::string> args;
  bool replication_only = false;  // for replicas, not the AOF (PUBLISH)
};

class CommandContext {
 public:
  CommandContext(Server& server, Client& client, const CommandSpec& spec,
                 const std::vector<std::string_view>& argv, Reply& reply, int db_index);

  Server& server;
  Client& client;
  const CommandSpec& spec;
  const std::vector<std::string_view>& argv;
  Reply& reply;
  int64_t now_ms;  // the command's clock: one value for the whole command
  bool error_not_counted = false;  // DEBUG ERROR: an error reply that INFO errorstats ignores

  size_t argc() const { return argv.size(); }
  std::string_view arg(size_t i) const { return argv[i]; }

  int db_index() const { return db_index_; }
  Db& db();
  Db& db(int index);
  // SELECT / MOVE targets: false (and no change) when out of range.
  bool select_db(int index);

  // ---- keyspace access ----
  // Read path, as Redis's lookupKeyRead: a logically expired key is reported absent, and on a
  // master deleted ("expired" event, DEL propagated): at once when the command holds the
  // exclusive lock (write commands, EXEC, served waiters), else by the dispatcher right after
  // the command. Counts keyspace hits/misses, publishes "keymiss" for an absent key, and
  // (unless `touch` is false: EXISTS, TYPE, TTL) refreshes the access clock.
  KeyEntry* lookup_read(std::string_view key, bool touch = true);
  // No statistics, access-clock update, notification nor deletion (OBJECT, DEBUG...).
  KeyEntry* peek(std::string_view key);
  // A logically expired key met outside lookups (SCAN, RANDOMKEY): deleted like lookup_read
  // deletes one. REQUIRES: the key is expired at now_ms.
  void expire_lazily(std::string_view key);
  // Write path: on a master an expired key is deleted (and DEL propagated) before returning.
  // REQUIRES: exclusive lock.
  KeyEntry* lookup_write(std::string_view key);
  KeyEntry* lookup_write(int db, std::string_view key);
  // Replies WRONGTYPE and returns false when `entry` is not of `type`.
  bool check_type(const KeyEntry* entry, ValueType type);

  // ---- effects of writes ----
  // Every key a write changes (including deletions): WATCH and client tracking invalidation,
  // and dirty++.
  void key_modified(std::string_view key) { key_modified(db_index_, key); }
  void key_modified(int db, std::string_view key);
  // The same without dirty++ (a change counted otherwise).
  void key_signalled(int db, std::string_view key);
  // Blocked clients waiting on `key` may now be served (list push, zset add, ...).
  void signal_ready(std::string_view key) { signal_ready(db_index_, key); }
  void signal_ready(int db, std::string_view key);
  // Keyspace notification (notify-keyspace-events) of `event` on `key`, in this command's db
  // or `db`. Costs one relaxed load when the class is disabled. Call it right after the change,
  // in Redis's order (e.g. "new" when a key is created, then "set", then "expire").
  void notify(NotifyClass cls, std::string_view event, std::string_view key) { notify(cls, event, key, db_index_); }
  void notify(NotifyClass cls, std::string_view event, std::string_view key, int db) {
    const uint32_t flags = notify_flags_->load(std::memory_order_relaxed);
    if ((flags & notify_bit(cls)) != 0) [[unlikely]] publish_keyspace_event(server, flags, event, key, db);
  }
  // Extra changes to count without a key (FLUSHALL counts every key).
  void add_dirty(int64_t changes) { dirty_ += changes; }
  int64_t dirty() const { return dirty_; }

  // ---- propagation ----
  // Replaces the verbatim propagation of this command by `args` (may be called repeatedly to
  // propagate several commands, in order). Only used when the command made changes.
  void propagate_as(std::vector<std::string> args);
  void propagate_as(std::initializer_list<std::string_view> args);
  // Propagates an extra command right now, in order with other propagations (e.g. the DEL
  // of an expired key). Independent of dirty().
  void also_propagate(int db, std::vector<std::string> args);
  // Propagates this command as is to replicas only (PUBLISH), when its lock allows it.
  void propagate_to_replicas();
  // This command changed things that must not be propagated.
  void no_propagate() { propagation_suppressed_ = true; }

  // ---- blocking ----
  // False inside MULTI/EXEC: blocking commands must answer at once.
  bool may_block() const { return may_block_; }
  // Parks the client until one of `keys` is signalled ready, then the command runs again.
  // deadline_ms: absolute unix ms, 0 = forever. Only valid when may_block().
  void block(std::vector<std::string> keys, int64_t deadline_ms, TimeoutReply timeout_reply);
  bool blocked() const { return blocked_; }
  // With block(): the arguments the waiter is re-run with instead of its own (XREAD keeps the
  // IDs "$" stood for when it blocked).
  void set_block_args(std::vector<std::string> args) { block_args_ = std::move(args); }
  // With block(): also re-run when a key is deleted or stops holding `type` (BlockedState).
  void set_block_vanish_type(ValueType type) { block_vanish_type_ = type; }

  // Inside EXEC or a script: the outer command wraps what this one propagates (a script
  // running inside EXEC must not add its own MULTI/EXEC).
  bool nested() const { return nested_; }
  // The client whose command this is part of: `client` itself, except for a script's commands
  // (run by the script's own client) where it is the EVAL/FCALL caller.
  Client& caller() { return *caller_; }

  // ---- used by the dispatcher ----
  void set_may_block(bool may) { may_block_ = may; }
  void set_nested(bool nested) { nested_ = nested; }
  void set_caller(Client& caller) { caller_ = &caller; }
  // The command runs under the exclusive keyspace lock (lookup_read may delete expired keys).
  void set_exclusive(bool exclusive) { exclusive_ = exclusive; }
  bool exclusive() const { return exclusive_; }
  // Under the shared lock, the expired keys a read met, to delete (publishing "expired") right
  // after the command, and, after the first of them, the keymiss events, so that the events
  // keep Redis's order ("expired" before the key's "keymiss").
  struct Deferred {
    std::string key;
    bool keymiss;  // false: delete the key if it is still expired
  };
  std::vector<Deferred>& deferred() { return deferred_; }
  void set_retrying_blocked(bool retrying) { retrying_blocked_ = retrying; }
  bool retrying_blocked() const { return retrying_blocked_; }
  // While a waiter is re-run: the key whose signal woke it. Redis 7.0 serves a waiter from
  // that key only, even when an earlier key of the command also got data meanwhile.
  void set_ready_key(std::string_view key) { ready_key_ = key; }
  std::string_view ready_key() const { return ready_key_; }
  bool propagation_suppressed() const { return propagation_suppressed_; }
  bool has_rewrite() const { return has_rewrite_; }
  std::vector<Propagation>& propagations() { return propagations_; }
  const std::vector<Propagation>& rewrites() const { return rewrites_; }
  std::vector<std::string>& block_keys() { return block_keys_; }
  std::vector<std::string>& block_args() { return block_args_; }
  std::optional<ValueType> block_vanish_type() const { return block_vanish_type_; }
  int64_t block_deadline() const { return block_deadline_; }
  TimeoutReply block_timeout_reply() const { return block_timeout_reply_; }

 private:
  int db_index_;
  const std::atomic<uint32_t>* notify_flags_;  // Server::notify_keyspace_events
  Client* caller_;
  int64_t dirty_ = 0;
  bool exclusive_ = false;
  std::vector<Deferred> deferred_;
  bool propagation_suppressed_ = false;
  bool has_rewrite_ = false;
  bool may_block_ = true;
  bool nested_ = false;
  bool retrying_blocked_ = false;
  std::string_view ready_key_;
  bool blocked_ = false;
  // Extra propagations (also_propagate) and rewrites (propagate_as), in call order.
  // The rewrites are marked by has_rewrite_ and appended after the extras at the end.
  std::vector<Propagation> propagations_;
  std::vector<Propagation> rewrites_;
  std::vector<std::string> block_keys_;
  std::vector<std::string> block_args_;
  std::optional<ValueType> block_vanish_type_;
  int64_t block_deadline_ = 0;
  TimeoutReply block_timeout_reply_ = TimeoutReply::kNullArray;

  friend class Server;
};

// Small parsing helpers shared by command families. Each replies the Redis error on failure.
bool parse_int_arg(CommandContext& ctx, std::string_view text, int64_t* out,
                   std::string_view error = kNotIntegerError);
bool parse_double_arg(CommandContext& ctx, std::string_view text, double* out,
                      std::string_view error = kNotFloatError);
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace rd
