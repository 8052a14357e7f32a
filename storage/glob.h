// Glob-style pattern matching with the exact semantics of Redis 7.0's
// stringmatchlen(), used by KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET, etc.
#pragma once

#include <string_view>

namespace rd {

// Returns whether `str` matches `pattern`. Binary safe. Semantics (Redis 7.0):
//   *        any run of bytes (consecutive stars act as one)
//   ?        exactly one byte
//   [...]    one byte from a set; "[^...]" negates; "a-z" is a range whose ends
//            are compared as *signed* chars and swapped when reversed
//            ("[z-a]" == "[a-z]"); "\x" inside is a literal x (compared
//            case-sensitively even when nocase); "[]" matches nothing and
//            "[^]" any byte; a set with no closing ']' extends to the end of
//            the pattern (so "[abc" acts as "[abc]", "[a-]" is the range ']'..'a')
//   \x       literal x; a trailing lone '\' is a literal backslash
// Quirks kept on purpose:
//   - the empty string only matches the empty pattern (even "*" fails), so
//     callers must special-case the match-all pattern "*" as Redis does;
//   - a match that has to get past more than 1000 '*' groups fails (Redis's
//     recursion guard; a final trailing '*' group does not count);
//   - nocase folds with the C-locale tolower() applied to signed chars, which
//     matters only for ranges involving bytes >= 0x80.
// Runs in O(|pattern| * |str|) time without recursion.
bool glob_match(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace rd
