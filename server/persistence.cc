// Placeholder persistence: nothing is saved or loaded yet.
#include "server/persistence.h"

#include "server/info.h"
#include "server/server.h"

namespace rd {

Persistence::Persistence(Server& server) : server_(server) {}
Persistence::~Persistence() = default;

std::string Persistence::load_at_startup() { return ""; }
void Persistence::cron() {}
bool Persistence::prepare_shutdown(bool force_save, bool force_nosave) {
  (void)force_save;
  (void)force_nosave;
  return true;
}
std::string Persistence::debug_reload(CommandContext& ctx) {
  (void)ctx;
  return "";
}
std::string Persistence::config_changed(std::string_view name) {
  (void)name;
  return "";
}
bool Persistence::writes_denied() const { return false; }
void Persistence::sync_before_reply(Client& client) { (void)client; }

void Persistence::append_info(std::string* out) {
  info_field(out, "loading", 0);
  info_field(out, "async_loading", 0);
  info_field(out, "rdb_changes_since_last_save", server_.keyspace.dirty);
  info_field(out, "rdb_bgsave_in_progress", 0);
  info_field(out, "rdb_last_save_time", server_.start_time_ms / 1000);
  info_field(out, "rdb_last_bgsave_status", "ok");
  info_field(out, "rdb_last_bgsave_time_sec", -1);
  info_field(out, "rdb_current_bgsave_time_sec", -1);
  info_field(out, "aof_enabled", 0);
  info_field(out, "aof_rewrite_in_progress", 0);
  info_field(out, "aof_rewrite_scheduled", 0);
  info_field(out, "aof_last_rewrite_time_sec", -1);
  info_field(out, "aof_current_rewrite_time_sec", -1);
  info_field(out, "aof_last_bgrewrite_status", "ok");
  info_field(out, "aof_last_write_status", "ok");
}

}  // namespace rd
