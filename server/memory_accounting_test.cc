// Unit tests for server/memory_accounting: operator new/delete keep allocated_bytes() exact.
#include "server/memory_accounting.h"

#include <doctest/doctest.h>

#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace rd {
namespace {

struct alignas(128) OverAligned {
  char bytes[256];
};

TEST_CASE("allocations are counted and freeing gives the bytes back") {
  const int64_t before = allocated_bytes();
  auto block = std::make_unique<char[]>(1 << 20);
  block[0] = 1;
  const int64_t during = allocated_bytes();
  CHECK(during - before >= (1 << 20));
  CHECK(during - before < (1 << 20) + 4096);
  block.reset();
  CHECK(allocated_bytes() == before);
}

TEST_CASE("every form of new and delete balances") {
  const int64_t before = allocated_bytes();
  int* one = new int(7);
  int* many = new int[100];
  auto* nothrow = new (std::nothrow) double(1.5);
  auto* aligned = new OverAligned;
  auto* aligned_array = new OverAligned[3];
  CHECK(reinterpret_cast<uintptr_t>(aligned) % alignof(OverAligned) == 0);
  CHECK(reinterpret_cast<uintptr_t>(aligned_array) % alignof(OverAligned) == 0);
  CHECK(allocated_bytes() > before);
  delete one;
  delete[] many;
  delete nothrow;
  delete aligned;
  delete[] aligned_array;
  CHECK(allocated_bytes() == before);
}

TEST_CASE("memory freed by another thread is uncounted") {
  const int64_t before = allocated_bytes();
  std::vector<std::string*> strings;
  std::thread producer([&] {
    for (int i = 0; i < 1000; i++) strings.push_back(new std::string(100, 'x'));
  });
  producer.join();
  CHECK(allocated_bytes() > before + 100 * 1000);
  for (std::string* s : strings) delete s;
  std::vector<std::string*>().swap(strings);
  CHECK(allocated_bytes() == before);
}

}  // namespace
}  // namespace rd
