// Unit tests for rd::glob_match. Every expectation in the "observed" cases was
// checked against Redis 7.0.15 (KEYS for case-sensitive matching, CONFIG GET
// for nocase matching, PSUBSCRIBE for the empty-channel case).
#include "storage/glob.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace std::literals;
using rd::glob_match;

TEST_CASE("glob: observed Redis 7.0.15 KEYS behaviour") {
  CHECK(glob_match(""sv, ""sv) == true);
  CHECK(glob_match(""sv, "a"sv) == false);
  CHECK(glob_match("**"sv, ""sv) == false);
  CHECK(glob_match("?"sv, ""sv) == false);
  CHECK(glob_match("a"sv, ""sv) == false);
  CHECK(glob_match("a*"sv, "abc"sv) == true);
  CHECK(glob_match("*c"sv, "abc"sv) == true);
  CHECK(glob_match("*b*"sv, "abc"sv) == true);
  CHECK(glob_match("a*c"sv, "ac"sv) == true);
  CHECK(glob_match("a*c"sv, "abbbc"sv) == true);
  CHECK(glob_match("a*c"sv, "abcd"sv) == false);
  CHECK(glob_match("a**c"sv, "abc"sv) == true);
  CHECK(glob_match("a*"sv, "a"sv) == true);
  CHECK(glob_match("*a"sv, "a"sv) == true);
  CHECK(glob_match("a*b*"sv, "ab"sv) == true);
  CHECK(glob_match("?"sv, "a"sv) == true);
  CHECK(glob_match("??"sv, "a"sv) == false);
  CHECK(glob_match("a?c"sv, "abc"sv) == true);
  CHECK(glob_match("a?c"sv, "ac"sv) == false);
  CHECK(glob_match("h?llo"sv, "hello"sv) == true);
  CHECK(glob_match("h*llo"sv, "heeeello"sv) == true);
  CHECK(glob_match("h[ae]llo"sv, "hallo"sv) == true);
  CHECK(glob_match("h[ae]llo"sv, "hillo"sv) == false);
  CHECK(glob_match("h[^e]llo"sv, "hallo"sv) == true);
  CHECK(glob_match("h[^e]llo"sv, "hello"sv) == false);
  CHECK(glob_match("h[a-b]llo"sv, "hbllo"sv) == true);
  CHECK(glob_match("h[a-b]llo"sv, "hcllo"sv) == false);
  CHECK(glob_match("[z-a]"sv, "m"sv) == true);
  CHECK(glob_match("[z-a]"sv, "A"sv) == false);
  CHECK(glob_match("[a-z]"sv, "A"sv) == false);
  CHECK(glob_match("[A-z]"sv, "_"sv) == true);
  CHECK(glob_match("[Z-a]"sv, "\\"sv) == true);
  CHECK(glob_match("[abc"sv, "a"sv) == true);
  CHECK(glob_match("[abc"sv, "d"sv) == false);
  CHECK(glob_match("[abc"sv, "ab"sv) == false);
  CHECK(glob_match("["sv, "["sv) == false);
  CHECK(glob_match("["sv, "a"sv) == false);
  CHECK(glob_match("x["sv, "x"sv) == false);
  CHECK(glob_match("[^"sv, "x"sv) == true);
  CHECK(glob_match("[^"sv, "^"sv) == true);
  CHECK(glob_match("[^"sv, ""sv) == false);
  CHECK(glob_match("[]"sv, "]"sv) == false);
  CHECK(glob_match("[]]"sv, "]"sv) == false);
  CHECK(glob_match("[]]"sv, "]]"sv) == false);
  CHECK(glob_match("[^]"sv, "x"sv) == true);
  CHECK(glob_match("[^]]"sv, "]"sv) == false);
  CHECK(glob_match("[^]]"sv, "]]"sv) == true);
  CHECK(glob_match("[]a]"sv, "]a]"sv) == false);
  CHECK(glob_match("[a-]"sv, "a"sv) == true);
  CHECK(glob_match("[a-]"sv, "-"sv) == false);
  CHECK(glob_match("[a-]"sv, "_"sv) == true);
  CHECK(glob_match("[a-]"sv, "]"sv) == true);
  CHECK(glob_match("[a-]"sv, "b"sv) == false);
  CHECK(glob_match("[a-]x"sv, "x"sv) == true);
  CHECK(glob_match("[a-]x"sv, "ax"sv) == false);
  CHECK(glob_match("[a-"sv, "-"sv) == true);
  CHECK(glob_match("[a-"sv, "a"sv) == true);
  CHECK(glob_match("[a-"sv, "b"sv) == false);
  CHECK(glob_match("[-a]"sv, "-"sv) == true);
  CHECK(glob_match("[-a]"sv, "a"sv) == true);
  CHECK(glob_match("[a-c-e]"sv, "d"sv) == false);
  CHECK(glob_match("[a-c-e]"sv, "-"sv) == true);
  CHECK(glob_match("[a-c-e]"sv, "e"sv) == true);
  CHECK(glob_match("[\\]]"sv, "]"sv) == true);
  CHECK(glob_match("[\\]"sv, "]"sv) == true);
  CHECK(glob_match("[\\]"sv, "\\"sv) == false);
  CHECK(glob_match("[\\"sv, "\\"sv) == true);
  CHECK(glob_match("[\\\\]"sv, "\\"sv) == true);
  CHECK(glob_match("[\\-]"sv, "-"sv) == true);
  CHECK(glob_match("[a\\-c]"sv, "b"sv) == false);
  CHECK(glob_match("[a\\-c]"sv, "-"sv) == true);
  CHECK(glob_match("[\\a-c]"sv, "b"sv) == false);
  CHECK(glob_match("[a-\\c]"sv, "b"sv) == false);
  CHECK(glob_match("[a-\\c]"sv, "\\"sv) == true);
  CHECK(glob_match("[a-\\c]"sv, "c"sv) == true);
  CHECK(glob_match("[a-\\c]"sv, "]"sv) == true);
  CHECK(glob_match("\\*"sv, "*"sv) == true);
  CHECK(glob_match("\\*"sv, "a"sv) == false);
  CHECK(glob_match("\\?"sv, "?"sv) == true);
  CHECK(glob_match("\\?"sv, "a"sv) == false);
  CHECK(glob_match("\\[a]"sv, "[a]"sv) == true);
  CHECK(glob_match("\\[a]"sv, "a"sv) == false);
  CHECK(glob_match("\\a"sv, "a"sv) == true);
  CHECK(glob_match("a\\"sv, "a\\"sv) == true);
  CHECK(glob_match("a\\"sv, "a"sv) == false);
  CHECK(glob_match("\\"sv, "\\"sv) == true);
  CHECK(glob_match("\\\\"sv, "\\"sv) == true);
  CHECK(glob_match("*\\"sv, "ab\\"sv) == true);
  CHECK(glob_match("a\x00" "b"sv, "a\x00" "b"sv) == true);
  CHECK(glob_match("a?b"sv, "a\x00" "b"sv) == true);
  CHECK(glob_match("a*"sv, "a\x00\x00"sv) == true);
  CHECK(glob_match("[\x00]"sv, "\x00"sv) == true);
  CHECK(glob_match("[^\x00]"sv, "\x00"sv) == false);
  CHECK(glob_match("*\x00"sv, "abc\x00"sv) == true);
  CHECK(glob_match("[a-\xff]"sv, "\xff"sv) == true);
  CHECK(glob_match("[a-\xff]"sv, "b"sv) == false);
  CHECK(glob_match("[a-\xff]"sv, "\x00"sv) == true);
  CHECK(glob_match("[a-\xff]"sv, "\x80"sv) == false);
  CHECK(glob_match("[\x80-\xff]"sv, "\x90"sv) == true);
  CHECK(glob_match("[\x80-\xff]"sv, "a"sv) == false);
  CHECK(glob_match("[\x01-\x7f]"sv, "\x80"sv) == false);
  CHECK(glob_match("\xe4*"sv, "\xe4\xb8\xad"sv) == true);
  CHECK(glob_match("*a?"sv, "aab"sv) == true);
  CHECK(glob_match("*?"sv, "a"sv) == true);
  CHECK(glob_match("*?*"sv, "ab"sv) == true);
  CHECK(glob_match("*[ab]"sv, "xxb"sv) == true);
  CHECK(glob_match("?*?"sv, "a"sv) == false);
  CHECK(glob_match("?*?"sv, "ab"sv) == true);
  CHECK(glob_match("A"sv, "a"sv) == false);
  CHECK(glob_match("a"sv, "A"sv) == false);
  CHECK(glob_match("*a*a*a*b"sv, "aaaaaaaaab"sv) == true);
  CHECK(glob_match("*a*a*a*b"sv, "aaaaaaaaaa"sv) == false);
  CHECK(glob_match("a*b*c"sv, "abbbcbbc"sv) == true);
  CHECK(glob_match("a*b*c"sv, "abbbcbbcd"sv) == false);
}

