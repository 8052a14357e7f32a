// Helpers shared by bitops.cc (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) and bitfield.cc.
#pragma once

#include <cstdint>
#include <string_view>

#include "server/command_context.h"

namespace rd {

// A bit offset argument. With field_bits > 0 (BITFIELD) "#N" means N * field_bits. Replies
// "ERR bit offset is not an integer or out of range" for garbage, negative offsets and offsets
// past proto-max-bulk-len bytes.
bool parse_bit_offset(CommandContext& ctx, std::string_view text, int field_bits, uint64_t* offset);

// The string at `key` ready to have bits up to `highest_bit` written: created zero-filled when
// missing, zero-padded when shorter. *grown tells whether it was created or lengthened (a
// change even if no bit flips). Replies WRONGTYPE and returns nullptr for other types.
KeyEntry* string_for_bit_write(CommandContext& ctx, std::string_view key, uint64_t highest_bit, bool* grown);

}  // namespace rd
