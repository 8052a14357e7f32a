// set commands (placeholder: registered by the set work).
#include "server/commands/families.h"

namespace rd {

void register_set_commands(CommandTable& table) { (void)table; }

}  // namespace rd
