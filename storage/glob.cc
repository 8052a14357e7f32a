#include "storage/glob.h"

#include <cstddef>

namespace rd {
namespace {

// Redis gives up on a match that has to recurse through more '*' groups.
constexpr int kMaxStarGroups = 1000;

// glibc's tolower() in the C locale applied to a (signed) char value:
// ASCII upper case folds, other negative values except EOF (-1) come back as
// their unsigned byte value, everything else is unchanged.
int fold(int c) {
  if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
  if (c < -1) return c + 256;
  return c;
}

bool chars_equal(char a, char b, bool nocase) {
  if (!nocase) return a == b;
  return fold(static_cast<signed char>(a)) == fold(static_cast<signed char>(b));
}

// Pattern byte at i, reading the position just past the end as the NUL
// terminator Redis sees there.
char at(std::string_view pat, size_t i) { return i < pat.size() ? pat[i] : '\0'; }

struct Step {
  bool matched;
  size_t next;  // pattern index after the element
};

bool in_range(char lo_c, char hi_c, char c, bool nocase) {
  int lo = static_cast<signed char>(lo_c);
  int hi = static_cast<signed char>(hi_c);
  int v = static_cast<signed char>(c);
  if (lo > hi) {
    const int t = lo;
    lo = hi;
    hi = t;
  }
  if (nocase) {
    lo = fold(lo);
    hi = fold(hi);
    v = fold(v);
  }
  return v >= lo && v <= hi;
}

// Matches the bracket set starting at pat[open] == '[' against byte c.
Step match_set(std::string_view pat, size_t open, char c, bool nocase) {
  size_t q = open + 1;
  const bool negate = at(pat, q) == '^';
  if (negate) ++q;
  bool matched = false;
  for (;; ++q) {
    const size_t rem = pat.size() - q;
    if (at(pat, q) == '\\' && rem >= 2) {
      ++q;
      if (pat[q] == c) matched = true;
    } else if (at(pat, q) == ']') {
      break;
    } else if (rem == 0) {
      --q;  // unterminated: the set ends with the last pattern byte
      break;
    } else if (rem >= 3 && pat[q + 1] == '-') {
      if (in_range(pat[q], pat[q + 2], c, nocase)) matched = true;
      q += 2;
    } else if (chars_equal(pat[q], c, nocase)) {
      matched = true;
    }
  }
  return {matched != negate, q + 1};
}

// Matches the single non-'*' pattern element at pat[p] against byte c.
Step match_element(std::string_view pat, size_t p, char c, bool nocase) {
  switch (pat[p]) {
    case '?':
      return {true, p + 1};
    case '[':
      return match_set(pat, p, c, nocase);
    case '\\':
      if (p + 1 < pat.size()) return {chars_equal(pat[p + 1], c, nocase), p + 2};
      return {chars_equal('\\', c, nocase), p + 1};
    default:
      return {chars_equal(pat[p], c, nocase), p + 1};
  }
}

size_t skip_stars(std::string_view pat, size_t p) {
  while (p < pat.size() && pat[p] == '*') ++p;
  return p;
}

}  // namespace

// Greedy matching with a single backtrack point (the latest '*' group):
// when the rest of the pattern cannot match at any later position after the
// latest star, no earlier star can help either. This is the behaviour of
// Redis's recursive matcher with its "skip longer matches" shortcut.
bool glob_match(std::string_view pat, std::string_view str, bool nocase) {
  if (str.empty()) return pat.empty();
  size_t p = 0;
  size_t s = 0;
  bool have_star = false;
  size_t star_p = 0;  // pattern index just after the latest '*' group
  size_t star_s = 0;  // string index where the rest was last tried
  int star_groups = 0;
  for (;;) {
    if (p < pat.size() && pat[p] == '*') {
      p = skip_stars(pat, p);
      if (p == pat.size()) return true;
      if (++star_groups > kMaxStarGroups) return false;
      have_star = true;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pat.size()) {
      const Step step = match_element(pat, p, str[s], nocase);
      if (step.matched) {
        p = step.next;
        if (++s < str.size()) continue;
        if (skip_stars(pat, p) == pat.size()) return true;
      }
    }
    // Mismatch, pattern exhausted early, or string exhausted early.
    if (!have_star || star_s + 1 >= str.size()) return false;
    p = star_p;
    s = ++star_s;
  }
}

}  // namespace rd