TEST_CASE("glob: match-all star and the empty string") {
  // KEYS * and SCAN without MATCH short-cut "*"; the matcher itself never
  // matches an empty subject unless the pattern is empty. Observed with
  // PSUBSCRIBE * not receiving PUBLISH to the channel "".
  CHECK(glob_match("*"sv, "abc"sv));
  CHECK(glob_match("*"sv, "\0"sv));
  CHECK_FALSE(glob_match("*"sv, ""sv));
  CHECK_FALSE(glob_match("***"sv, ""sv));
}

TEST_CASE("glob: nocase (observed with CONFIG GET)") {
  const auto name = "appendonly"sv;
  CHECK(glob_match("APPENDONL?"sv, name, true));
  CHECK(glob_match("[A-z]ppendonly"sv, name, true));
  CHECK(glob_match("[\\a]ppendonly"sv, name, true));
  CHECK_FALSE(glob_match("[\\A]ppendonly"sv, name, true));  // escapes in sets are exact
  CHECK(glob_match("[^]ppendonly"sv, name, true));
  CHECK_FALSE(glob_match("[]ppendonly"sv, name, true));
  // Range ends are swapped as signed chars first, then lower-cased.
  CHECK_FALSE(glob_match("[Z-a]ppendonly"sv, name, true));
  CHECK_FALSE(glob_match("[a-Z]ppendonly"sv, name, true));
  CHECK(glob_match("[\x01-a]ppendonly"sv, name, true));
  CHECK(glob_match("[\xff-a]ppendonly"sv, name, true));
  CHECK_FALSE(glob_match("[\xfe-a]ppendonly"sv, name, true));
  CHECK_FALSE(glob_match("[a-\xfe]ppendonly"sv, name, true));
  // Without nocase the same sets behave differently.
  CHECK(glob_match("[Z-a]ppendonly"sv, name));
  CHECK(glob_match("[a-\xfe]ppendonly"sv, name));  // signed range -2..97
  CHECK(glob_match("[a-\xfe]"sv, "\xff"sv));
  CHECK(glob_match("[a-\xfe]"sv, "\xfe"sv));
  CHECK_FALSE(glob_match("[a-\xfe]"sv, "b"sv));
  // Not observable through CONFIG GET (names are lower case): follows the rules.
  CHECK(glob_match("HeLLo*"sv, "hello world"sv, true));
  CHECK(glob_match("h[A-C]llo"sv, "hBllo"sv, true));
  CHECK(glob_match("h[a-c]llo"sv, "hBllo"sv, true));
  CHECK_FALSE(glob_match("h[a-c]llo"sv, "hBllo"sv, false));
}

