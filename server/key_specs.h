// Key specifications: where a command's keys are in its arguments, as Redis 7 describes them
// (COMMAND INFO's key specs: a begin_search step, then a find_keys step). Parsed once from the
// command metadata, used by COMMAND GETKEYS / GETKEYSANDFLAGS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rd {

struct KeySpec {
  std::vector<std::string> flags;  // "RW", "access", "update", ...
  // begin_search
  enum class Begin { kIndex, kKeyword, kUnknown } begin = Begin::kUnknown;
  int index = 0;            // kIndex
  std::string keyword;      // kKeyword
  int start_from = 0;       // kKeyword: where to start looking (negative: from the end)
  // find_keys
  enum class Find { kRange, kKeynum, kUnknown } find = Find::kUnknown;
  int last_key = 0;         // kRange: relative to the first key (negative: from the end)
  int key_step = 1;
  int limit = 0;
  int keynum_index = 0;     // kKeynum: relative to the first key
  int first_key = 0;        // kKeynum
};

struct FoundKey {
  int position;
  const KeySpec* spec;
};

// Parses the key specs out of one command's COMMAND INFO reply (RESP2 bytes).
std::vector<KeySpec> parse_key_specs(std::string_view info_reply);

// Applies the specs to `args` (args[0] is the command name). Returns false when the arguments
// do not fit the specs (e.g. a key count larger than the arguments).
bool find_keys(const std::vector<KeySpec>& specs, const std::vector<std::string_view>& args,
               std::vector<FoundKey>* keys);

}  // namespace rd
