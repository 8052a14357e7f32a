// replication commands (placeholder: registered by the replication work).
#include "server/commands/families.h"

namespace rd {

void register_replication_commands(CommandTable& table) { (void)table; }

}  // namespace rd