TEST_CASE("glob: recursion guard of 1000 star groups (observed with KEYS)") {
  const std::string subject(1200, 'a');
  auto repeat = [](std::string_view unit, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += unit;
    return s;
  };
  CHECK(glob_match(repeat("*a", 1000), subject));
  CHECK_FALSE(glob_match(repeat("*a", 1001), subject));
  CHECK(glob_match(repeat("a*", 1001), subject));  // the 1001st group is trailing
  CHECK_FALSE(glob_match(repeat("a*", 1002), subject));
  CHECK(glob_match(repeat("a*", 1000) + "a", subject));
  CHECK_FALSE(glob_match(repeat("a*", 1001) + "a", subject));
  // Many stars in one group count once.
  CHECK(glob_match(std::string(5000, '*') + "a", subject));
}

TEST_CASE("glob: pathological patterns finish quickly") {
  const std::string as(100000, 'a');
  CHECK_FALSE(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*b"sv, as));
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"sv, as));
  CHECK(glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a"sv, as));
  CHECK_FALSE(glob_match("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b"sv, as));
  CHECK_FALSE(glob_match("*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[a]*[^a]"sv, as));
}

TEST_CASE("glob: binary safety") {
  CHECK(glob_match("\0*\0"sv, "\0abc\0"sv));
  CHECK_FALSE(glob_match("\0*\0"sv, "\0abc"sv));
  CHECK(glob_match("[\0-\x02]"sv, "\x01"sv));
  CHECK(glob_match("a\\\0b"sv, "a\0b"sv));
  // A NUL pattern byte is not treated as the end of the pattern.
  CHECK_FALSE(glob_match("a\0"sv, "a"sv));
  CHECK_FALSE(glob_match("[a\0"sv, "b"sv));
}
