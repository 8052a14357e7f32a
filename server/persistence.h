// Persistence: RDB snapshots (SAVE, BGSAVE, save points, load at startup) and the
// append-only file. (Interface used by the server; implemented in persistence.cc.)
//
// Thread-safety: every method may be called from any thread unless noted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rd {

class Server;
class Client;
class CommandContext;

class Persistence {
 public:
  explicit Persistence(Server& server);
  ~Persistence();
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // Loads the AOF or RDB at startup (before clients connect). Returns "" or the reason the
  // server must refuse to start.
  std::string load_at_startup();
  // Called every 100 ms by the cron thread: save points, background children, AOF fsync.
  void cron();
  // SHUTDOWN / SIGTERM: save if configured (or forced). False: saving failed, abort shutdown.
  bool prepare_shutdown(bool force_save, bool force_nosave);
  // DEBUG RELOAD. REQUIRES: keyspace lock exclusive. Returns "" or the error reply text.
  std::string debug_reload(CommandContext& ctx);
  // After CONFIG SET of `name` (appendonly, save, dir, ...). Returns "" or an error text.
  std::string config_changed(std::string_view name);
  // MISCONF: writes are refused after a failed background save (stop-writes-on-bgsave-error).
  bool writes_denied() const;
  // `appendfsync always`: called before a client's replies are sent, so an acknowledged
  // write is on disk first. Cheap when there is nothing to sync.
  void sync_before_reply(Client& client);
  // INFO persistence. REQUIRES: keyspace lock held (shared is enough).
  void append_info(std::string* out);

 private:
  Server& server_;
};

}  // namespace rd
