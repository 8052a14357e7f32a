// Unit tests for storage/numbers. Expected strings and accept/reject verdicts
// were observed on Redis 7.0.15: INCRBY (strict integers), XADD IDs (lenient
// unsigned), ZADD + ZSCORE on a skiplist zset (doubles), INCRBYFLOAT (long
// doubles).
#include "storage/numbers.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace std::literals;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool int_ok(std::string_view s) {
  int64_t v = 0;
  return rd::string_to_int64(s, &v);
}

int64_t int_val(std::string_view s) {
  int64_t v = 12345;
  REQUIRE(rd::string_to_int64(s, &v));
  return v;
}

bool uint_ok(std::string_view s) {
  uint64_t v = 0;
  return rd::string_to_uint64(s, &v);
}

bool lenient_ok(std::string_view s, uint64_t* v) { return rd::string_to_uint64_lenient(s, v); }

bool dbl_ok(std::string_view s) {
  double v = 0;
  return rd::string_to_double(s, &v);
}

bool ld_ok(std::string_view s) {
  long double v = 0;
  return rd::string_to_long_double(s, &v);
}

std::string fmt_double(double v) {
  char buf[rd::kDoubleBufSize];
  return std::string(buf, rd::format_double(v, buf));
}

std::string fmt_ld(long double v) {
  std::vector<char> buf(rd::kLongDoubleBufSize);
  return std::string(buf.data(), rd::format_long_double(v, buf.data()));
}

// Mimics INCRBYFLOAT on a missing key: returns every reply.
std::vector<std::string> incrbyfloat(std::initializer_list<std::string_view> incrs) {
  std::vector<std::string> out;
  std::string stored;
  for (std::string_view incr : incrs) {
    long double cur = 0;
    long double by = 0;
    if (!stored.empty()) REQUIRE(rd::string_to_long_double(stored, &cur));
    REQUIRE(rd::string_to_long_double(incr, &by));
    stored = fmt_ld(cur + by);
    out.push_back(stored);
  }
  return out;
}

}  // namespace

