// Registration entry points of the command families (one file each under server/commands/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_table.h"

namespace rd {

class Client;

void register_string_commands(CommandTable& table);
void register_key_commands(CommandTable& table);
void register_server_commands(CommandTable& table);
void register_client_commands(CommandTable& table);
void register_client_tracking_commands(CommandTable& table);
void register_config_commands(CommandTable& table);
void register_command_commands(CommandTable& table);
void register_debug_commands(CommandTable& table);
void register_transaction_commands(CommandTable& table);
void register_pubsub_commands(CommandTable& table);
void register_list_commands(CommandTable& table);
void register_hash_commands(CommandTable& table);
void register_set_commands(CommandTable& table);
void register_zset_commands(CommandTable& table);
void register_geo_commands(CommandTable& table);
void register_stream_commands(CommandTable& table);
void register_sort_commands(CommandTable& table);
void register_bitops_commands(CommandTable& table);
void register_bitfield_commands(CommandTable& table);
void register_lcs_commands(CommandTable& table);
void register_introspection_commands(CommandTable& table);
void register_memory_commands(CommandTable& table);
void register_lolwut_commands(CommandTable& table);
void register_persistence_commands(CommandTable& table);
void register_replication_commands(CommandTable& table);
void register_scripting_commands(CommandTable& table);
void register_hyperloglog_commands(CommandTable& table);
void register_dump_restore_commands(CommandTable& table);
void register_acl_commands(CommandTable& table);

// One line of CLIENT LIST / CLIENT INFO for `client` (client_cmds.cc; ACL LOG's client-info).
std::string client_info_line(const Client& client, int64_t now_ms);

// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE then checks the payload's version only.
void set_restore_skip_checksum(bool skip);

}  // namespace rd
