// Registration entry points of the command families (one file each under server/commands/).
#pragma once

#include <string_view>
#include <vector>

#include "server/command_table.h"

namespace rd {

void register_string_commands(CommandTable& table);
void register_key_commands(CommandTable& table);
void register_server_commands(CommandTable& table);
void register_client_commands(CommandTable& table);
void register_config_commands(CommandTable& table);
void register_command_commands(CommandTable& table);
void register_debug_commands(CommandTable& table);
void register_transaction_commands(CommandTable& table);
void register_pubsub_commands(CommandTable& table);
void register_list_commands(CommandTable& table);
void register_hash_commands(CommandTable& table);
void register_set_commands(CommandTable& table);
void register_zset_commands(CommandTable& table);
void register_sort_commands(CommandTable& table);
void register_persistence_commands(CommandTable& table);
void register_replication_commands(CommandTable& table);

// The argument positions holding keys, for fixed and argument-dependent (movablekeys) commands.
std::vector<int> command_key_positions(const CommandSpec& spec, const std::vector<std::string_view>& args);

}  // namespace rd