TEST_CASE("string_to_int64: Redis string2ll strictness (observed via INCRBY)") {
  CHECK(int_val("0") == 0);
  CHECK(int_val("1") == 1);
  CHECK(int_val("-1") == -1);
  CHECK(int_val("123456789") == 123456789);
  CHECK(int_val("9223372036854775807") == std::numeric_limits<int64_t>::max());
  CHECK(int_val("-9223372036854775808") == std::numeric_limits<int64_t>::min());
  for (std::string_view bad : {""sv, "-"sv, "-0"sv, "00"sv, "01"sv, "-01"sv, "+1"sv, " 1"sv, "1 "sv,
                               "9223372036854775808"sv, "-9223372036854775809"sv,
                               "18446744073709551615"sv, "99999999999999999999999"sv, "1.0"sv,
                               "1e3"sv, "0x1"sv, "12a"sv, "1\0"sv, "\0"sv, "--1"sv, "1-"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(int_ok(bad));
  }
}

TEST_CASE("string_to_int64: does not read past the view") {
  const char text[] = "12345";
  int64_t v = 0;
  REQUIRE(rd::string_to_int64(std::string_view(text, 3), &v));
  CHECK(v == 123);
}

TEST_CASE("string_to_uint64: strict rules, unsigned range") {
  uint64_t v = 0;
  REQUIRE(rd::string_to_uint64("18446744073709551615", &v));
  CHECK(v == std::numeric_limits<uint64_t>::max());
  REQUIRE(rd::string_to_uint64("0", &v));
  CHECK(v == 0);
  REQUIRE(rd::string_to_uint64("9223372036854775808", &v));
  CHECK(v == 9223372036854775808ULL);
  for (std::string_view bad : {""sv, "-"sv, "-0"sv, "-1"sv, "00"sv, "01"sv, "+1"sv, " 1"sv, "1 "sv,
                               "18446744073709551616"sv, "99999999999999999999"sv, "1.0"sv, "1\0"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(uint_ok(bad));
  }
}

TEST_CASE("string_to_uint64_lenient: Redis string2ull (observed via XADD IDs)") {
  uint64_t v = 0;
  CHECK((lenient_ok("1", &v) && v == 1));
  CHECK((lenient_ok("01", &v) && v == 1));
  CHECK((lenient_ok("+1", &v) && v == 1));
  CHECK((lenient_ok(" 1", &v) && v == 1));
  CHECK((lenient_ok("\t5", &v) && v == 5));
  CHECK((lenient_ok("\n7", &v) && v == 7));
  CHECK((lenient_ok("00000000000000000000000000000000000000000000000000007", &v) && v == 7));
  CHECK((lenient_ok("18446744073709551615", &v) && v == 18446744073709551615ULL));
  CHECK((lenient_ok(" -1", &v) && v == 18446744073709551615ULL));
  CHECK((lenient_ok("-01", &v) && v == 18446744073709551615ULL));
  CHECK((lenient_ok("-0", &v) && v == 0));
  CHECK((lenient_ok("-18446744073709551615", &v) && v == 1));
  for (std::string_view bad : {""sv, "-1"sv, "18446744073709551616"sv, "-18446744073709551616"sv,
                               "5 "sv, "0x5"sv, "+"sv, " "sv, "1\0"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(lenient_ok(bad, &v));
  }
}

TEST_CASE("string_to_double: observed via ZADD") {
  double v = 0;
  CHECK((rd::string_to_double("1.5", &v) && v == 1.5));
  CHECK((rd::string_to_double("inf", &v) && v == kInf));
  CHECK((rd::string_to_double("+inf", &v) && v == kInf));
  CHECK((rd::string_to_double("-inf", &v) && v == -kInf));
  CHECK((rd::string_to_double("INF", &v) && v == kInf));
  CHECK((rd::string_to_double("infinity", &v) && v == kInf));
  CHECK((rd::string_to_double("-Infinity", &v) && v == -kInf));
  CHECK((rd::string_to_double("0x10", &v) && v == 16));
  CHECK((rd::string_to_double("0X1p3", &v) && v == 8));
  CHECK((rd::string_to_double("+1", &v) && v == 1));
  CHECK((rd::string_to_double(".5", &v) && v == 0.5));
  CHECK((rd::string_to_double("5.", &v) && v == 5));
  CHECK((rd::string_to_double("00012", &v) && v == 12));
  CHECK((rd::string_to_double("1e10", &v) && v == 1e10));
  CHECK((rd::string_to_double("0e-500", &v) && v == 0));
  CHECK((rd::string_to_double("-0", &v) && v == 0 && std::signbit(v)));
  CHECK((rd::string_to_double("1e-310", &v) && v == 1e-310));  // denormal: accepted
  CHECK((rd::string_to_double("4e-324", &v) && v == 5e-324));
  const std::string long_ok = std::string(10000, '0') + "1";  // no length limit
  CHECK((rd::string_to_double(long_ok, &v) && v == 1));
  for (std::string_view bad : {""sv, "nan"sv, "NaN"sv, "-nan"sv, " 1"sv, "1 "sv, "\t1"sv, "1e400"sv,
                               "-1e400"sv, "1e-400"sv, "2e-324"sv, "."sv, "-"sv, "+"sv, "1e"sv,
                               "1e+"sv, "1.5\0"sv, "1,5"sv, "1_0"sv, "\0"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(dbl_ok(bad));
  }
  CHECK_FALSE(dbl_ok("0." + std::string(10000, '0') + "1"));  // underflows to 0
  CHECK_FALSE(dbl_ok("1" + std::string(400, '0')));           // overflows
}

TEST_CASE("string_to_double: does not read past the view") {
  const char text[] = "1.5e3";
  double v = 0;
  REQUIRE(rd::string_to_double(std::string_view(text, 3), &v));
  CHECK(v == 1.5);
}

TEST_CASE("string_to_long_double: observed via INCRBYFLOAT") {
  long double v = 0;
  CHECK((rd::string_to_long_double("1.1", &v) && v == 1.1L));
  CHECK((rd::string_to_long_double("0x10", &v) && v == 16));
  CHECK((rd::string_to_long_double("+1.5", &v) && v == 1.5L));
  CHECK((rd::string_to_long_double("-.5e-1", &v) && v == -0.05L));
  CHECK((rd::string_to_long_double("1e4000", &v) && v > 1e308L));
  CHECK((rd::string_to_long_double("1e-4940", &v) && v > 0));  // denormal: accepted
  CHECK((rd::string_to_long_double("0e-5000", &v) && v == 0));
  // The parser accepts infinities; INCRBYFLOAT then fails on the result.
  CHECK((rd::string_to_long_double("inf", &v) && std::isinf(v)));
  CHECK((rd::string_to_long_double("-inf", &v) && std::isinf(v)));
  CHECK((rd::string_to_long_double("infinity", &v) && std::isinf(v)));
  for (std::string_view bad : {""sv, "nan"sv, " 1"sv, " 1.5"sv, "1 "sv, "1e"sv, "1.5\0abc"sv,
                               "1.5\0"sv, "1e-5000"sv, "1e5000"sv, "abc"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(ld_ok(bad));
  }
  // Length limit: fewer than kLongDoubleBufSize (5120) bytes.
  CHECK(ld_ok(std::string(5118, '0') + "1"));
  CHECK_FALSE(ld_ok(std::string(5119, '0') + "1"));
  CHECK_FALSE(ld_ok(std::string(5120, '0') + "1"));
}

TEST_CASE("format_double: Redis 7.0 uses %.17g (observed via ZSCORE)") {
  CHECK(fmt_double(1.1) == "1.1000000000000001");
  CHECK(fmt_double(0.1) == "0.10000000000000001");
  CHECK(fmt_double(3.0) == "3");
  CHECK(fmt_double(-3.0) == "-3");
  CHECK(fmt_double(0.0) == "0");
  CHECK(fmt_double(-0.0) == "-0");
  CHECK(fmt_double(1e+100) == "1e+100");
  CHECK(fmt_double(1e-05) == "1.0000000000000001e-05");
  CHECK(fmt_double(1.2345678901234568e+17) == "1.2345678901234568e+17");
  CHECK(fmt_double(9007199254740993.0) == "9007199254740992");
  CHECK(fmt_double(1.5e+300) == "1.5000000000000001e+300");
  CHECK(fmt_double(kInf) == "inf");
  CHECK(fmt_double(-kInf) == "-inf");
  CHECK(fmt_double(3.0000000000000004) == "3.0000000000000004");
  CHECK(fmt_double(0.3333333333333333) == "0.33333333333333331");
  CHECK(fmt_double(-0.3333333333333333) == "-0.33333333333333331");
  CHECK(fmt_double(0.6666666666666666) == "0.66666666666666663");
  CHECK(fmt_double(1e-300) == "1e-300");
  CHECK(fmt_double(5e-324) == "4.9406564584124654e-324");
  CHECK(fmt_double(1.7976931348623157e+308) == "1.7976931348623157e+308");
  CHECK(fmt_double(2.2250738585072014e-308) == "2.2250738585072014e-308");
  CHECK(fmt_double(0.30000000000000004) == "0.30000000000000004");
  CHECK(fmt_double(100.0) == "100");
  CHECK(fmt_double(1000000000000000.0) == "1000000000000000");
  CHECK(fmt_double(1e+16) == "10000000000000000");
  CHECK(fmt_double(1e+17) == "1e+17");
  CHECK(fmt_double(1e+21) == "1e+21");
  CHECK(fmt_double(123.456) == "123.456");
  CHECK(fmt_double(2.5e-10) == "2.5000000000000002e-10");
  CHECK(fmt_double(0.0001) == "0.0001");
  CHECK(fmt_double(0.001) == "0.001");
  CHECK(fmt_double(12345678.9) == "12345678.9");
  CHECK(fmt_double(1e-07) == "9.9999999999999995e-08");
  CHECK(fmt_double(0.5) == "0.5");
  CHECK(fmt_double(-1.5) == "-1.5");
  CHECK(fmt_double(1.2345678901234568e+16) == "12345678901234568");
  CHECK(fmt_double(1234567890123456.8) == "1234567890123456.8");
  CHECK(fmt_double(1e-310) == "9.9999999999999694e-311");
  CHECK(fmt_double(1e-320) == "9.9998886718268301e-321");
  CHECK(fmt_double(4.35) == "4.3499999999999996");
  CHECK(fmt_double(2.675) == "2.6749999999999998");
  CHECK(fmt_double(1e+23) == "9.9999999999999992e+22");
  CHECK(fmt_double(-1e-100) == "-1e-100");
  CHECK(fmt_double(3.14159265358979) == "3.14159265358979");
}

TEST_CASE("format_double: matches printf %.17g and round-trips") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    uint64_t bits = rng();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isnan(v)) continue;
    char expect[64];
    std::snprintf(expect, sizeof expect, "%.17g", v);
    const std::string got = fmt_double(v);
    REQUIRE(got == expect);
    double back = 0;
    REQUIRE(rd::string_to_double(got, &back));
    REQUIRE(std::memcmp(&back, &v, sizeof v) == 0);
  }
  // Longest outputs fit the documented buffer size.
  CHECK(fmt_double(-2.2250738585072009e-308) == "-2.2250738585072009e-308");
}

TEST_CASE("format_long_double: INCRBYFLOAT replies (observed)") {
  CHECK(incrbyfloat({"1.1"}) == std::vector<std::string>{"1.1"});
  CHECK(incrbyfloat({"10.5", "0.1"}) == std::vector<std::string>{"10.5", "10.6"});
  CHECK(incrbyfloat({"3.0e3"}) == std::vector<std::string>{"3000"});
  CHECK(incrbyfloat({"5.0e3"}) == std::vector<std::string>{"5000"});
  CHECK(incrbyfloat({"-1.1"}) == std::vector<std::string>{"-1.1"});
  CHECK(incrbyfloat({"0.1", "0.2"}) == std::vector<std::string>{"0.1", "0.3"});
  CHECK(incrbyfloat({"1e-20"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"-5", "5"}) == std::vector<std::string>{"-5", "0"});
  CHECK(incrbyfloat({"0"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"-0"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"0.3333333333333333"}) == std::vector<std::string>{"0.3333333333333333"});
  CHECK(incrbyfloat({"123456789012345678"}) == std::vector<std::string>{"123456789012345678"});
  CHECK(incrbyfloat({"9007199254740993"}) == std::vector<std::string>{"9007199254740993"});
  CHECK(incrbyfloat({"1e17"}) == std::vector<std::string>{"100000000000000000"});
  CHECK(incrbyfloat({"1e18"}) == std::vector<std::string>{"1000000000000000000"});
  CHECK(incrbyfloat({"1e20"}) == std::vector<std::string>{"100000000000000000000"});
  CHECK(incrbyfloat({"0.1", "0.1", "0.1"}) == std::vector<std::string>{"0.1", "0.2", "0.3"});
  CHECK(incrbyfloat({"1e-17"}) == std::vector<std::string>{"0.00000000000000001"});
  CHECK(incrbyfloat({"1e-18"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"5e-18"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"-1e-18"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"3.0000000000000004"}) == std::vector<std::string>{"3.0000000000000004"});
  CHECK(incrbyfloat({"0x10"}) == std::vector<std::string>{"16"});
  CHECK(incrbyfloat({"+1.5"}) == std::vector<std::string>{"1.5"});
  CHECK(incrbyfloat({".5"}) == std::vector<std::string>{"0.5"});
  CHECK(incrbyfloat({"5."}) == std::vector<std::string>{"5"});
  CHECK(incrbyfloat({"-.5e-1"}) == std::vector<std::string>{"-0.05"});
  CHECK(incrbyfloat({"100"}) == std::vector<std::string>{"100"});
  CHECK(incrbyfloat({"2.5e-10"}) == std::vector<std::string>{"0.00000000025"});
  CHECK(incrbyfloat({"12345678.9"}) == std::vector<std::string>{"12345678.8999999999996362"});
  CHECK(incrbyfloat({"1e-4940"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"1.1", "2.2", "3.3"}) == std::vector<std::string>{"1.1", "3.3", "6.6"});
  CHECK(incrbyfloat({"-0.1", "-0.2"}) == std::vector<std::string>{"-0.1", "-0.3"});
  CHECK(incrbyfloat({"0.7", "-0.7"}) == std::vector<std::string>{"0.7", "0"});
  CHECK(incrbyfloat({"5", "-10.25"}) == std::vector<std::string>{"5", "-5.25"});
  CHECK(incrbyfloat({"18446744073709551616"}) == std::vector<std::string>{"18446744073709551616"});
  CHECK(incrbyfloat({"0.000000000000000015"}) == std::vector<std::string>{"0.00000000000000002"});
  CHECK(incrbyfloat({"0.000000000000000005"}) == std::vector<std::string>{"0"});
  CHECK(incrbyfloat({"-0.000000000000000015"}) == std::vector<std::string>{"-0.00000000000000002"});
  CHECK(incrbyfloat({"1e300"}) == std::vector<std::string>{
      "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"});
  {
    const auto out = incrbyfloat({"1e308", "1e308"});
    CHECK(out[1].size() == 309);
    CHECK(out[1].substr(0, 40) == "1999999999999999999933717593116912913211");
    CHECK(out[1].substr(309 - 40) == "1514636284849020905456510092687857156096");
  }
  {
    const auto out = incrbyfloat({"1e4000"});
    CHECK(out[0].size() == 4000);
    CHECK(out[0].substr(0, 40) == "9999999999999999999965463873099623784932");
    CHECK(out[0].substr(4000 - 40) == "1956972190272729951206648276349901340672");
  }
  {
    const auto out = incrbyfloat({"-1e4000"});
    CHECK(out[0].size() == 4001);
    CHECK(out[0].substr(0, 40) == "-999999999999999999996546387309962378493");
  }
  // HINCRBYFLOAT shares the format: 1.5 +0.1 -> "1.6", +1e-20 -> "1.6", -1.6 -> "0".
  CHECK(incrbyfloat({"1.5", "0.1", "1e-20", "-1.6"}) ==
        std::vector<std::string>{"1.5", "1.6", "1.6", "0"});
}

TEST_CASE("format_long_double: extremes fit the buffer") {
  const long double max = std::numeric_limits<long double>::max();
  const std::string big = fmt_ld(max);
  CHECK(big.size() == 4933);
  CHECK(fmt_ld(-max).size() == 4934);
  CHECK(fmt_ld(std::numeric_limits<long double>::denorm_min()) == "0");
  CHECK(fmt_ld(-0.0L) == "0");
  CHECK(fmt_ld(std::numeric_limits<long double>::infinity()) == "inf");
  CHECK(fmt_ld(-std::numeric_limits<long double>::infinity()) == "-inf");
}

TEST_CASE("format_int64") {
  char buf[rd::kInt64BufSize];
  auto f = [&](int64_t v) { return std::string(buf, rd::format_int64(v, buf)); };
  CHECK(f(0) == "0");
  CHECK(f(-1) == "-1");
  CHECK(f(42) == "42");
  CHECK(f(std::numeric_limits<int64_t>::max()) == "9223372036854775807");
  CHECK(f(std::numeric_limits<int64_t>::min()) == "-9223372036854775808");
}
