// sort commands (placeholder: registered by the sort work).
#include "server/commands/families.h"

namespace rd {

void register_sort_commands(CommandTable& table) { (void)table; }

}  // namespace rd
