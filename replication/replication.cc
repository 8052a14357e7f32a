// Placeholder replication: always a master without replicas.
#include "replication/replication.h"

#include "server/info.h"
#include "server/server.h"

namespace rd {

Replication::Replication(Server& server) : server_(server) {}
Replication::~Replication() = default;

void Replication::start() {}
void Replication::cron() {}
void Replication::shutdown() {}
bool Replication::is_replica() const { return false; }
std::string Replication::config_changed(std::string_view name) {
  (void)name;
  return "";
}

void Replication::append_info(std::string* out) {
  info_field(out, "role", "master");
  info_field(out, "connected_slaves", 0);
  info_field(out, "master_failover_state", "no-failover");
  info_field(out, "master_replid", server_.run_id);
  info_field(out, "master_replid2", "0000000000000000000000000000000000000000");
  info_field(out, "master_repl_offset", 0);
  info_field(out, "second_repl_offset", -1);
  info_field(out, "repl_backlog_active", 0);
  info_field(out, "repl_backlog_size", server_.config.get_int("repl-backlog-size"));
  info_field(out, "repl_backlog_first_byte_offset", 0);
  info_field(out, "repl_backlog_histlen", 0);
}

void Replication::append_stats(std::string* out) {
  info_field(out, "sync_full", 0);
  info_field(out, "sync_partial_ok", 0);
  info_field(out, "sync_partial_err", 0);
}

}  // namespace rd
