// Unit tests of the HyperLogLog representation: Redis's exact bytes for known inputs, sparse
// and dense forms agreeing, promotion, merging, the cardinality estimate, corrupted values.
#include "storage/hyperloglog.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace rd;
using namespace std::literals;

std::vector<uint8_t> registers_of(const std::string& value) {
  std::vector<uint8_t> regs(hll::kRegisters, 0);
  REQUIRE(hll::merge_into(value, regs.data()));
  return regs;
}

}  // namespace

TEST_CASE("hll: a new value is Redis's empty sparse HLL") {
  const std::string empty = hll::create();
  CHECK(empty == "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"s);
  CHECK(hll::is_valid(empty));
  CHECK(hll::cache_valid(empty));
  CHECK(hll::cached(empty) == 0);
  uint64_t card = 99;
  CHECK(hll::count(empty, &card));
  CHECK(card == 0);
  CHECK(hll::decode_sparse(empty) == "Z:16384");
}

TEST_CASE("hll: element positions and bytes match Redis") {
  size_t index = 0;
  uint8_t count = 0;
  hll::element_position("a", &index, &count);  // PFDEBUG DECODE in Redis: "Z:12711 v:2,1 Z:3672"
  CHECK(index == 12711);
  CHECK(count == 2);
  std::string h = hll::create();
  for (const char* e : {"a", "b", "c"}) CHECK(hll::add(&h, e, 3000) == 1);
  CHECK(hll::add(&h, "a", 3000) == 0);
  hll::invalidate_cache(&h);
  // GET after PFADD h a b c in Redis 7.0.
  CHECK(h == "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80" "BZ"s);
  CHECK(hll::decode_sparse(h) == "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
  uint64_t card = 0;
  CHECK(hll::count(h, &card));
  CHECK(card == 3);
  hll::set_cache(&h, card);
  CHECK(hll::cache_valid(h));
  CHECK(hll::cached(h) == 3);
}

TEST_CASE("hll: dense registers pack 6 bits each") {
  std::vector<uint8_t> block(hll::kDenseRegisterBytes, 0);
  std::mt19937 rng(1);
  std::vector<uint8_t> expected(hll::kRegisters);
  for (size_t i = 0; i < hll::kRegisters; i++) {
    expected[i] = static_cast<uint8_t>(rng() & 63);
    hll::dense_set(block.data(), i, expected[i]);
  }
  for (size_t i = 0; i < hll::kRegisters; i++) CHECK(hll::dense_get(block.data(), i) == expected[i]);
  hll::dense_set(block.data(), 0, 63);
  CHECK(block[0] == (63 | (expected[1] & 3) << 6));
}

TEST_CASE("hll: sparse and dense agree, promotion at hll-sparse-max-bytes") {
  std::string sparse = hll::create();
  std::string dense = hll::create();
  REQUIRE(hll::to_dense(&dense));
  CHECK(dense.size() == hll::kDenseSize);
  CHECK(hll::encoding(dense) == hll::kEncodingDense);
  bool promoted = false;
  for (int i = 0; i < 3000; i++) {
    const std::string e = "element:" + std::to_string(i);
    const size_t before = sparse.size();
    CHECK(hll::add(&sparse, e, 3000) == hll::add(&dense, e, 3000));
    if (hll::encoding(sparse) == hll::kEncodingDense && !promoted) {
      promoted = true;
      CHECK(before <= 3000);
    }
    if (!promoted) CHECK(sparse.size() <= 3000);
  }
  CHECK(promoted);
  CHECK(sparse == dense.substr(0, 15) + sparse.substr(15, 1) + dense.substr(16));
  uint64_t a = 0;
  uint64_t b = 0;
  CHECK(hll::count(sparse, &a));
  CHECK(hll::count(dense, &b));
  CHECK(a == b);
  CHECK(a > 2900);
  CHECK(a < 3100);
}

TEST_CASE("hll: sparse conversion keeps registers and the estimate") {
  std::string h = hll::create();
  for (int i = 0; i < 500; i++) hll::add(&h, "x" + std::to_string(i), 1u << 20);
  CHECK(hll::encoding(h) == hll::kEncodingSparse);
  const auto before = registers_of(h);
  uint64_t c1 = 0;
  CHECK(hll::count(h, &c1));
  CHECK(hll::to_dense(&h));
  CHECK(registers_of(h) == before);
  uint64_t c2 = 0;
  CHECK(hll::count(h, &c2));
  CHECK(c1 == c2);
  CHECK(hll::count_registers(before.data()) == c1);
}

TEST_CASE("hll: values above 32 promote a sparse HLL") {
  std::string h = hll::create();
  CHECK(hll::set_register(&h, 10, 32, 3000) == 1);
  CHECK(hll::encoding(h) == hll::kEncodingSparse);
  CHECK(hll::set_register(&h, 10, 32, 3000) == 0);
  CHECK(hll::set_register(&h, 11, 33, 3000) == 1);
  CHECK(hll::encoding(h) == hll::kEncodingDense);
  const auto regs = registers_of(h);
  CHECK(regs[10] == 32);
  CHECK(regs[11] == 33);
}

TEST_CASE("hll: adjacent equal values merge into one opcode") {
  std::string h = hll::create();
  for (size_t i : {100, 102, 101, 103}) hll::set_register(&h, i, 3, 3000);
  CHECK(hll::decode_sparse(h) == "Z:100 v:3,4 Z:16280");
  hll::set_register(&h, 104, 3, 3000);
  CHECK(hll::decode_sparse(h) == "Z:100 v:3,4 v:3,1 Z:16279");
  hll::set_register(&h, 0, 1, 3000);
  hll::set_register(&h, 16383, 2, 3000);
  CHECK(hll::decode_sparse(h) == "v:1,1 Z:99 v:3,4 v:3,1 Z:16278 v:2,1");
}

TEST_CASE("hll: corrupted values") {
  std::string truncated = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"s;  // 16383 registers
  CHECK(hll::is_valid(truncated));
  uint64_t card = 0;
  CHECK_FALSE(hll::count(truncated, &card));
  std::vector<uint8_t> max(hll::kRegisters, 0);
  CHECK_FALSE(hll::merge_into(truncated, max.data()));
  CHECK_FALSE(hll::to_dense(&truncated));
  std::string bad_dense = "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"s + std::string(100, '\0');
  CHECK_FALSE(hll::is_valid(bad_dense));
  CHECK_FALSE(hll::is_valid("HYLL"));
  CHECK_FALSE(hll::is_valid("HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"s));
  CHECK_FALSE(hll::is_valid("HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"s));
  // An opcode whose run passes the last register.
  std::string overflow = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe\xff"s;
  CHECK_FALSE(hll::count(overflow, &card));
}

TEST_CASE("hll: merging takes the maximum of each register") {
  std::string a = hll::create();
  std::string b = hll::create();
  hll::set_register(&a, 5, 3, 3000);
  hll::set_register(&b, 5, 7, 3000);
  hll::set_register(&b, 9, 1, 3000);
  std::vector<uint8_t> max(hll::kRegisters, 0);
  CHECK(hll::merge_into(a, max.data()));
  CHECK(hll::merge_into(b, max.data()));
  CHECK(max[5] == 7);
  CHECK(max[9] == 1);
  CHECK(hll::count_registers(max.data()) == 2);
}

TEST_CASE("hll: murmurhash64a") {
  // Seed-only hash of the empty input, and a tail of every length, against reference values.
  CHECK(hll::murmurhash64a("", 0, 0) == 0);
  const std::string text = "The quick brown fox jumps over the lazy dog";
  uint64_t previous = 0;
  for (size_t len = 0; len <= text.size(); len++) {
    uint64_t h = hll::murmurhash64a(text.data(), len, 0xadc83b19ULL);
    CHECK(h != previous);
    previous = h;
  }
}
