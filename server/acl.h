// Access control lists, as Redis 7.0: the users (server/acl_user.h), authentication, the
// per-command permission check, ACL LOG, and ACL LOAD / SAVE with `aclfile`.
//
// Users live in a map of immutable snapshots (std::shared_ptr<const AclUser>) guarded by
// mutex_; every change publishes new snapshots and bumps epoch_. Each client caches its
// user's snapshot and an "unrestricted" flag (server/acl_client.h) and re-reads them only when
// the epoch moved, so the dispatcher's check for a user that may run everything (the default
// user, unless configured otherwise) is one atomic load, a compare and a branch: no lock.
//
// Lock order: keyspace -> mutex_ -> clients_mutex_ | PubSub | Client locks; log_mutex_ is a
// leaf. Nothing here takes the keyspace lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/acl_user.h"
#include "server/client.h"

namespace rd {

class Server;
struct CommandSpec;

// Where a denied call came from (ACL LOG's "context").
enum class AclContext { kTopLevel, kMulti, kLua };

struct AclLogEntry {
  uint64_t count = 1;
  AclDenial reason = AclDenial::kCommand;
  AclContext context = AclContext::kTopLevel;
  std::string object;       // command name, key, channel, or AUTH's command name
  std::string username;
  std::string client_info;  // the client's CLIENT LIST line at the time
  int64_t created_ms = 0;   // last occurrence
};

const char* acl_context_name(AclContext context);  // "toplevel", "multi", "lua"

// Validates a `user <name> <rules...>` configuration line as Redis does when reading the
// config file (unknown commands are only reported at startup). `previous`: the user lines
// read so far. Returns "" or the reason for the FATAL CONFIG FILE ERROR report.
std::string acl_check_user_line(const std::vector<std::string>& args,
                                const std::vector<std::vector<std::string>>& previous);

class Acl {
 public:
  explicit Acl(Server& server);

  // ---- the dispatcher ----
  // True when `client` may run anything: nothing to check. The hot path.
  bool unrestricted(Client& client) {
    if (client.acl.epoch != epoch_.load(std::memory_order_acquire)) [[unlikely]] refresh(client);
    return client.acl.unrestricted;
  }
  // Checks a call against the client's user. On denial: records it in ACL LOG, sets *error to
  // the NOPERM reply (without '-') and returns false. Clients of our master are never checked.
  bool check_command(Client& client, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                     AclContext context, std::string* error);
  // EXEC: a queued command checked again (the rules may have changed since it was queued).
  bool check_queued_command(Client& client, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                            std::string* error);

  // ---- scripts (for server/scripting): redis.call / redis.pcall run as the caller's user ----
  // On denial logs it (context "lua") and sets *error to Redis's script error text.
  bool check_script_command(Client& caller, const CommandSpec& spec, const std::vector<std::string>& args,
                            std::string* error);
  // redis.acl_check_cmd: the same check, nothing logged.
  bool script_command_allowed(Client& caller, const CommandSpec& spec, const std::vector<std::string>& args);

  // ---- authentication (AUTH, HELLO AUTH, RESET) ----
  // On success the client runs as `username` from now on. On failure logs an "auth" entry
  // (object: the command name as sent) and returns false.
  bool authenticate(Client& client, std::string_view username, std::string_view password,
                    std::string_view command_name, bool in_multi);
  // RESET: back to the default user, authenticated if the default user needs no password.
  void reset_client(Client& client);
  bool default_user_nopass() const;
  bool user_exists(std::string_view name) const;
  // RESTORE's sanitize-dump-payload=clients: whether the client's user has skip-sanitize-payload.
  bool skips_sanitize_payload(Client& client);

  // ---- configuration ----
  // requirepass: the default user's only password, or nopass when empty.
  void set_default_password(std::string_view password);
  // At startup: the config file's `user` lines, then `aclfile`. Returns "" or the lines to log
  // before exiting (Redis refuses to start).
  std::vector<std::string> load_at_startup(const std::vector<std::vector<std::string>>& user_lines);

  // ---- ACL subcommands (server/commands/acl_cmds.cc) ----
  // ACL SETUSER: "" or the error reply (without '-'). Pub/sub clients of the user that lost
  // access to their channels are disconnected (`caller` after its reply).
  std::string set_user(Client& caller, std::string_view name, const std::vector<std::string>& rules);
  // ACL DELUSER: how many existed. Their clients are disconnected (`caller` after its reply).
  int64_t delete_users(Client& caller, const std::vector<std::string_view>& names);
  std::shared_ptr<const AclUser> find_user(std::string_view name) const;
  std::vector<std::shared_ptr<const AclUser>> all_users() const;  // sorted by name
  // ACL LOAD / ACL SAVE: "" or the error reply (without '-').
  std::string load_file(Client& caller);
  std::string save_file();
  bool has_acl_file() const;
  // The client's user (ACL WHOAMI, ACL DRYRUN).
  std::string user_name(const Client& client) const { return client.acl.user_name(); }

  // ---- ACL LOG ----
  std::vector<AclLogEntry> log_entries(size_t count) const;  // newest first
  void reset_log();
  void add_log_entry(Client& client, AclDenial reason, AclContext context, std::string object,
                     std::string username);

 private:
  using UserMap = std::map<std::string, std::shared_ptr<const AclUser>, std::less<>>;

  void refresh(Client& client);
  // Publishes a change: the epoch bump makes every client re-read its user. REQUIRES: mutex_.
  void changed_locked();
  void update_auth_required_locked();
  bool channels_default_all() const;
  std::string deny(Client& client, const AclUser* user, const CommandSpec& spec, const AclCommand& command,
                   const AclVerdict& verdict, const std::vector<std::string_view>& argv, AclContext context);
  // Parses an ACL file into `users`; "" or the errors (Redis's texts).
  std::string read_acl_file(const std::string& path, UserMap* users);
  void kill_clients_of(Client* caller, const std::vector<std::string>& names, bool all_but_default);
  void kill_pubsub_clients(Client& caller, const AclUser& old_user, const AclUser& new_user);

  Server& server_;
  alignas(64) std::atomic<uint64_t> epoch_{1};  // read by every command: its own cache line
  alignas(64) mutable std::shared_mutex mutex_;
  UserMap users_;               // Protected by mutex_
  uint64_t next_user_id_ = 2;   // Protected by mutex_ (1 is the default user's)

  mutable std::mutex log_mutex_;
  std::deque<AclLogEntry> log_;  // Protected by log_mutex_; newest first
};

}  // namespace rd
