#include "storage/numbers.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace rd {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The C-locale isspace() set, which is what Redis checks on the first byte.
bool is_c_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Parses the magnitude part of a strict integer: "0" or [1-9][0-9]*, no
// larger than `limit`.
bool parse_strict_magnitude(std::string_view s, uint64_t limit, uint64_t* out) {
  if (s.empty()) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  if (s[0] < '1' || s[0] > '9') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;  // v * 10 + d would exceed limit
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Runs fn(const char* cstr) on a NUL-terminated copy of s: a stack buffer for
// ordinary lengths, the heap only for unusually long input.
template <typename Fn>
bool with_c_string(std::string_view s, Fn fn) {
  constexpr size_t kStackSize = 128;
  if (s.size() < kStackSize) {
    char buf[kStackSize];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    return fn(static_cast<const char*>(buf));
  }
  const std::string copy(s);
  return fn(copy.c_str());
}

// The checks Redis applies after strtod/strtold: whole input consumed, no
// overflow to infinity, no underflow to zero, not NaN.
template <typename T>
bool float_parse_ok(const char* end, const char* eptr, T value, int err) {
  if (eptr != end) return false;
  if (err == ERANGE && (std::isinf(value) || value == 0)) return false;
  return !std::isnan(value);
}

}  // namespace

bool string_to_int64(std::string_view s, int64_t* out) {
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t mag = 0;
  if (!parse_strict_magnitude(s, negative ? kMax + 1 : kMax, &mag)) return false;
  if (negative && mag == 0) return false;  // "-0"
  // Two's-complement negation of the magnitude (well-defined for 2^63).
  *out = negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
  return true;
}

bool string_to_uint64(std::string_view s, uint64_t* out) {
  return parse_strict_magnitude(s, std::numeric_limits<uint64_t>::max(), out);
}

bool string_to_uint64_lenient(std::string_view s, uint64_t* out) {
  int64_t strict = 0;
  if (string_to_int64(s, &strict)) {
    if (strict < 0) return false;
    *out = static_cast<uint64_t>(strict);
    return true;
  }
  if (s.empty()) return false;
  return with_c_string(s, [&](const char* cstr) {
    char* eptr = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(cstr, &eptr, 10);
    if (errno == ERANGE || errno == EINVAL || eptr != cstr + s.size()) return false;
    *out = v;
    return true;
  });
}

bool string_to_double(std::string_view s, double* out) {
  if (s.empty() || is_c_space(s[0])) return false;
  return with_c_string(s, [&](const char* cstr) {
    char* eptr = nullptr;
    errno = 0;
    const double v = std::strtod(cstr, &eptr);
    if (!float_parse_ok(cstr + s.size(), eptr, v, errno)) return false;
    *out = v;
    return true;
  });
}

bool string_to_long_double(std::string_view s, long double* out) {
  if (s.empty() || s.size() >= kLongDoubleBufSize || is_c_space(s[0])) return false;
  return with_c_string(s, [&](const char* cstr) {
    char* eptr = nullptr;
    errno = 0;
    const long double v = std::strtold(cstr, &eptr);
    if (!float_parse_ok(cstr + s.size(), eptr, v, errno)) return false;
    *out = v;
    return true;
  });
}

// Redis 7.0 replies with doubles using printf("%.17g") (inf as "inf"/"-inf").
// std::to_chars with general format and precision 17 is specified to produce
// exactly the printf output, without locale dependence.
size_t format_double(double v, char* buf) {
  if (std::isinf(v)) {
    const char* text = v > 0 ? "inf" : "-inf";
    const size_t len = std::strlen(text);
    std::memcpy(buf, text, len);
    return len;
  }
  const auto res = std::to_chars(buf, buf + kDoubleBufSize, v, std::chars_format::general, 17);
  return static_cast<size_t>(res.ptr - buf);
}

// Redis 7.0 INCRBYFLOAT output: "%.17Lf", then trailing zeros after the point
// and a dangling point are dropped, and "-0" becomes "0".
size_t format_long_double(long double v, char* buf) {
  if (std::isinf(v) || std::isnan(v)) {
    const char* text = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    const size_t len = std::strlen(text);
    std::memcpy(buf, text, len);
    return len;
  }
  const int n = std::snprintf(buf, kLongDoubleBufSize, "%.17Lf", v);
  size_t len = n > 0 ? static_cast<size_t>(n) : 0;
  if (std::memchr(buf, '.', len) != nullptr) {
    while (len > 0 && buf[len - 1] == '0') --len;
    if (len > 0 && buf[len - 1] == '.') --len;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') {
    buf[0] = '0';
    len = 1;
  }
  return len;
}

size_t format_int64(int64_t v, char* buf) {
  const auto res = std::to_chars(buf, buf + kInt64BufSize, v);
  return static_cast<size_t>(res.ptr - buf);
}

}  // namespace rd
