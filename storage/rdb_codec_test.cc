// Unit tests of the RDB building blocks: LZF, CRC64 and the compact-blob decoders.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "storage/rdb_codec.h"
#include "storage/rdb_test_util.h"

namespace {

using namespace rd;
using rd::rdb_test::Item;

std::vector<std::string> collect(bool (*decode)(std::string_view, const rdb::ElementVisitor&), std::string_view blob,
                                 bool* ok) {
  std::vector<std::string> out;
  *ok = decode(blob, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

std::string roundtrip_lzf(const std::string& input, size_t* compressed_size) {
  std::string compressed(input.size() + 64, '\0');
  size_t n = rdb::lzf_compress(input.data(), input.size(), compressed.data(), compressed.size());
  *compressed_size = n;
  if (n == 0) return "<incompressible>";
  std::string out(input.size(), '\0');
  if (!rdb::lzf_decompress(compressed.data(), n, out.data(), out.size())) return "<decompress failed>";
  return out;
}

}  // namespace

TEST_CASE("crc64: Jones polynomial check value") {
  const std::string text = "123456789";
  CHECK(rdb::crc64(0, text.data(), text.size()) == 0xe9c6d914c4b8d9caULL);
  // Incremental updates equal one pass, whatever the split (exercises the 8-byte path).
  std::string big(1000, 'x');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7);
  uint64_t whole = rdb::crc64(0, big.data(), big.size());
  for (size_t split : {1, 7, 8, 9, 500, 999}) {
    uint64_t part = rdb::crc64(rdb::crc64(0, big.data(), split), big.data() + split, big.size() - split);
    CHECK(part == whole);
  }
}

TEST_CASE("lzf: round trips and compresses repetitive data") {
  size_t n = 0;
  std::string repetitive(10000, 'a');
  CHECK(roundtrip_lzf(repetitive, &n) == repetitive);
  CHECK(n < 200);
  std::string text;
  for (int i = 0; i < 500; i++) text += "hello world " + std::to_string(i % 17) + " ";
  CHECK(roundtrip_lzf(text, &n) == text);
  CHECK(n < text.size() / 2);
  std::mt19937 rng(42);
  for (size_t size : {3, 21, 100, 5000, 70000}) {
    std::string mixed(size, '\0');
    for (size_t i = 0; i < size; i++) mixed[i] = static_cast<char>(rng() % 4 == 0 ? rng() : 'z');
    CHECK(roundtrip_lzf(mixed, &n) == mixed);
  }
}

TEST_CASE("lzf: incompressible data does not fit a smaller buffer") {
  std::mt19937 rng(7);
  std::string noise(1000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::string out(noise.size() - 4, '\0');
  CHECK(rdb::lzf_compress(noise.data(), noise.size(), out.data(), out.size()) == 0);
}

TEST_CASE("lzf: the same output as Redis's liblzf") {
  // Vectors from DUMP of real Redis 7.0 (the bytes after the two LZF lengths).
  auto compress = [](const std::string& in) {
    std::string out(in.size() - 4, '\0');
    size_t n = rdb::lzf_compress(in.data(), in.size(), out.data(), out.size());
    out.resize(n);
    return out;
  };
  // 21 and 22 bytes: the first 16 comparisons of a match ignore the length limit.
  CHECK(compress(std::string(21, 'a')) == std::string("\x01" "aa" "\xe0\x0a\x00", 6));
  CHECK(compress(std::string(22, 'a')) == std::string("\x01" "aa" "\xe0\x0a\x00\x00" "a", 8));
  CHECK(compress(std::string(23, 'a')) == std::string("\x01" "aa" "\xe0\x0a\x00\x01" "aa", 9));
  CHECK(compress(std::string(600, 'a')) ==
        std::string("\x01" "aa" "\xe0\xff\x00\xe0\xff\x00\xe0\x3b\x00\x01" "aa", 15));
  std::string abcd;
  for (int i = 0; i < 10; i++) abcd += "abcd";
  CHECK(compress(abcd) == std::string("\x04" "abcda" "\xe0\x18\x03\x01" "cd", 12));
  CHECK(compress("hello world, hello world, hello world!!") ==
        std::string("\x0d" "hello world, h" "\xe0\x0e\x0c\x01" "!!", 21));
}

TEST_CASE("lzf: corrupt streams are rejected") {
  std::string out(10, '\0');
  CHECK_FALSE(rdb::lzf_decompress("\x05" "abc", 4, out.data(), 6));   // literal runs past the input
  CHECK_FALSE(rdb::lzf_decompress("\x20\x05", 2, out.data(), 3));    // reference before the start
  CHECK_FALSE(rdb::lzf_decompress("\x01" "ab", 3, out.data(), 3));   // too short an output
  CHECK(rdb::lzf_decompress("\x00" "a" "\xe0\x00\x00", 5, out.data(), 10));  // 'a' then a 9-byte run
  CHECK(out == std::string(10, 'a'));
}

TEST_CASE("ziplist: strings and every integer width") {
  std::vector<Item> items = {std::string("hello"), int64_t{0},   int64_t{12},         int64_t{13},
                             int64_t{-100},        int64_t{300}, int64_t{-70000},     int64_t{1} << 30,
                             int64_t{1} << 40,     std::string(300, 'x'), int64_t{-1}};
  bool ok = false;
  auto out = collect(rdb::decode_ziplist, rdb_test::ziplist(items), &ok);
  CHECK(ok);
  CHECK(out == std::vector<std::string>{"hello", "0", "12", "13", "-100", "300", "-70000", "1073741824",
                                        "1099511627776", std::string(300, 'x'), "-1"});
}

TEST_CASE("listpack: strings and every integer width") {
  std::vector<Item> items = {std::string("a"), int64_t{5},  int64_t{127},     int64_t{-1},
                             int64_t{4000},    int64_t{-30000}, int64_t{5000000}, int64_t{-2000000000},
                             int64_t{1} << 50, std::string(200, 'y'), std::string(5000, 'z')};
  bool ok = false;
  auto out = collect(rdb::decode_listpack, rdb_test::listpack(items), &ok);
  CHECK(ok);
  CHECK(out == std::vector<std::string>{"a", "5", "127", "-1", "4000", "-30000", "5000000", "-2000000000",
                                        "1125899906842624", std::string(200, 'y'), std::string(5000, 'z')});
}

TEST_CASE("intset and zipmap") {
  bool ok = false;
  CHECK(collect(rdb::decode_intset, rdb_test::intset({-5, 1, 300}, 2), &ok) == std::vector<std::string>{"-5", "1", "300"});
  CHECK(ok);
  CHECK(collect(rdb::decode_intset, rdb_test::intset({-(1LL << 40), 7}, 8), &ok) ==
        std::vector<std::string>{"-1099511627776", "7"});
  CHECK(collect(rdb::decode_zipmap, rdb_test::zipmap({{"f1", "v1"}, {"name", "redis"}}), &ok) ==
        std::vector<std::string>{"f1", "v1", "name", "redis"});
  CHECK(ok);
}

TEST_CASE("compact blobs: every truncation is rejected") {
  std::string zl = rdb_test::ziplist({std::string("abc"), int64_t{1000}, int64_t{7}});
  std::string lp = rdb_test::listpack({std::string("abc"), int64_t{1000}, int64_t{7}});
  std::string is = rdb_test::intset({1, 2, 3}, 4);
  std::string zm = rdb_test::zipmap({{"a", "b"}});
  for (size_t cut = 0; cut < zl.size(); cut++) CHECK_FALSE(rdb::decode_ziplist(zl.substr(0, cut), [](std::string_view) {}));
  for (size_t cut = 0; cut < lp.size(); cut++) CHECK_FALSE(rdb::decode_listpack(lp.substr(0, cut), [](std::string_view) {}));
  for (size_t cut = 0; cut < is.size(); cut++) CHECK_FALSE(rdb::decode_intset(is.substr(0, cut), [](std::string_view) {}));
  for (size_t cut = 0; cut < zm.size(); cut++) CHECK_FALSE(rdb::decode_zipmap(zm.substr(0, cut), [](std::string_view) {}));
}

TEST_CASE("exact_int64 accepts only canonical decimal integers") {
  int64_t v = 0;
  CHECK(rdb::exact_int64("0", &v));
  CHECK(rdb::exact_int64("-123", &v));
  CHECK(v == -123);
  CHECK(rdb::exact_int64("9223372036854775807", &v));
  CHECK_FALSE(rdb::exact_int64("9223372036854775808", &v));
  CHECK_FALSE(rdb::exact_int64("007", &v));
  CHECK_FALSE(rdb::exact_int64("-0", &v));
  CHECK_FALSE(rdb::exact_int64("+1", &v));
  CHECK_FALSE(rdb::exact_int64(" 1", &v));
  CHECK_FALSE(rdb::exact_int64("", &v));
}
