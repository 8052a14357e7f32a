// persistence commands (placeholder: registered by the persistence work).
#include "server/commands/families.h"

namespace rd {

void register_persistence_commands(CommandTable& table) { (void)table; }

}  // namespace rd
