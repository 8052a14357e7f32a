// Replacements of the global operator new/delete that count allocated bytes (see the header).
//
// Every form is replaced (plain, array, nothrow, sized, aligned) so that a block is always
// counted and uncounted by the same pair. Sizes come from malloc_usable_size(), for allocation
// and release alike, so the counter returns exactly to its previous value when a block is freed
// whatever size the caller passes to a sized delete.
#include "server/memory_accounting.h"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace rd {
namespace {

constexpr unsigned kShards = 16;

struct alignas(64) Shard {
  std::atomic<int64_t> bytes{0};
};

// Constant-initialized: usable by allocations made before main() and after static destructors.
Shard g_shards[kShards];
std::atomic<unsigned> g_next_shard{0};
thread_local unsigned t_shard = kShards;  // kShards: not chosen yet

inline void account(int64_t delta) {
  unsigned shard = t_shard;
  if (shard == kShards) [[unlikely]] {
    shard = g_next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
    t_shard = shard;
  }
  g_shards[shard].bytes.fetch_add(delta, std::memory_order_relaxed);
}

inline void* counted_malloc(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p != nullptr) account(static_cast<int64_t>(malloc_usable_size(p)));
  return p;
}

inline void* counted_aligned(std::size_t size, std::align_val_t align) {
  std::size_t alignment = static_cast<std::size_t>(align);
  if (alignment <= alignof(std::max_align_t)) return counted_malloc(size);
  void* p = nullptr;
  if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) return nullptr;
  account(static_cast<int64_t>(malloc_usable_size(p)));
  return p;
}

inline void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  account(-static_cast<int64_t>(malloc_usable_size(p)));
  std::free(p);
}

// operator new's contract: retry through the new-handler, else throw.
template <typename Alloc>
void* allocate_or_throw(Alloc alloc) {
  while (true) {
    void* p = alloc();
    if (p != nullptr) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

template <typename Alloc>
void* allocate_or_null(Alloc alloc) noexcept {
  try {
    return allocate_or_throw(alloc);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

int64_t allocated_bytes() {
  int64_t total = 0;
  for (const Shard& shard : g_shards) total += shard.bytes.load(std::memory_order_relaxed);
  return total < 0 ? 0 : total;
}

}  // namespace rd

using rd::allocate_or_null;
using rd::allocate_or_throw;
using rd::counted_aligned;
using rd::counted_free;
using rd::counted_malloc;

void* operator new(std::size_t size) {
  return allocate_or_throw([size] { return counted_malloc(size); });
}
void* operator new[](std::size_t size) {
  return allocate_or_throw([size] { return counted_malloc(size); });
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_or_null([size] { return counted_malloc(size); });
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_or_null([size] { return counted_malloc(size); });
}
void* operator new(std::size_t size, std::align_val_t align) {
  return allocate_or_throw([size, align] { return counted_aligned(size, align); });
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return allocate_or_throw([size, align] { return counted_aligned(size, align); });
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return allocate_or_null([size, align] { return counted_aligned(size, align); });
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return allocate_or_null([size, align] { return counted_aligned(size, align); });
}

void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
