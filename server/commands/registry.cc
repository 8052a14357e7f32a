// The full command table: every family registers its commands here.
#include "server/commands/families.h"

namespace rd {

void register_all_commands(CommandTable& table) {
  register_string_commands(table);
  register_key_commands(table);
  register_server_commands(table);
  register_client_commands(table);
  register_client_tracking_commands(table);
  register_config_commands(table);
  register_command_commands(table);
  register_debug_commands(table);
  register_transaction_commands(table);
  register_pubsub_commands(table);
  register_list_commands(table);
  register_hash_commands(table);
  register_set_commands(table);
  register_zset_commands(table);
  register_geo_commands(table);
  register_stream_commands(table);
  register_sort_commands(table);
  register_bitops_commands(table);
  register_bitfield_commands(table);
  register_lcs_commands(table);
  register_introspection_commands(table);
  register_memory_commands(table);
  register_lolwut_commands(table);
  register_persistence_commands(table);
  register_replication_commands(table);
  register_scripting_commands(table);
  register_hyperloglog_commands(table);
  register_dump_restore_commands(table);
  register_acl_commands(table);
}

}  // namespace rd
