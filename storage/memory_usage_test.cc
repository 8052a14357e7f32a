// Unit tests for storage/memory_usage: jemalloc size classes and MEMORY USAGE estimates, with
// expected values observed on Redis 7.0.15 (jemalloc build).
#include "storage/memory_usage.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "storage/hash.h"
#include "storage/list.h"
#include "storage/set.h"
#include "storage/zset.h"

namespace rd {
namespace {

TEST_CASE("jemalloc size classes") {
  CHECK(jemalloc_size_class(1) == 8);
  CHECK(jemalloc_size_class(8) == 8);
  CHECK(jemalloc_size_class(9) == 16);
  CHECK(jemalloc_size_class(23) == 32);  // no 24-byte class
  CHECK(jemalloc_size_class(49) == 64);
  CHECK(jemalloc_size_class(128) == 128);
  CHECK(jemalloc_size_class(129) == 160);
  CHECK(jemalloc_size_class(205) == 224);
  CHECK(jemalloc_size_class(257) == 320);
  CHECK(jemalloc_size_class(16385) == 20480);
  CHECK(sds_allocation(3) == 8);
  CHECK(sds_allocation(45) == 64);
}

TEST_CASE("listpack entry sizes") {
  CHECK(listpack_entry_size("a") == 3);
  CHECK(listpack_entry_size("1") == 2);
  CHECK(listpack_entry_size("-5000") == 4);  // 16-bit integer
  CHECK(listpack_entry_size("70000") == 5);  // 24-bit integer
  CHECK(listpack_entry_size(std::string(64, 'x')) == 66 + 1);
}

TEST_CASE("memory usage matches Redis for small values") {
  CHECK(estimate_memory_usage("foo", Value(std::string("bar")), false, 5) == 64);
  CHECK(estimate_memory_usage("n", Value(std::string("123")), false, 5) == 48);
  CHECK(estimate_memory_usage("e", Value(std::string(44, 'a')), false, 5) == 96);
  CHECK(estimate_memory_usage("e2", Value(std::string(45, 'a')), false, 5) == 112);
  CHECK(estimate_memory_usage("e3", Value(std::string(201, 'x')), true, 5) == 272);

  EncodingLimits limits;
  auto list = std::make_unique<ListValue>();
  for (const char* e : {"a", "b", "c"}) list->push_back(e);
  CHECK(estimate_memory_usage("l", Value(std::move(list)), false, 5) == 144);

  auto ints = std::make_unique<SetValue>();
  for (const char* e : {"1", "2", "3"}) ints->add(e, limits);
  CHECK(estimate_memory_usage("s", Value(std::move(ints)), false, 5) == 64);

  auto strs = std::make_unique<SetValue>();
  for (const char* e : {"a", "b", "c"}) strs->add(e, limits);
  CHECK(estimate_memory_usage("s2", Value(std::move(strs)), false, 5) == 232);

  auto hash = std::make_unique<HashValue>();
  hash->set("a", "1", limits);
  hash->set("b", "2", limits);
  CHECK(estimate_memory_usage("h", Value(std::move(hash)), false, 5) == 80);

  auto zset = std::make_unique<ZSetValue>();
  zset->add("a", 1, limits);
  zset->add("b", 2, limits);
  CHECK(estimate_memory_usage("z", Value(std::move(zset)), false, 5) == 80);
}

}  // namespace
}  // namespace rd
