// hash commands (placeholder: registered by the hash work).
#include "server/commands/families.h"

namespace rd {

void register_hash_commands(CommandTable& table) { (void)table; }

}  // namespace rd
