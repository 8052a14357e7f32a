// INFO replication (placeholder until the replication work lands).
#include "server/info.h"
#include "server/server.h"

namespace rd {

void append_replication_info(Server& server, std::string* out) {
  (void)server;
  info_field(out, "role", "master");
  info_field(out, "connected_slaves", 0);
  info_field(out, "master_failover_state", "no-failover");
  info_field(out, "master_replid", server.run_id);
  info_field(out, "master_replid2", "0000000000000000000000000000000000000000");
  info_field(out, "master_repl_offset", 0);
  info_field(out, "second_repl_offset", -1);
  info_field(out, "repl_backlog_active", 0);
  info_field(out, "repl_backlog_size", server.config.get_int("repl-backlog-size"));
  info_field(out, "repl_backlog_first_byte_offset", 0);
  info_field(out, "repl_backlog_histlen", 0);
}

void append_replication_stats(Server& server, std::string* out) {
  (void)server;
  info_field(out, "sync_full", 0);
  info_field(out, "sync_partial_ok", 0);
  info_field(out, "sync_partial_err", 0);
}

}  // namespace rd
