// list commands (placeholder: registered by the list work).
#include "server/commands/families.h"

namespace rd {

void register_list_commands(CommandTable& table) { (void)table; }

}  // namespace rd
