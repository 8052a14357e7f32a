// The multi-key set commands (SINTER, SINTERCARD, SUNION, SDIFF, their STORE forms, SMEMBERS),
// registered by register_set_commands.
#pragma once

#include "server/command_context.h"
#include "server/command_table.h"
#include "storage/set.h"

namespace rd {

void register_set_algebra_commands(CommandTable& table);

// Replies `set`'s members as a RESP set in the order SUNION of that one key gives them: Redis
// copies the members into a fresh set first, so integers come out sorted whenever that copy
// is an intset, even if `set` itself is a hashtable.
void reply_set_members(CommandContext& ctx, const SetValue& set);

}  // namespace rd
