// INFO persistence (placeholder until the persistence work lands).
#include "server/info.h"
#include "server/server.h"

namespace rd {

void append_persistence_info(Server& server, std::string* out) {
  info_field(out, "loading", 0);
  info_field(out, "async_loading", 0);
  info_field(out, "rdb_changes_since_last_save", server.keyspace.dirty);
  info_field(out, "rdb_bgsave_in_progress", 0);
  info_field(out, "rdb_last_save_time", server.start_time_ms / 1000);
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
