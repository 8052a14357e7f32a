// zset commands (placeholder: registered by the zset work).
#include "server/commands/families.h"

namespace rd {

void register_zset_commands(CommandTable& table) { (void)table; }

}  // namespace rd
