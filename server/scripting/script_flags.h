// Flags a script declares (EVAL's "#!lua flags=..." shebang, redis.register_function's
// flags), with Redis 7.0's names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/request_parser.h"

namespace rd {

enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  // An EVAL script without a shebang: Redis 6 semantics, flags are not checked up front.
  kScriptEvalCompat = 1u << 8,
};

struct ScriptFlagName {
  ScriptFlag flag;
  std::string_view name;
};
inline constexpr ScriptFlagName kScriptFlagNames[] = {
    {kScriptNoWrites, "no-writes"},
    {kScriptAllowOom, "allow-oom"},
    {kScriptAllowStale, "allow-stale"},
    {kScriptNoCluster, "no-cluster"},
};

// The flag called `name`, or 0.
inline uint32_t script_flag_by_name(std::string_view name) {
  for (const ScriptFlagName& f : kScriptFlagNames) {
    if (f.name == name) return f.flag;
  }
  return 0;
}

// Splits a "#!lua ..." line into words as Redis does (sdssplitargs: quotes and escapes, so
// name="foo" names the library foo). False on unbalanced quotes.
inline bool split_shebang(std::string_view line, std::vector<std::string>* words) {
  return RequestParser::split_args(line, words);
}

}  // namespace rd
