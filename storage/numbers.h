// String <-> number conversions with the exact strictness and output formats
// of Redis 7.0 (integer arguments, double scores, INCRBYFLOAT long doubles).
// All functions are pure and thread-safe; parsers take non-NUL-terminated
// input and do not heap-allocate for ordinary lengths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rd {

// Redis's MAX_LONG_DOUBLE_CHARS: the longest text accepted by
// string_to_long_double is kLongDoubleBufSize - 1 bytes, and every finite long
// double formatted by format_long_double fits (with its NUL) in this many bytes.
inline constexpr size_t kLongDoubleBufSize = 5 * 1024;

// Minimum buffer sizes for the formatters below.
inline constexpr size_t kDoubleBufSize = 32;
inline constexpr size_t kInt64BufSize = 21;

// Strict decimal integer (Redis string2ll): optional '-', then either the
// single digit "0" or a digit 1-9 followed by digits. Rejects "", "-", "-0",
// "+1", leading zeros, spaces, any other byte, and values outside int64.
bool string_to_int64(std::string_view s, int64_t* out);

// Same strict rules for uint64 ("-" anything is rejected, full 0..2^64-1).
bool string_to_uint64(std::string_view s, uint64_t* out);

// Redis string2ull as used by stream IDs: the strict form first (negative ->
// reject), otherwise strtoull(base 10) semantics on the whole input: leading
// whitespace, '+', leading zeros are accepted and "-N" wraps modulo 2^64
// (e.g. "-1" is rejected by the strict pass but "-01" and " -1" yield
// 18446744073709551615). Empty, trailing garbage and overflow are rejected.
// Note: Redis's stream code truncates the argument at the first NUL byte
// before calling this; that is the caller's job here.
bool string_to_uint64_lenient(std::string_view s, uint64_t* out);

// A double argument (ZADD score, ZRANGEBYSCORE bound, ...): strtod semantics on
// the whole input ("inf", "+inf", "-Infinity", "1e10", ".5", "5.", "0x1p3" are
// fine) but rejects empty input, a leading whitespace byte, trailing bytes
// (including NUL), NaN, overflow to +-inf ("1e400") and underflow to zero
// ("1e-400"; denormals such as "1e-310" are accepted).
bool string_to_double(std::string_view s, double* out);

// A long double argument (INCRBYFLOAT, HINCRBYFLOAT; Redis string2ld): like
// string_to_double but with strtold, and also rejects inputs of
// kLongDoubleBufSize bytes or more.
bool string_to_long_double(std::string_view s, long double* out);

// Formats a double as Redis 7.0 replies with it (printf "%.17g"): "3",
// "1.1000000000000001", "1e+100", "1.0000000000000001e-05", "-0", "inf",
// "-inf". Returns the length; buf must hold kDoubleBufSize bytes. No NUL.
size_t format_double(double v, char* buf);

// Formats a long double as INCRBYFLOAT / HINCRBYFLOAT reply and store it
// (Redis ld2string "human" mode): fixed notation with 17 decimals ("%.17Lf"),
// trailing zeros and a trailing '.' removed, "-0" turned into "0". Examples:
// "1.1", "10.6", "3000", "0.3", "0.00000000025", "0" for 1e-18,
// "12345678.8999999999996362". +-inf -> "inf"/"-inf", NaN -> "nan" (Redis
// never stores those). buf must hold kLongDoubleBufSize bytes. No NUL.
size_t format_long_double(long double v, char* buf);

// Plain decimal integer. buf must hold kInt64BufSize bytes. No NUL.
size_t format_int64(int64_t v, char* buf);

}  // namespace rd
